/* shim.c - the library's life: constructor, activation, the sink thread,
 * capture into the ring, fork and exit.
 *
 * Threads: the constructor runs on the loading thread; at_capture_* on host
 * threads (hot path: no lock, no allocation, errno untouched); sink_main on
 * the sink thread; the fork handlers on the forking thread; at_finish on the
 * exiting thread.  The sink thread and the exiting thread meet through two
 * futex words, never a mutex, so an exit in any state cannot deadlock: the
 * exiting thread waits a bounded time and then goes on.
 */
#include "shim.h"
#include "clock.h"
#include "config.h"
#include "identity.h"
#include "log.h"
#include "sys.h"
#include "decode/llm.h"
#include "sink/jalloc.h"
#include "sink/sink.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic int at_state = AT_OFF;
__thread int at_in_hook __attribute__((tls_model("initial-exec")));
__thread int at_in_curl __attribute__((tls_model("initial-exec")));

static at_ring *ring;
static _Atomic int sink_wake;      /* futex: 1 = work or exit requested */
static _Atomic int exit_req;       /* the process is exiting */
static _Atomic int sink_done;      /* futex: the sink wrote its last span */
static _Atomic uint64_t sink_seen; /* records consumed by the sink */
static _Atomic uint64_t pushed;    /* records pushed */
/* glibc's registration behind pthread_atfork (what libc_nonshared's
 * pthread_atfork calls with the object's handle, so that the handlers go
 * when the object is unloaded). */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void),
                             void (*child)(void), void *dso_handle);
/* What crtbeginS.o would define (the shim links without the C runtime's
 * start files, see the Makefile): the identity of this object, for
 * handlers registered with __register_atfork. */
void *__dso_handle __attribute__((visibility("hidden"))) = &__dso_handle;

static int exit_code = -1;
static _Atomic int finished;
static pid_t sink_pid;             /* the process that started the sink */
static void register_fork_handlers(void);

static long futex(_Atomic int *addr, int op, int val,
                  const struct timespec *ts)
{
    return at_sys6(SYS_futex, (long)addr, op, val, (long)ts, 0, 0);
}

/* ---- capture (host threads) --------------------------------------------- */

static inline void push(const at_rec_hdr *h, const void *payload)
{
    int r = at_ring_push(ring, h, payload);

    if (r >= 0)
        atomic_fetch_add_explicit(&pushed, 1, memory_order_relaxed);
    /* Wake a sleeping sink when the ring fills up (one syscall per eighth
     * of the ring at most while it sleeps, none while it runs). */
    if (r != 0 &&
        atomic_load_explicit(&sink_wake, memory_order_relaxed) == 0 &&
        atomic_exchange(&sink_wake, 1) == 0)
        futex(&sink_wake, FUTEX_WAKE_PRIVATE, 1, NULL);
}

void at_capture_open(int i, uint8_t transport, const at_open_info *info,
                     uint64_t t)
{
    at_rec_hdr h;

    memset(&h, 0, sizeof(h));
    h.conn = atomic_load_explicit(&at_conn_table[i].id, memory_order_acquire);
    h.t_ns = t ? t : at_mono_ns();
    h.len = sizeof(*info);
    h.slot = (uint16_t)i;
    h.kind = AT_REC_OPEN;
    h.transport = transport;
    push(&h, info);
}

void at_capture_event(int i, int kind, uint8_t transport, uint64_t arg)
{
    at_rec_hdr h;

    memset(&h, 0, sizeof(h));
    h.conn = atomic_load_explicit(&at_conn_table[i].id, memory_order_acquire);
    if (h.conn == 0)
        return;
    h.t_ns = at_mono_ns();
    h.arg = arg;
    h.slot = (uint16_t)i;
    h.kind = (uint8_t)kind;
    h.transport = transport;
    push(&h, NULL);
}

