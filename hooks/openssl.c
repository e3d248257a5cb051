/* openssl.c - hooks on OpenSSL's plaintext read and write calls.
 *
 * Host threads.  Each hook: pass through when capture is off or we are
 * already inside a hook; else call the real function, keep its errno, copy
 * what was read or written into the ring, restore errno and return the real
 * result unchanged.  SSL_peek and SSL_peek_ex copy nothing: the bytes they
 * show are returned again by the SSL_read that follows, and are captured
 * there, once.  The calls that end a connection release its table slot
 * before the real call, so an SSL pointer reused after SSL_free starts a
 * new connection.
 */
#include "hooks/hooks.h"
#include "preload/log.h"
#include "preload/real.h"
#include "preload/shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define AT_EXPORT __attribute__((visibility("default")))

/* OpenSSL's values, kept here so this file needs no OpenSSL headers. */
#define X_SSL_ERROR_SSL 1
#define X_SSL_ERROR_SYSCALL 5
#define X_SSL_ERROR_ZERO_RETURN 6
#define X_TLSEXT_NAMETYPE_host_name 0

static void describe(const at_ssl_fns *f, SSL *ssl, at_open_info *info)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    const char *sni;
    int fd;

    memset(info, 0, sizeof(*info));
    if (f->SSL_get_servername) {
        sni = f->SSL_get_servername(ssl, X_TLSEXT_NAMETYPE_host_name);
        if (sni)
            strncpy(info->sni, sni, sizeof(info->sni) - 1);
    }
    if (f->SSL_get0_alpn_selected) {
        const unsigned char *p = NULL;
        unsigned int n = 0;

        f->SSL_get0_alpn_selected(ssl, &p, &n);
        if (p && n && n <= sizeof(info->alpn)) {
            memcpy(info->alpn, p, n);
            info->alpn_len = (uint8_t)n;
        }
    }
    /* Memory BIOs (asyncio) have no fd: the Host header gives the port. */
    fd = f->SSL_get_fd ? f->SSL_get_fd(ssl) : -1;
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;

            info->family = AF_INET;
            info->port = ntohs(a->sin_port);
            inet_ntop(AF_INET, &a->sin_addr, info->addr, sizeof(info->addr));
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

            info->family = AF_INET6;
            info->port = ntohs(a->sin6_port);
            inet_ntop(AF_INET6, &a->sin6_addr, info->addr,
                      sizeof(info->addr));
        }
    }
}

/* The slot of `ssl`, claiming one (and announcing the connection) on first
 * sight; -1 when it cannot be captured. */
static int slot_of(const at_ssl_fns *f, SSL *ssl)
{
    int is_new, i;
    at_open_info info;

    if (!at_shim_activate())
        return -1;
    i = at_conn_claim((uintptr_t)ssl, &is_new);
    if (i >= 0 && is_new) {
        describe(f, ssl, &info);
        info.tls = 1;
        at_capture_open(i, AT_TRANSPORT_OPENSSL, &info, 0);
    }
    return i;
}

static void data(const at_ssl_fns *f, SSL *ssl, int dir, const void *buf,
                 size_t n)
{
    int i = slot_of(f, ssl);

    if (i >= 0)
        at_capture_data(i, dir, AT_TRANSPORT_OPENSSL, buf, n);
}

/* A read that returned ret <= 0: the end of the stream, or a failure. */
static void read_failed(const at_ssl_fns *f, SSL *ssl, int ret, int err)
{
    int i, e;

    if (f->SSL_get_error == NULL || (i = at_conn_find((uintptr_t)ssl)) < 0)
        return;
    e = f->SSL_get_error(ssl, ret);
    if (e == X_SSL_ERROR_ZERO_RETURN || e == X_SSL_ERROR_SSL ||
        (e == X_SSL_ERROR_SYSCALL && err == 0))
        at_capture_event(i, AT_REC_EOF, AT_TRANSPORT_OPENSSL, 0);
    else if (e == X_SSL_ERROR_SYSCALL)
        at_capture_event(i, AT_REC_ERR, AT_TRANSPORT_OPENSSL,
                         (uint64_t)err);
}

static void ended(SSL *ssl)
{
    int i = at_conn_find((uintptr_t)ssl);

    if (i >= 0) {
        at_capture_event(i, AT_REC_CLOSE, AT_TRANSPORT_OPENSSL, 0);
        at_conn_release(i);
    }
}

#define CAPTURING()                                                      \
    (!at_in_hook && !at_in_curl &&                                       \
     atomic_load_explicit(&at_state, memory_order_relaxed) >= AT_IDLE)

