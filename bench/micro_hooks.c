/* micro_hooks.c - what the hooks alone add to one call.
 *
 * Run it once plainly and once with LD_PRELOAD of the shim; bench/bench.py
 * interleaves such pairs and takes the differences.  Each test times
 * batches of calls with CLOCK_MONOTONIC; the work a test needs between
 * batches (rewinding a file, draining or filling a pipe with raw syscalls,
 * which no hook sees; waiting until TLS data is buffered) is not timed.  A
 * repetition is `-n` calls; the line printed per test gives the median
 * ns/call over `-r` repetitions:
 *
 *   test <name> ns <median> min <min> max <max> reps <r> calls <n>
 *
 * In this order:
 *   write-devnull  write(2) of 64 bytes to /dev/null
 *   write-file     write(2) of 64 bytes to a regular file (rewound, so
 *                  that it stays within 64 KiB)
 *   write-pipe     write(2) of 64 bytes to a pipe (drained between batches)
 *   read-file      read(2) of 64 bytes from a regular file
 *   read-pipe      read(2) of 64 bytes from a pipe (filled between batches)
 *                  - all five single-threaded: the shim is loaded but has
 *                  seen no connection, so it runs no thread yet
 *   ssl-skip       SSL_read of 64 bytes inside the body of a GET /big.bin
 *                  over TLS HTTP/1.1: the sink has seen the response head
 *                  and told the hooks to skip the body (Content-Length)
 *   ssl-ignored    SSL_read of 64 bytes on a TLS connection whose first
 *                  bytes (a CRLF before the request line, which nginx
 *                  accepts) are not HTTP to the sink: it told the hooks to
 *                  ignore the connection for good
 *   <file test>.2threads  the five file tests again with two threads: the
 *                  shim's sink thread, or in the untraced process an idle
 *                  thread of its own (a second thread alone makes system
 *                  calls on descriptors dearer), so the difference is still
 *                  the hooks' alone
 *
 * The TLS tests need an HTTPS server on 127.0.0.1 serving /big.bin (large
 * enough for every repetition; bench.py's nginx serves 256 MB); without
 * `-p PORT` they are left out.  Under valgrind (callgrind) each test's
 * batches are the only code collected (run with --collect-atstart=no) and a
 * dump named after the test follows it, so every dump counts the
 * instructions of `-n` calls, all threads included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#define LEN 64
#define BATCH 512          /* 32 KiB: fits a pipe's 64 KiB buffer */
#define MAX_REPS 101

static long n_calls = 200000;
static int reps = 15;
static int tls_port;
static const char *tmpdir = "/tmp";

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "micro_hooks: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Raw system calls: no hook sees them, in either mode. */
static ssize_t raw_read(int fd, void *b, size_t n)
{
    return syscall(SYS_read, fd, b, n);
}

static ssize_t raw_write(int fd, const void *b, size_t n)
{
    return syscall(SYS_write, fd, b, n);
}

/* ---- a test: batches, repetitions, the median ------------------------- */

typedef struct test {
    const char *name;
    void *ctx;
    void (*prepare)(void *ctx);         /* before a batch, untimed */
    void (*batch)(void *ctx, long k);   /* k calls, timed */
} test;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void run(const test *t)
{
    double ns[MAX_REPS];
    int r;

    /* a warm-up repetition of a tenth: page cache, PLT, branch history */
    for (long done = 0; done < n_calls / 10; done += BATCH) {
        if (t->prepare)
            t->prepare(t->ctx);
        t->batch(t->ctx, BATCH);
    }
    for (r = 0; r < reps; r++) {
        uint64_t total = 0;
        long done = 0;

        while (done < n_calls) {
            long k = n_calls - done < BATCH ? n_calls - done : BATCH;
            uint64_t t0;

            if (t->prepare)
                t->prepare(t->ctx);
            CALLGRIND_TOGGLE_COLLECT;
            t0 = now_ns();
            t->batch(t->ctx, k);
            total += now_ns() - t0;
            CALLGRIND_TOGGLE_COLLECT;
            done += k;
        }
        ns[r] = (double)total / (double)n_calls;
        if (RUNNING_ON_VALGRIND) {
            CALLGRIND_DUMP_STATS_AT(t->name);
            r++;
            break;   /* one repetition is exact under callgrind */
        }
    }
    qsort(ns, (size_t)r, sizeof(ns[0]), cmp_double);
    printf("test %s ns %.2f min %.2f max %.2f reps %d calls %ld\n", t->name,
           ns[r / 2], ns[0], ns[r - 1], r, n_calls);
    fflush(stdout);
}

/* ---- files and pipes --------------------------------------------------- */