void at_capture_data(int i, int dir, uint8_t transport, const void *buf,
                     size_t n)
{
    at_conn_slot *s = &at_conn_table[i];
    uint64_t id = atomic_load_explicit(&s->id, memory_order_acquire);
    uint64_t off, until = 0;
    const char *p = buf;
    at_rec_hdr h;

    if (id == 0 || n == 0)
        return;
    off = atomic_fetch_add_explicit(&s->off[dir], n, memory_order_relaxed);
    if (atomic_load_explicit(&s->advice_id, memory_order_acquire) == id) {
        until = atomic_load_explicit(&s->skip_in_until,
                                     memory_order_relaxed);
        if (until == AT_CONN_IGNORE)
            return;
        if (dir == 0)
            until = 0;
        if (off < until && until - off > n)
            return;          /* entirely inside the unwanted body */
    }
    memset(&h, 0, sizeof(h));
    h.conn = id;
    h.t_ns = at_mono_ns();
    h.slot = (uint16_t)i;
    h.transport = transport;
    if (off < until) {
        uint64_t skip = until - off; /* <= n: see above */

        h.kind = AT_REC_SKIPPED;
        h.arg = until;
        push(&h, NULL);
        p += skip;
        n -= (size_t)skip;
        off = until;
    }
    h.kind = dir ? AT_REC_IN : AT_REC_OUT;
    while (n > 0) {
        size_t k = n < AT_RING_MAX_PAYLOAD ? n : AT_RING_MAX_PAYLOAD;

        h.arg = off;
        h.len = (uint32_t)k;
        push(&h, p);
        p += k;
        off += k;
        n -= k;
    }
}

/* ---- the sink thread ---------------------------------------------------- */

static void advise(void *ud, int slot, uint64_t conn, uint64_t until)
{
    (void)ud;
    if (slot >= 0 && slot < (int)AT_CONN_SLOTS)
        at_conn_advise(slot, conn, until);
}

static void set_current(void *ud, uint64_t span)
{
    (void)ud;
    at_identity_set_current(span);
}

static int drain(at_sink *s, void *buf)
{
    at_rec_hdr h;
    void *p;
    int n = 0;

    while ((p = at_ring_peek(ring, &h, buf)) != NULL) {
        at_sink_record(s, &h, p);
        at_ring_release(ring, &h);
        atomic_fetch_add_explicit(&sink_seen, 1, memory_order_release);
        if ((++n & 63) == 0)
            at_ring_prefault(ring);
    }
    at_ring_prefault(ring);
    return n;
}

