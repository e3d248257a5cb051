/* curl.c - hooks on the libcurl API, for programs whose TLS the OpenSSL
 * hooks cannot see (libcurl on GnuTLS, libcurl-gnutls.so.4).
 *
 * Host threads.  Which layer captures a process's libcurl transfers is
 * decided at its first transfer.  A libcurl on OpenSSL (Debian's
 * libcurl.so.4, curl's tool) calls SSL_read and SSL_write, and send and
 * recv for plain HTTP, through the hooks below it: those capture its
 * exchanges as they capture any program's, HTTP/2 included, and this
 * layer leaves its handles alone.  Only for a libcurl whose bytes those
 * hooks cannot see (another TLS library, OpenSSL not loaded as libssl, a
 * libcurl that can speak HTTP/3), or with AGENTTRACE_LIBCURL=layer, does
 * this layer capture: at the start of each transfer (curl_easy_perform,
 * curl_multi_add_handle) the handle gets our debug callback, which
 * libcurl calls with the request as sent (HEADER_OUT, DATA_OUT) and the
 * response as received (HEADER_IN, DATA_IN: raw, chunked framing and
 * compression included), whatever the TLS library.  Those bytes are
 * pushed to the ring like a connection's, so the sink decodes them as it
 * decodes any HTTP/1.1 stream; HTTP/2's "HTTP/2" version tokens are
 * rewritten to HTTP/1.1 and the connection is marked as HTTP/2.  The
 * application's own debug callback and verbosity are kept and called as
 * before.  While libcurl runs such a transfer on this thread, the OpenSSL
 * and socket hooks capture nothing, so an exchange is reported once.
 */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "hooks/hooks.h"
#include "preload/layout.h"
#include "preload/real.h"
#include "preload/clock.h"
#include "preload/config.h"
#include "preload/log.h"
#include "preload/shim.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AT_EXPORT __attribute__((visibility("default")))
#define CURL_KEY(h) ((uintptr_t)2 << 62 | (uintptr_t)(h))



/* What the application set on a handle, per connection-table slot of the
 * handle (the table's key for a handle is CURL_KEY(handle)). */
typedef struct app_opts {
    _Atomic(void *) handle;
    long verbose;
    curl_debug_callback debug;
    int active;        /* a transfer is being captured */
    int opened;        /* its OPEN record was pushed */
    int in_head;       /* inside a response head (status line seen) */
    uint64_t t_begin;  /* when the application started the transfer */
} app_opts;

AT_LARGE_BSS static app_opts apps[AT_CONN_SLOTS];

typedef CURLcode (*setopt_fn)(CURL *, CURLoption, ...);
typedef CURLcode (*getinfo_fn)(CURL *, CURLINFO, ...);

static void *real(const char *name, const void *self)
{
    return at_real_lookup("libcurl", name, self);
}