AT_EXPORT int SSL_write(SSL *ssl, const void *buf, int num)
{
    const at_ssl_fns *f = at_real_ssl();
    int ret, err;

    if (f->SSL_write == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (!CAPTURING())
        return f->SSL_write(ssl, buf, num);
    at_in_hook = 1;
    ret = f->SSL_write(ssl, buf, num);
    err = errno;
    if (ret > 0)
        data(f, ssl, 0, buf, (size_t)ret);
    at_in_hook = 0;
    errno = err;
    return ret;
}

AT_EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num,
                           size_t *written)
{
    const at_ssl_fns *f = at_real_ssl();
    int ret, err;

    if (f->SSL_write_ex == NULL) {
        errno = ENOSYS;
        return 0;
    }
    if (!CAPTURING())
        return f->SSL_write_ex(ssl, buf, num, written);
    at_in_hook = 1;
    ret = f->SSL_write_ex(ssl, buf, num, written);
    err = errno;
    if (ret == 1 && written && *written > 0)
        data(f, ssl, 0, buf, *written);
    at_in_hook = 0;
    errno = err;
    return ret;
}

AT_EXPORT int SSL_read(SSL *ssl, void *buf, int num)
{
    const at_ssl_fns *f = at_real_ssl();
    int ret, err;

    if (f->SSL_read == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (!CAPTURING())
        return f->SSL_read(ssl, buf, num);
    at_in_hook = 1;
    ret = f->SSL_read(ssl, buf, num);
    err = errno;
    if (ret > 0)
        data(f, ssl, 1, buf, (size_t)ret);
    else
        read_failed(f, ssl, ret, err);
    at_in_hook = 0;
    errno = err;
    return ret;
}

AT_EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *nread)
{
    const at_ssl_fns *f = at_real_ssl();
    int ret, err;

    if (f->SSL_read_ex == NULL) {
        errno = ENOSYS;
        return 0;
    }
    if (!CAPTURING())
        return f->SSL_read_ex(ssl, buf, num, nread);
    at_in_hook = 1;
    ret = f->SSL_read_ex(ssl, buf, num, nread);
    err = errno;
    if (ret == 1 && nread && *nread > 0)
        data(f, ssl, 1, buf, *nread);
    else if (ret != 1)
        read_failed(f, ssl, ret, err);
    at_in_hook = 0;
    errno = err;
    return ret;
}

AT_EXPORT int SSL_peek(SSL *ssl, void *buf, int num)
{
    const at_ssl_fns *f = at_real_ssl();

    if (f->SSL_peek == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return f->SSL_peek(ssl, buf, num);
}

AT_EXPORT int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *nread)
{
    const at_ssl_fns *f = at_real_ssl();

    if (f->SSL_peek_ex == NULL) {
        errno = ENOSYS;
        return 0;
    }
    return f->SSL_peek_ex(ssl, buf, num, nread);
}

AT_EXPORT int SSL_shutdown(SSL *ssl)
{
    const at_ssl_fns *f = at_real_ssl();

    if (f->SSL_shutdown == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (CAPTURING()) {
        int err = errno;

        at_in_hook = 1;
        ended(ssl);
        at_in_hook = 0;
        errno = err;
    }
    return f->SSL_shutdown(ssl);
}

AT_EXPORT int SSL_clear(SSL *ssl)
{
    const at_ssl_fns *f = at_real_ssl();

    if (f->SSL_clear == NULL) {
        errno = ENOSYS;
        return 0;
    }
    if (CAPTURING()) {
        int err = errno;

        at_in_hook = 1;
        ended(ssl);
        at_in_hook = 0;
        errno = err;
    }
    return f->SSL_clear(ssl);
}

AT_EXPORT void SSL_free(SSL *ssl)
{
    const at_ssl_fns *f = at_real_ssl();

    if (f->SSL_free == NULL)
        return;
    if (ssl && CAPTURING()) {
        int err = errno;

        at_in_hook = 1;
        ended(ssl);
        at_in_hook = 0;
        errno = err;
    }
    f->SSL_free(ssl);
}

/* libcurl installs a TLS message trace (a line formatted and two debug
 * callbacks for every TLS record) on the connections of verbose handles;
 * the curl hooks make every handle they capture verbose, to be given its
 * data.  A trace the application did not ask for is left out: libcurl
 * would not have installed it without us.  Anyone else's, and libcurl's
 * for an application that ever asked for verbosity, goes through. */
AT_EXPORT void SSL_CTX_set_msg_callback(SSL_CTX *ctx, at_ssl_msg_cb cb)
{
    static void (*f)(SSL_CTX *, at_ssl_msg_cb);

    if (f == NULL)
        *(void **)&f = at_real_lookup(
            "libssl", "SSL_CTX_set_msg_callback",
            (const void *)SSL_CTX_set_msg_callback);
    if (f == NULL)
        return;
    if (cb != NULL && !at_in_hook &&
        at_curl_trace_unwanted(__builtin_return_address(0))) {
        static atomic_int told;

        if (!atomic_exchange(&told, 1))
            at_log("libcurl's TLS message traces left out: its handles "
                   "are verbose only for the capture");
        return;
    }
    f(ctx, cb);
}
