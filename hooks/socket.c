/* socket.c - hooks on libc's socket data calls, for plain-HTTP traffic
 * (local model servers, agents whose TLS is linked statically).
 *
 * Host threads.  Every read and write of the process passes here, so the
 * fast path is one byte load: at_fd_state[fd] is 0 for anything that is not
 * a TCP connection this process opened with connect() (files, pipes, ttys,
 * accepted sockets), and the real function is called straight away.  A
 * tracked connection's bytes go to the ring like OpenSSL's; when OpenSSL
 * itself reads or writes the socket inside a hooked SSL_* call, the
 * reentrancy guard passes those bytes through, and ciphertext seen outside
 * such a call (the handshake, memory BIOs) is recognised by the sink as TLS
 * and the connection ignored, so ciphertext is never taken for plaintext
 * and no byte is captured twice.
 */
#include "hooks/hooks.h"
#include "preload/layout.h"
#include "preload/shim.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define AT_EXPORT __attribute__((visibility("default")))
#define AT_FD_MAX 65536
#define FD_KEY(fd) ((uintptr_t)1 << 62 | (uintptr_t)(unsigned)(fd))

enum { FD_NONE = 0, FD_TRACKED, FD_IGNORED };

/* One byte per descriptor: is it a connection we capture? */
AT_LARGE_BSS static _Atomic unsigned char at_fd_state[AT_FD_MAX];

/* ---- the real functions ------------------------------------------------- */