#define REAL(type, name)                                          \
    static type real_ptr_##name;                                  \
    static type real_##name(void)                                 \
    {                                                             \
        if (real_ptr_##name == NULL)                              \
            real_ptr_##name = (type)real(#name, (const void *)name); \
        return real_ptr_##name;                                   \
    }

REAL(setopt_fn, curl_easy_setopt)
static getinfo_fn real_curl_easy_getinfo(void)
{
    static getinfo_fn f;

    /* not hooked: no symbol of ours to refuse, and none to reference */
    if (f == NULL)
        f = (getinfo_fn)real("curl_easy_getinfo", NULL);
    return f;
}

/* ---- which layer -------------------------------------------------------- */

/* 0 undecided, LAYER_HERE: transfers captured here, LAYER_BELOW: by the
 * OpenSSL and socket hooks */
enum { LAYER_HERE = 1, LAYER_BELOW = 2 };
static atomic_int layer;

/* Decide once which layer captures this process's libcurl transfers.  Two
 * threads deciding at once reach the same answer.  The host's errno is
 * kept. */
static __attribute__((cold, noinline)) int decide_layer(void)
{
    curl_version_info_data *(*version)(CURLversion);
    const curl_version_info_data *d = NULL;
    const char *tls = NULL, *why = NULL;
    int l = LAYER_HERE, err = errno, in_hook = at_in_hook;

    at_in_hook = 1;
    *(void **)&version = real("curl_version_info", NULL);
    if (version)
        d = version(CURLVERSION_NOW);
    tls = d ? d->ssl_version : NULL;
    if (at_cfg.libcurl_layer)
        why = "AGENTTRACE_LIBCURL=layer";
    else if (tls == NULL)
        why = "its TLS library is unknown";
    else if (strncmp(tls, "OpenSSL/", 8) != 0)
        why = "its TLS library is not OpenSSL";
    else if (d->features & CURL_VERSION_HTTP3)
        why = "it can speak HTTP/3 (QUIC), which the OpenSSL hooks do not "
              "see";
    else if (at_real_lookup("libssl.so", "SSL_write", NULL) == NULL ||
             at_real_lookup("libssl.so", "SSL_read", NULL) == NULL)
        /* looked up, not resolved for the hooks: at_real_ssl would keep
         * the NULLs for a libssl loaded later */
        why = "OpenSSL is not loaded as libssl";
    else
        l = LAYER_BELOW;
    if (l == LAYER_BELOW)
        at_log("libcurl (%s): its transfers are captured by the OpenSSL "
               "and socket hooks", tls);
    else
        at_log("libcurl (%s): its transfers are captured at the libcurl "
               "layer: %s", tls ? tls : "TLS library unknown", why);
    atomic_store_explicit(&layer, l, memory_order_relaxed);
    at_in_hook = in_hook;
    errno = err;
    return l;
}

/* Whether this layer captures libcurl's transfers. */
static inline int here(void)
{
    int l = atomic_load_explicit(&layer, memory_order_relaxed);

    if (__builtin_expect(l == 0, 0))
        l = decide_layer();
    return l == LAYER_HERE;
}

/* ---- capture ------------------------------------------------------------ */

static int capturing(void)
{
    return atomic_load_explicit(&at_state, memory_order_relaxed) >= AT_IDLE;
}

/* The handle's slot, claimed when `claim`; -1 when none. */
static int handle_slot(CURL *h, int claim)
{
    int is_new, i;

    if (!claim)
        return at_conn_find(CURL_KEY(h));
    i = at_conn_claim(CURL_KEY(h), &is_new);
    if (i >= 0 && is_new) {
        memset(&apps[i], 0, sizeof(apps[i]));
        apps[i].handle = h;
    }
    return i;
}

static void open_conn(CURL *h, int i, int h2)
{
    at_open_info info;
    char *url = NULL, *ip = NULL;
    long port = 0;

    memset(&info, 0, sizeof(info));
    if (real_curl_easy_getinfo()) {
        real_curl_easy_getinfo()(h, CURLINFO_EFFECTIVE_URL, &url);
        real_curl_easy_getinfo()(h, CURLINFO_PRIMARY_IP, &ip);
        real_curl_easy_getinfo()(h, CURLINFO_PRIMARY_PORT, &port);
    }
    info.tls = url && !strncasecmp(url, "https:", 6);
    info.port = (uint16_t)port;
    if (ip)
        snprintf(info.addr, sizeof(info.addr), "%s", ip);
    if (h2) {
        memcpy(info.alpn, "h2", 2);
        info.alpn_len = 2;
    }
    /* The call began when the application started the transfer: name
     * resolution, connection and TLS set-up are part of its latency. */
    at_capture_open(i, AT_TRANSPORT_LIBCURL, &info, apps[i].t_begin);
    apps[i].opened = 1;
}

/* Push `n` bytes, with an "HTTP/2" or "HTTP/3" version token at `vpos`
 * (or none: vpos < 0) replaced by "HTTP/1.1". */
static void push(int i, int dir, const char *p, size_t n, long vpos)
{
    if (vpos >= 0 && (size_t)vpos + 6 <= n) {
        at_capture_data(i, dir, AT_TRANSPORT_LIBCURL, p, (size_t)vpos);
        at_capture_data(i, dir, AT_TRANSPORT_LIBCURL, "HTTP/1.1", 8);
        at_capture_data(i, dir, AT_TRANSPORT_LIBCURL, p + vpos + 6,
                        n - (size_t)vpos - 6);
    } else {
        at_capture_data(i, dir, AT_TRANSPORT_LIBCURL, p, n);
    }
}

/* Where "HTTP/2" or "HTTP/3" stands in the first line, or -1. */
static long version_pos(const char *p, size_t n, int request)
{
    const char *eol = memchr(p, '\n', n), *v;
    size_t len = eol ? (size_t)(eol - p) : n;

    if (request) {  /* METHOD SP target SP HTTP/2 */
        for (v = p + len; v > p && (v[-1] == '\r' || v[-1] == '\n'); v--)
            ;
        if (v - p >= 7 && (!memcmp(v - 6, "HTTP/2", 6) ||
                           !memcmp(v - 6, "HTTP/3", 6)) && v[-7] == ' ')
            return (long)(v - 6 - p);
        return -1;
    }
    if (len >= 7 && (!memcmp(p, "HTTP/2 ", 7) || !memcmp(p, "HTTP/3 ", 7)))
        return 0;
    return -1;
}

/* libcurl's default verbose output, for applications that asked for
 * verbosity without a debug callback of their own. */
static void default_verbose(curl_infotype t, const char *p, size_t n)
{
    static const char pre[] = "*<>";
    /* libc's `stderr`, looked up the first time: a reference to it in the
     * code would be resolved when the library loads, in every process */
    static FILE **err_var;
    FILE **v = __atomic_load_n(&err_var, __ATOMIC_ACQUIRE), *err;

    if (t > CURLINFO_HEADER_OUT)
        return;
    if (v == NULL) {
        v = (FILE **)dlsym(RTLD_DEFAULT, "stderr");
        if (v == NULL)
            return;
        __atomic_store_n(&err_var, v, __ATOMIC_RELEASE);
    }
    err = *v;
    if (err == NULL)
        return;
    fprintf(err, "%c %.*s", pre[t], (int)n, p);
    if (t == CURLINFO_TEXT && (n == 0 || p[n - 1] != '\n'))
        fputc('\n', err);
}

static int debug_cb(CURL *h, curl_infotype t, char *p, size_t n, void *ud)
{
    int err = errno, i = handle_slot(h, 0);
    app_opts *a = i >= 0 ? &apps[i] : NULL;

    if (a && a->active && !at_in_hook) {
        at_in_hook = 1;
        switch (t) {
        case CURLINFO_HEADER_OUT: {
            long v = version_pos(p, n, 1);

            if (!a->opened)
                open_conn(h, i, v >= 0);
            push(i, 0, p, n, v);
            break;
        }
        case CURLINFO_DATA_OUT:
            if (a->opened)
                push(i, 0, p, n, -1);
            break;
        case CURLINFO_HEADER_IN:
            if (!a->opened)
                break;
            if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
                /* libcurl does not pass on the empty line that ends an
                 * interim head (100 Continue): end it here */
                if (a->in_head)
                    push(i, 1, "\r\n", 2, -1);
                a->in_head = 1;
            } else if ((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
                a->in_head = 0;
            }
            push(i, 1, p, n, version_pos(p, n, 0));
            break;
        case CURLINFO_DATA_IN:
            if (a->opened)
                push(i, 1, p, n, -1);
            break;
        default:
            break;
        }
        at_in_hook = 0;
    }
    errno = err;
    if (a && a->verbose) {
        if (a->debug)
            return a->debug(h, t, p, n, ud);
        default_verbose(t, p, n);
    }
    return 0;
}

/* A transfer starts on `h`: take over its debug output. */
static void begin(CURL *h)
{
    int i;

    /* the hooks call this only when here() */
    if (!capturing() || at_in_hook || real_curl_easy_setopt() == NULL ||
        !at_shim_activate())
        return;
    at_in_hook = 1;
    i = handle_slot(h, 1);
    if (i >= 0 && !apps[i].active) {
        apps[i].active = 1;
        apps[i].opened = 0;
        apps[i].in_head = 0;
        apps[i].t_begin = at_mono_ns();
        real_curl_easy_setopt()(h, CURLOPT_DEBUGFUNCTION, debug_cb);
        real_curl_easy_setopt()(h, CURLOPT_VERBOSE, 1L);
    }
    at_in_hook = 0;
}

static uint64_t curl_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return ETIMEDOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return ECONNRESET;
    default:
        return EIO;
    }
}