static void *sink_main(void *arg)
{
    at_sink_opts o;
    at_sink *s;
    void *buf = malloc(AT_RING_MAX_PAYLOAD);
    long idle_ms = 1;

    (void)arg;
    at_in_hook = 1;  /* nothing this thread does is captured */
    prctl(PR_SET_NAME, "agenttrace", 0, 0, 0);
    at_ring_prefault(ring);
    memset(&o, 0, sizeof(o));
    o.proc = &at_self;
    o.output = at_cfg.output;
    o.agent_name = at_cfg.agent_name;
    o.capture_content = at_cfg.capture_content;
    o.max_body = at_cfg.max_body;
    o.advise = advise;
    o.set_current = set_current;
    s = buf ? at_sink_new(&o) : NULL;
    if (s == NULL) {
        at_log("out of memory starting the sink; tracing off");
        atomic_store(&at_state, AT_OFF);
        atomic_store(&sink_done, 1);
        futex(&sink_done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
        free(buf);
        return NULL;
    }
    for (;;) {
        struct timespec ts;
        int n = drain(s, buf);

        if (atomic_load(&exit_req)) {
            drain(s, buf);
            at_sink_finish(s, at_mono_ns(), exit_code);
            if (at_log_enabled) {
                at_sink_stats st;

                at_sink_stats_get(s, &st);
                at_log("%llu records, %llu exchanges, %llu spans, %llu "
                       "dropped records, %llu desynced, %llu lines lost",
                       (unsigned long long)st.records,
                       (unsigned long long)st.exchanges,
                       (unsigned long long)st.spans,
                       (unsigned long long)at_ring_dropped(ring),
                       (unsigned long long)st.desyncs,
                       (unsigned long long)st.writer.failed);
            }
            at_llm_body_shapes_free(); /* this thread's, gone with it */
            atomic_store(&sink_done, 1);
            futex(&sink_done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
            return NULL;  /* the sink's memory goes with the process */
        }
        at_sink_flush(s);
        /* Sleep: 8 ms after activity, up to 50 ms when idle, so a span
         * reaches the file within 200 ms without waking an idle process
         * more than 20 times a second.  Not shorter after activity: each
         * wake-up is two context switches on a CPU the host may be using
         * (with 1 ms, 2,000 Python POSTs on one CPU took 430 more
         * switches and 7-40 ms more CPU); a burst still wakes the sink
         * each time an eighth of the ring fills. */
        idle_ms = n ? 8 : (idle_ms * 2 > 50 ? 50 : idle_ms * 2);
        ts.tv_sec = 0;
        ts.tv_nsec = idle_ms * 1000000L;
        atomic_store(&sink_wake, 0);
        if (atomic_load(&exit_req) || !at_ring_empty(ring))
            continue;
        futex(&sink_wake, FUTEX_WAIT_PRIVATE, 0, &ts);
    }
}

int at_shim_activate(void)
{
    int expect = AT_IDLE;
    pthread_t th;
    pthread_attr_t attr;
    sigset_t all, old;
    int rc, st;

    st = atomic_load_explicit(&at_state, memory_order_acquire);
    if (st == AT_RUNNING)
        return 1;
    if (st != AT_IDLE ||
        !atomic_compare_exchange_strong(&at_state, &expect, AT_STARTING)) {
        /* another thread is starting it; don't wait for it */
        return atomic_load(&at_state) == AT_RUNNING;
    }
    /* a fork child's spans are its own, also when its fork handler has not
     * run (yet) */
    sink_pid = at_identity_adopt();
    register_fork_handlers();
    at_jalloc_install(); /* before the sink, jansson's only user, starts */
    ring = at_ring_new(at_cfg.ring_size);
    if (ring == NULL) {
        at_log("cannot map the capture ring; tracing off");
        atomic_store(&at_state, AT_OFF);
        return 0;
    }
    /* The sink thread takes no signal of the host's.  sigprocmask, not
     * pthread_sigmask: in glibc (2.32 on) it is pthread_sigmask, for the
     * calling thread, leaving glibc's own signals unblocked alike, and it
     * needs no GLIBC_2.32 version, which every process would check when
     * the library loads. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    atomic_store(&at_state, AT_RUNNING);
    rc = pthread_create(&th, &attr, sink_main, NULL);
    pthread_attr_destroy(&attr);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        at_log("cannot start the sink thread (%s); tracing off",
               strerror(rc));
        atomic_store(&at_state, AT_OFF);
        return 0;
    }
    at_log("capturing; spans go to %s", at_cfg.output);
    return 1;
}

/* ---- exit --------------------------------------------------------------- */

/* The process span of a process that never started the sink, written
 * without allocating (at_span_process_write): the exit of a process that
 * never called a model allocates nothing.  The process is described (a
 * 4.6 KiB frame) by the caller, not below this one. */
__attribute__((noinline)) static void write_process_span_alone(void)
{
    at_writer_stats st;
    uint64_t end = at_clock_sys_ns(CLOCK_MONOTONIC);

    memset(&st, 0, sizeof(st));
    at_span_process_write(at_cfg.output, &at_self, at_cfg.agent_name,
                          !at_self.traced_parent, end, exit_code, &st);
    if (st.failed) {
        int saved = errno;

        at_log("cannot write %s: %s", at_cfg.output,
               strerror(st.last_errno));
        errno = saved;
    }
}

/* has_status: `status` is the exit status (else exit_code stays) */
static void at_finish(int has_status, int status)
{
    int prev;

    if (atomic_load(&at_state) == AT_OFF)
        return;
    at_identity_settle();
    /* A vfork child runs in its parent's memory: leave it alone. */
    if ((pid_t)at_sys0(SYS_getpid) != at_self.pid)
        return;
    if (has_status)
        exit_code = status & 0xff;
    if (atomic_exchange(&finished, 1))
        return;
    prev = atomic_exchange(&at_state, AT_OFF);
    if (prev == AT_RUNNING) {
        struct timespec ts = {0, 100 * 1000000L};
        int i, saved = errno;

        atomic_store(&exit_req, 1);
        atomic_store(&sink_wake, 1);
        futex(&sink_wake, FUTEX_WAKE_PRIVATE, 1, NULL);
        /* At most 2 s: a host must never hang in exit because of us. */
        for (i = 0; i < 20 && !atomic_load(&sink_done); i++)
            futex(&sink_done, FUTEX_WAIT_PRIVATE, 0, &ts);
        if (!atomic_load(&sink_done))
            at_log("the sink did not finish in time; spans may be lost");
        errno = saved;
    } else if (prev == AT_IDLE) {
        /* system calls made inline: errno is left as it was (and
         * write_process_span_alone keeps it around strerror) */
        at_proc_describe(&at_self);
        write_process_span_alone();
    }
}

static void on_exit_cb(int status, void *arg)
{
    (void)arg;
    at_finish(1, status);
}

void at_shim_main_started(void)
{
    if (atomic_load(&at_state) != AT_OFF)
        on_exit(on_exit_cb, NULL);
}

void at_shim_exiting(int status)
{
    at_finish(1, status);
}

/* The last resort, for hosts whose main did not start through us. */
__attribute__((destructor)) static void at_destructor(void)
{
    at_finish(0, 0);
}

/* ---- fork --------------------------------------------------------------- */

static void fork_prepare(void)
{
    int st = atomic_load(&at_state);
    uint64_t target;
    int i;

    if (st == AT_OFF)
        return;
    if (st == AT_RUNNING && !at_in_hook) {
        /* Let the sink catch up (at most 20 ms), so that the child hangs
         * under the span that is open now (an execute_tool span,
         * typically). */
        target = atomic_load(&pushed);
        if (atomic_load(&sink_seen) < target) {
            atomic_store(&sink_wake, 1);
            futex(&sink_wake, FUTEX_WAKE_PRIVATE, 1, NULL);
        }
        for (i = 0; i < 100 && atomic_load(&sink_seen) < target; i++) {
            struct timespec ts = {0, 200 * 1000L};

            nanosleep(&ts, NULL);
        }
    }
    /* written before the fork, so that the parent's page stays its own */
    at_identity_fork_prepare(st == AT_RUNNING
                                 ? at_mono_ns()
                                 : at_clock_sys_ns(CLOCK_MONOTONIC));
}

/* Zero *v unless it is already: a fork child writes no page of its
 * parent's it need not (each costs it a copy), and most exec at once. */
#define CLEAR(v)                   \
    do {                           \
        if (atomic_load(v) != 0)   \
            atomic_store(v, 0);    \
    } while (0)

static void fork_child(void)
{
    int st = atomic_load(&at_state);
    pid_t pid;

    if (st == AT_OFF)
        return;
    pid = (pid_t)at_sys0(SYS_getpid);
    /* A fork handler of the host's that ran before this one may have made
     * a call already: the capture it started is this child's own. */
    if (st != AT_IDLE && sink_pid == pid)
        return;
    /* The parent's sink thread does not exist here and its ring and
     * connection table describe the parent: start afresh, lazily.  Only
     * a parent that started its sink has either. */
    if (ring != NULL) {
        at_ring_del(ring);
        ring = NULL;
    }
    if (st != AT_IDLE)
        at_conn_reset();
    CLEAR(&sink_wake);
    CLEAR(&exit_req);
    CLEAR(&sink_done);
    CLEAR(&sink_seen);
    CLEAR(&pushed);
    CLEAR(&finished);
    if (exit_code != -1)
        exit_code = -1;
    at_identity_fork_child(pid);
    if (st != AT_IDLE)
        atomic_store(&at_state, AT_IDLE);
}

/* glibc's registration behind pthread_atfork, once per process: at its
 * first fork() (hooks/process.c) or when it starts capturing, whichever
 * comes first; a fork child inherits it. */
static void register_fork_handlers(void)
{
    static _Atomic int done;   /* 0 no, 1 being registered, 2 yes */
    int expect = 0;

    if (atomic_load_explicit(&done, memory_order_acquire) == 2)
        return;
    if (atomic_compare_exchange_strong(&done, &expect, 1)) {
        __register_atfork(fork_prepare, NULL, fork_child, &__dso_handle);
        atomic_store_explicit(&done, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&done, memory_order_acquire) != 2)
        sched_yield();   /* another thread is registering them */
}

void at_shim_before_fork(void)
{
    if (atomic_load(&at_state) != AT_OFF)
        register_fork_handlers();
}

/* ---- constructor -------------------------------------------------------- */

/* glibc calls a library's constructors with main's arguments */
__attribute__((constructor)) static void at_constructor(int argc, char **argv,
                                                        char **envp)
{
    /* errno: what runs here makes its system calls inline, which leave it
     * alone; the few libc calls that may set it keep it themselves
     * (reading errno is a lazy binding of its own in every process) */
    at_config_load();
    if (at_cfg.disabled)
        return;
    at_identity_init();  /* first: it uses what the scan found where it was */
    if (!at_cfg.output_in_env) {
        int saved = errno;

        setenv("AGENTTRACE_OUTPUT", at_cfg.output, 1);
        errno = saved;
    }
    /* the command as it was started, read now rather than from /proc at
     * exit (no system call; a program that rewrites its argv later, to
     * show a status, does not change its command line) */
    at_proc_describe_args(&at_self, argc, argv);
    (void)envp;
    /* the fork handlers wait for the first fork (at_shim_before_fork) */
    atomic_store(&at_state, AT_IDLE);
}