#define REAL(ret, name, params)                                             \
    static ret(*real_##name) params;                                        \
    static ret(*get_##name(void)) params                                    \
    {                                                                       \
        if (__builtin_expect(real_##name == NULL, 0))                       \
            *(void **)&real_##name = dlsym(RTLD_NEXT, #name);               \
        return real_##name;                                                 \
    }

REAL(ssize_t, read, (int, void *, size_t))
REAL(ssize_t, write, (int, const void *, size_t))
REAL(ssize_t, readv, (int, const struct iovec *, int))
REAL(ssize_t, writev, (int, const struct iovec *, int))
REAL(ssize_t, send, (int, const void *, size_t, int))
REAL(ssize_t, recv, (int, void *, size_t, int))
REAL(ssize_t, sendto, (int, const void *, size_t, int,
                       const struct sockaddr *, socklen_t))
REAL(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *,
                         socklen_t *))
REAL(ssize_t, sendmsg, (int, const struct msghdr *, int))
REAL(ssize_t, recvmsg, (int, struct msghdr *, int))
REAL(int, close, (int))
REAL(int, connect, (int, const struct sockaddr *, socklen_t))
REAL(ssize_t, __read_chk, (int, void *, size_t, size_t))
REAL(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))
REAL(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int,
                               struct sockaddr *, socklen_t *))

/* tracked: whether a call on `fd` is to be captured here: a tracked
 * descriptor, not inside the shim itself nor inside libcurl (whose layer
 * captures the bytes above TLS).  Checked before errno is read and data()
 * called: a TLS connection's reads come here once per record. */
static inline int tracked(int fd)
{
    return (unsigned)fd < AT_FD_MAX &&
           atomic_load_explicit(&at_fd_state[fd], memory_order_relaxed) ==
               FD_TRACKED &&
           !at_in_hook && !at_in_curl;
}

/* ---- capture ------------------------------------------------------------ */

/* The slot of tracked `fd`, or -1 (and the fd is forgotten) when the sink
 * asked to ignore it or the slot is gone. */
static int slot_of(int fd)
{
    int i = at_conn_find(FD_KEY(fd));

    if (i < 0) {
        atomic_store_explicit(&at_fd_state[fd], FD_NONE,
                              memory_order_relaxed);
        return -1;
    }
    if (atomic_load_explicit(&at_conn_table[i].advice_id,
                             memory_order_acquire) ==
            atomic_load_explicit(&at_conn_table[i].id, memory_order_relaxed) &&
        atomic_load_explicit(&at_conn_table[i].skip_in_until,
                             memory_order_relaxed) == AT_CONN_IGNORE) {
        /* ignored for good: from now on this fd takes the fast path */
        atomic_store_explicit(&at_fd_state[fd], FD_IGNORED,
                              memory_order_relaxed);
        return -1;
    }
    return i;
}

static void data(int fd, int dir, const void *buf, ssize_t n, int err)
{
    int i;

    /* the hooks call this only when tracked() said so (not inside the shim
     * or libcurl) */
    if (atomic_load_explicit(&at_state, memory_order_relaxed) != AT_RUNNING)
        return;
    at_in_hook = 1;
    if ((i = slot_of(fd)) >= 0) {
        if (n > 0)
            at_capture_data(i, dir, AT_TRANSPORT_SOCKET, buf, (size_t)n);
        else if (dir == 1 && n == 0)
            at_capture_event(i, AT_REC_EOF, AT_TRANSPORT_SOCKET, 0);
        else if (dir == 1 && err != EAGAIN && err != EWOULDBLOCK &&
                 err != EINTR)
            at_capture_event(i, AT_REC_ERR, AT_TRANSPORT_SOCKET,
                             (uint64_t)err);
    }
    at_in_hook = 0;
    errno = err;
}

static void data_iov(int fd, int dir, const struct iovec *iov, int cnt,
                     ssize_t n, int err)
{
    int k;

    if (n <= 0) {
        data(fd, dir, NULL, n, err);
        return;
    }
    for (k = 0; k < cnt && n > 0; k++) {
        size_t len = iov[k].iov_len < (size_t)n ? iov[k].iov_len : (size_t)n;

        data(fd, dir, iov[k].iov_base, (ssize_t)len, err);
        n -= (ssize_t)len;
    }
    errno = err;
}

static void forget(int fd)
{
    int i, err = errno;

    at_in_hook = 1;
    i = at_conn_find(FD_KEY(fd));
    if (i >= 0) {
        at_capture_event(i, AT_REC_CLOSE, AT_TRANSPORT_SOCKET, 0);
        at_conn_release(i);
    }
    atomic_store_explicit(&at_fd_state[fd], FD_NONE, memory_order_relaxed);
    at_in_hook = 0;
    errno = err;
}

static void track(int fd, const struct sockaddr *sa)
{
    int err = errno, type = 0, is_new, i;
    socklen_t tl = sizeof(type);
    at_open_info info;

    if ((unsigned)fd >= AT_FD_MAX ||
        (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
        type != SOCK_STREAM) {
        errno = err;
        return;
    }
    at_in_hook = 1;
    if (at_conn_find(FD_KEY(fd)) >= 0)
        forget(fd);   /* closed behind our back (close_range, dup2) */
    at_in_hook = 1;
    if (at_shim_activate() && (i = at_conn_claim(FD_KEY(fd), &is_new)) >= 0) {
        memset(&info, 0, sizeof(info));
        info.family = (uint8_t)sa->sa_family;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

            info.port = ntohs(a->sin_port);
            inet_ntop(AF_INET, &a->sin_addr, info.addr, sizeof(info.addr));
        } else {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

            info.port = ntohs(a->sin6_port);
            inet_ntop(AF_INET6, &a->sin6_addr, info.addr,
                      sizeof(info.addr));
        }
        at_capture_open(i, AT_TRANSPORT_SOCKET, &info, 0);
        atomic_store_explicit(&at_fd_state[fd], FD_TRACKED,
                              memory_order_relaxed);
    }
    at_in_hook = 0;
    errno = err;
}

/* ---- the hooks ---------------------------------------------------------- */

AT_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    int r = get_connect()(fd, sa, len);

    if ((r == 0 || errno == EINPROGRESS) && sa && !at_in_hook &&
        atomic_load_explicit(&at_state, memory_order_relaxed) >= AT_IDLE)
        track(fd, sa);
    return r;
}

AT_EXPORT int close(int fd)
{
    if ((unsigned)fd < AT_FD_MAX &&
        atomic_load_explicit(&at_fd_state[fd], memory_order_relaxed))
        forget(fd);
    return get_close()(fd);
}