/* The transfer on `h` ended with `rc`: close its capture, give the
 * application its debug settings back. */
static void end(CURL *h, CURLcode rc)
{
    int i = handle_slot(h, 0), err = errno;
    app_opts *a;

    if (i < 0)
        return;
    a = &apps[i];
    if (!a->active)
        return;
    at_in_hook = 1;
    if (a->opened) {
        if (rc != CURLE_OK)
            at_capture_event(i, AT_REC_ERR, AT_TRANSPORT_LIBCURL,
                             curl_errno(rc));
        else
            at_capture_event(i, AT_REC_EOF, AT_TRANSPORT_LIBCURL, 0);
        at_capture_event(i, AT_REC_CLOSE, AT_TRANSPORT_LIBCURL, 0);
    }
    a->active = 0;
    if (real_curl_easy_setopt()) {
        real_curl_easy_setopt()(h, CURLOPT_DEBUGFUNCTION, a->debug);
        real_curl_easy_setopt()(h, CURLOPT_VERBOSE, a->verbose);
    }
    at_conn_release(i);
    at_in_hook = 0;
    errno = err;
}

/* `h` is cleaned up: free the slot its settings kept, if any (a handle
 * whose verbosity was set but that never ran a transfer has one). */
static void forget(CURL *h)
{
    int i = handle_slot(h, 0);

    if (i >= 0 && !apps[i].active)
        at_conn_release(i);
}