typedef struct fdctx {
    int fd;          /* the descriptor the calls use */
    int other;       /* the pipe's other end, or -1 */
    long since;      /* calls since the last rewind */
} fdctx;

static char buf[1 << 16];

static void write_batch(void *c, long k)
{
    fdctx *x = c;

    for (long i = 0; i < k; i++)
        if (write(x->fd, buf, LEN) != LEN)
            die("write");
    x->since += k;
}

static void read_batch(void *c, long k)
{
    fdctx *x = c;

    for (long i = 0; i < k; i++)
        if (read(x->fd, buf, LEN) != LEN)
            die("read");
    x->since += k;
}

/* A regular file: back to its start before a batch could pass 64 KiB. */
static void rewind_file(void *c)
{
    fdctx *x = c;

    if (x->since + BATCH > 1024) {
        if (lseek(x->fd, 0, SEEK_SET) != 0)
            die("lseek");
        x->since = 0;
    }
}

/* Empty the pipe the batch filled. */
static void drain_pipe(void *c)
{
    fdctx *x = c;
    static char sink[1 << 16];

    while (x->since > 0) {
        ssize_t n = raw_read(x->other, sink, sizeof(sink));

        if (n <= 0)
            die("drain");
        x->since -= n / LEN;
    }
}

/* Top the pipe up to a batch's bytes. */
static void fill_pipe(void *c)
{
    fdctx *x = c;
    int have = 0;

    if (ioctl(x->fd, FIONREAD, &have) != 0)
        die("FIONREAD");
    if (have < BATCH * LEN &&
        raw_write(x->other, buf, (size_t)(BATCH * LEN - have)) !=
            BATCH * LEN - have)
        die("fill");
}

static const char *named(const char *name, const char *suffix)
{
    static char b[8][64];
    static int i;

    i = (i + 1) % 8;
    snprintf(b[i], sizeof(b[i]), "%s%s", name, suffix);
    return b[i];
}