/* HOOK(name, params, args, when, capture): the hook of `name`.  Whether a
 * call is captured (`when`) is decided before it is made.  When it is not
 * (nearly every call), the hook is a jump to the real function with no
 * frame of its own: the captured path is a function of its own
 * (NAME_captured: the real call, then `capture`, with n and errno), and so
 * is the first call's look-up of the real function (NAME_first, cold), so
 * that the hook never keeps its arguments across dlsym. */
#define HOOK(name, params, args, when, capture)                           \
    static __attribute__((noinline, cold)) ssize_t name##_first params   \
    {                                                                     \
        return get_##name() args;                                         \
    }                                                                     \
    static __attribute__((noinline)) ssize_t name##_captured params      \
    {                                                                     \
        ssize_t n = get_##name() args;                                    \
                                                                          \
        capture;                                                          \
        return n;                                                         \
    }                                                                     \
    AT_EXPORT ssize_t name params                                         \
    {                                                                     \
        if (__builtin_expect(when, 0))                                    \
            return name##_captured args;                                  \
        if (__builtin_expect(real_##name != NULL, 1))                     \
            return real_##name args;                                      \
        return name##_first args;                                         \
    }

/* MSG_PEEK leaves the bytes for the next read, which captures them. */
#define PEEK(flags) ((flags) & MSG_PEEK)

HOOK(write, (int fd, const void *buf, size_t len), (fd, buf, len),
     tracked(fd), data(fd, 0, buf, n, errno))

HOOK(read, (int fd, void *buf, size_t len), (fd, buf, len),
     tracked(fd), data(fd, 1, buf, n, errno))

HOOK(__read_chk, (int fd, void *buf, size_t len, size_t buflen),
     (fd, buf, len, buflen), tracked(fd), data(fd, 1, buf, n, errno))

HOOK(send, (int fd, const void *buf, size_t len, int flags),
     (fd, buf, len, flags), tracked(fd), data(fd, 0, buf, n, errno))

HOOK(sendto, (int fd, const void *buf, size_t len, int flags,
              const struct sockaddr *to, socklen_t tolen),
     (fd, buf, len, flags, to, tolen), tracked(fd),
     data(fd, 0, buf, n, errno))

HOOK(recv, (int fd, void *buf, size_t len, int flags),
     (fd, buf, len, flags), tracked(fd) && !PEEK(flags),
     data(fd, 1, buf, n, errno))

HOOK(__recv_chk, (int fd, void *buf, size_t len, size_t buflen, int flags),
     (fd, buf, len, buflen, flags), tracked(fd) && !PEEK(flags),
     data(fd, 1, buf, n, errno))

HOOK(recvfrom, (int fd, void *buf, size_t len, int flags,
                struct sockaddr *from, socklen_t *fromlen),
     (fd, buf, len, flags, from, fromlen), tracked(fd) && !PEEK(flags),
     data(fd, 1, buf, n, errno))

HOOK(__recvfrom_chk, (int fd, void *buf, size_t len, size_t buflen,
                      int flags, struct sockaddr *from, socklen_t *fromlen),
     (fd, buf, len, buflen, flags, from, fromlen),
     tracked(fd) && !PEEK(flags), data(fd, 1, buf, n, errno))

HOOK(writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),
     tracked(fd), data_iov(fd, 0, iov, cnt, n, errno))

HOOK(readv, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),
     tracked(fd), data_iov(fd, 1, iov, cnt, n, errno))

HOOK(sendmsg, (int fd, const struct msghdr *m, int flags), (fd, m, flags),
     tracked(fd) && m != NULL,
     data_iov(fd, 0, m->msg_iov, (int)m->msg_iovlen, n, errno))

HOOK(recvmsg, (int fd, struct msghdr *m, int flags), (fd, m, flags),
     tracked(fd) && m != NULL && !PEEK(flags),
     data_iov(fd, 1, m->msg_iov, (int)m->msg_iovlen, n, errno))