/* Whether the application ever asked libcurl for verbosity, on any handle,
 * captured or not. */
static atomic_int app_verbose_seen;

int at_curl_trace_unwanted(const void *caller)
{
    Dl_info c, lib;
    setopt_fn f;

    if (at_in_curl <= 0 ||
        atomic_load_explicit(&app_verbose_seen, memory_order_relaxed) ||
        (f = real_curl_easy_setopt()) == NULL)
        return 0;
    return dladdr(caller, &c) != 0 && dladdr(*(void **)&f, &lib) != 0 &&
           c.dli_fbase == lib.dli_fbase;
}

/* ---- the hooks ---------------------------------------------------------- */

/* setopt: the hook of curl_easy_setopt, `arg` the option's value.  Every
 * option's value is a long, a pointer or a curl_off_t: one 64-bit
 * integer-class argument, passed on as it came.  An application sets
 * dozens of options a transfer (curl's own tool some seventy). */
static __attribute__((noinline)) CURLcode setopt(CURL *h, CURLoption opt,
                                                 void *arg)
{
    setopt_fn f = real_curl_easy_setopt();
    int i;

    if (f == NULL)
        return CURLE_FAILED_INIT;
    if (__builtin_expect(opt == CURLOPT_VERBOSE ||
                             opt == CURLOPT_DEBUGFUNCTION, 0)) {
        if (opt == CURLOPT_VERBOSE && arg != NULL && !at_in_hook)
            atomic_store_explicit(&app_verbose_seen, 1,
                                  memory_order_relaxed);
        if (capturing() && !at_in_hook && here()) {
            at_in_hook = 1;
            i = handle_slot(h, 1);
            at_in_hook = 0;
            if (i >= 0) {
                if (opt == CURLOPT_VERBOSE)
                    apps[i].verbose = (long)(intptr_t)arg;
                else
                    memcpy(&apps[i].debug, &arg, sizeof(arg));
                if (apps[i].active)
                    return CURLE_OK; /* ours stays until the transfer ends */
            }
        }
    }
    return f(h, opt, arg);
}

#if defined(__x86_64__) || defined(__aarch64__)
/* On these ABIs (System V x86-64, AAPCS64 on Linux) a variadic call passes
 * its third argument where a plain one goes: the hook is defined as a plain
 * function of three arguments under curl_easy_setopt's name, so that it
 * does not spill every argument register for a va_list on each call. */