static void file_tests(const char *sfx)
{
    char path[4096];
    fdctx dn, wf, wp, rf, rp;
    int p[2];

    memset(buf, 'x', sizeof(buf));
    snprintf(path, sizeof(path), "%s/micro_hooks.XXXXXX", tmpdir);

    dn = (fdctx){open("/dev/null", O_WRONLY | O_CLOEXEC), -1, 0};
    if (dn.fd < 0)
        die("/dev/null");
    run(&(test){named("write-devnull", sfx), &dn, NULL, write_batch});
    close(dn.fd);

    wf = (fdctx){mkostemp(path, O_CLOEXEC), -1, 0};
    if (wf.fd < 0)
        die(path);
    unlink(path);
    run(&(test){named("write-file", sfx), &wf, rewind_file, write_batch});
    close(wf.fd);

    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe");
    wp = (fdctx){p[1], p[0], 0};
    run(&(test){named("write-pipe", sfx), &wp, drain_pipe, write_batch});
    close(p[0]);
    close(p[1]);

    snprintf(path, sizeof(path), "%s/micro_hooks.XXXXXX", tmpdir);
    rf = (fdctx){mkostemp(path, O_CLOEXEC), -1, 0};
    if (rf.fd < 0)
        die(path);
    unlink(path);
    if (raw_write(rf.fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
        die("fill file");
    rf.since = 1024;
    run(&(test){named("read-file", sfx), &rf, rewind_file, read_batch});
    close(rf.fd);

    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe");
    rp = (fdctx){p[0], p[1], 0};
    run(&(test){named("read-pipe", sfx), &rp, fill_pipe, read_batch});
    close(p[0]);
    close(p[1]);
}

/* ---- TLS ---------------------------------------------------------------- */

typedef struct tlsctx {
    SSL *ssl;
    int fd;
} tlsctx;

static SSL_CTX *ctx;

static void tls_die(const char *what)
{
    fprintf(stderr, "micro_hooks: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* Connect, send `req`, read the response head and the first 1 MiB of the
 * body (in large reads, so the sink sees the head at once). */
static void tls_open(tlsctx *t, const char *req)
{
    struct sockaddr_in a;
    char head[65536];
    size_t have = 0, body = 0;
    int one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)tls_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* A receive buffer that holds many batches whatever autotuning does
     * (the kernel caps it at net.core.rmem_max). */
    setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &(int){4 << 20}, sizeof(int));
    if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect to the TLS server");
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    t->ssl = SSL_new(ctx);
    if (t->ssl == NULL || !SSL_set_fd(t->ssl, t->fd) ||
        !SSL_set_tlsext_host_name(t->ssl, "localhost") ||
        SSL_connect(t->ssl) != 1)
        tls_die("TLS handshake failed");
    if (SSL_write(t->ssl, req, (int)strlen(req)) != (int)strlen(req))
        tls_die("SSL_write failed");
    for (;;) {
        int n = SSL_read(t->ssl, head + have, (int)(sizeof(head) - have));
        char *end;

        if (n <= 0)
            tls_die("no response");
        have += (size_t)n;
        end = memmem(head, have, "\r\n\r\n", 4);
        if (end) {
            if (strncmp(head, "HTTP/1.1 200", 12) != 0)
                tls_die("the server did not answer 200 for /big.bin");
            body = have - (size_t)(end + 4 - head);
            break;
        }
        if (have == sizeof(head))
            tls_die("response head too long");
    }
    while (body < (1u << 20)) {
        int n = SSL_read(t->ssl, head, sizeof(head));

        if (n <= 0)
            tls_die("body ended early");
        body += (size_t)n;
    }
}

/* Wait (untimed) until a batch's worth of TLS plaintext can be read
 * without blocking, so that no timed SSL_read waits for the network:
 * what OpenSSL holds decrypted, plus the whole records in the socket
 * buffer (OpenSSL reads a record whole; at most 16 KiB of plaintext each,
 * with less than 256 bytes of framing). */
static void tls_wait(void *c)
{
    tlsctx *t = c;
    int avail = 0, i;
    long have = SSL_pending(t->ssl);

    if (have >= BATCH * LEN)
        return;
    for (i = 0; i < 20000; i++) {
        struct timespec ts = {0, 50000};

        if (ioctl(t->fd, FIONREAD, &avail) == 0 &&
            have + (long)(avail / (16384 + 256)) * 16384 >= BATCH * LEN)
            return;
        nanosleep(&ts, NULL);
    }
    {
        char b;
        ssize_t r = recv(t->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

        fprintf(stderr, "micro_hooks: TLS data stopped coming (fd %d: %d "
                        "bytes buffered, %d pending; peek %zd %s)\n", t->fd,
                avail, SSL_pending(t->ssl), r, r < 0 ? strerror(errno) : "");
    }
    exit(1);
}

static void tls_batch(void *c, long k)
{
    tlsctx *t = c;

    for (long i = 0; i < k; i++)
        if (SSL_read(t->ssl, buf, LEN) != LEN)
            tls_die("SSL_read");
}

static void tls_tests(void)
{
    tlsctx skip, ign;
    struct timespec settle = {0, 300 * 1000000L};

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        tls_die("SSL_CTX_new");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    tls_open(&skip, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n"
                    "User-Agent: micro_hooks\r\n\r\n");
    tls_open(&ign, "\r\nGET /big.bin HTTP/1.1\r\nHost: localhost\r\n"
                   "User-Agent: micro_hooks\r\n\r\n");
    /* Let the sink read the records and write its advice back (it polls
     * every 50 ms at most when idle; much slower under valgrind). */
    if (RUNNING_ON_VALGRIND)
        settle.tv_sec = 3;
    nanosleep(&settle, NULL);
    run(&(test){"ssl-skip", &skip, tls_wait, tls_batch});
    run(&(test){"ssl-ignored", &ign, tls_wait, tls_batch});
    /* Leave without SSL_shutdown: the rest of the bodies is not wanted. */
}

/* Threads in this process, from /proc/self/status (0: unknown). */
static int threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void *idle_thread(void *arg)
{
    for (;;)
        pause();
    return arg;
}

int main(int argc, char **argv)
{
    int c;

    while ((c = getopt(argc, argv, "n:r:p:t:")) != -1) {
        switch (c) {
        case 'n': n_calls = atol(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 'p': tls_port = atoi(optarg); break;
        case 't': tmpdir = optarg; break;
        default:
            fprintf(stderr, "usage: micro_hooks [-n calls] [-r reps] "
                            "[-p tls-port] [-t tmpdir]\n");
            return 2;
        }
    }
    if (n_calls < BATCH || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "micro_hooks: -n at least %d, -r 1 to %d\n", BATCH,
                MAX_REPS);
        return 2;
    }
    /* Single-threaded: the traced process has the shim loaded but not yet
     * running (no connection seen, no sink thread). */
    file_tests("");
    if (tls_port)
        tls_tests();   /* the shim starts its sink thread here */
    /* Again with two threads in both processes: the traced one has the
     * sink thread, the untraced one gets an idle thread of its own, since
     * a second thread alone makes every system call on a descriptor
     * dearer (the kernel shares the descriptor table). */
    if (threads() == 1) {
        pthread_t th;

        if (pthread_create(&th, NULL, idle_thread, NULL) != 0)
            die("pthread_create");
    }
    printf("threads %d\n", threads());
    file_tests(".2threads");
    return 0;
}