AT_EXPORT CURLcode at_curl_easy_setopt(CURL *h, CURLoption opt, void *arg)
    __asm__("curl_easy_setopt");
AT_EXPORT CURLcode at_curl_easy_setopt(CURL *h, CURLoption opt, void *arg)
{
    setopt_fn f = real_ptr_curl_easy_setopt;

    /* nearly every call: a jump to libcurl's */
    if (__builtin_expect(f != NULL && opt != CURLOPT_VERBOSE &&
                             opt != CURLOPT_DEBUGFUNCTION, 1))
        return f(h, opt, arg);
    return setopt(h, opt, arg);
}
#else
AT_EXPORT CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, opt);
    arg = va_arg(ap, void *);
    va_end(ap);
    return setopt(h, opt, arg);
}
#endif

AT_EXPORT CURLcode curl_easy_perform(CURL *h)
{
    static CURLcode (*f)(CURL *);
    CURLcode rc;

    if (f == NULL)
        *(void **)&f = real("curl_easy_perform",
                            (const void *)curl_easy_perform);
    if (f == NULL)
        return CURLE_FAILED_INIT;
    if (!here())
        return f(h);
    begin(h);
    at_in_curl++;
    rc = f(h);
    at_in_curl--;
    end(h, rc);
    return rc;
}

AT_EXPORT void curl_easy_cleanup(CURL *h)
{
    static void (*f)(CURL *);

    if (f == NULL)
        *(void **)&f = real("curl_easy_cleanup",
                            (const void *)curl_easy_cleanup);
    end(h, CURLE_OK);
    forget(h);
    if (f)
        f(h);
}

AT_EXPORT CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
    static CURLMcode (*f)(CURLM *, CURL *);
    CURLMcode rc;

    if (f == NULL)
        *(void **)&f = real("curl_multi_add_handle",
                            (const void *)curl_multi_add_handle);
    if (f == NULL)
        return CURLM_INTERNAL_ERROR;
    if (!here())
        return f(m, h);
    begin(h);
    rc = f(m, h);
    if (rc != CURLM_OK)
        end(h, CURLE_OK);
    return rc;
}

AT_EXPORT CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
    static CURLMcode (*f)(CURLM *, CURL *);

    if (f == NULL)
        *(void **)&f = real("curl_multi_remove_handle",
                            (const void *)curl_multi_remove_handle);
    if (f == NULL)
        return CURLM_INTERNAL_ERROR;
    end(h, CURLE_OK);   /* no-op when curl_multi_info_read ended it */
    return f(m, h);
}

AT_EXPORT CURLMcode curl_multi_perform(CURLM *m, int *running)
{
    static CURLMcode (*f)(CURLM *, int *);
    CURLMcode rc;

    if (f == NULL)
        *(void **)&f = real("curl_multi_perform",
                            (const void *)curl_multi_perform);
    if (f == NULL)
        return CURLM_INTERNAL_ERROR;
    if (!here())
        return f(m, running);
    at_in_curl++;
    rc = f(m, running);
    at_in_curl--;
    return rc;
}

AT_EXPORT CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s,
                                             int ev, int *running)
{
    static CURLMcode (*f)(CURLM *, curl_socket_t, int, int *);
    CURLMcode rc;

    if (f == NULL)
        *(void **)&f = real("curl_multi_socket_action",
                            (const void *)curl_multi_socket_action);
    if (f == NULL)
        return CURLM_INTERNAL_ERROR;
    if (!here())
        return f(m, s, ev, running);
    at_in_curl++;
    rc = f(m, s, ev, running);
    at_in_curl--;
    return rc;
}

AT_EXPORT CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
    static CURLMsg *(*f)(CURLM *, int *);
    CURLMsg *msg;

    if (f == NULL)
        *(void **)&f = real("curl_multi_info_read",
                            (const void *)curl_multi_info_read);
    if (f == NULL)
        return NULL;
    msg = f(m, left);
    if (msg && msg->msg == CURLMSG_DONE)
        end(msg->easy_handle, msg->data.result);
    return msg;
}
