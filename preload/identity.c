/* identity.c - the process's place in the trace (see identity.h).
 * Constructor, fork child handler, and the sink thread (set_current). */
#include "identity.h"
#include "layout.h"
#include "config.h"
#include "log.h"
#include "clock.h"
#include "sys.h"
#include "decode/swar.h"
#include "sink/ids.h"
#include "sink/jw.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

AT_LARGE_BSS at_proc at_self;

/* "AGENTTRACE_CONTEXT=" trace(32) '-' current(16) '-' own(16) '-'
 * parent(16) '-' pid '-' start.  The environment holds this very buffer
 * (at_config_export_context), so updating the current span in place is
 * seen by every child started afterwards, with no setenv() racing the
 * host's getenv(). */
#define CTX_NAME "AGENTTRACE_CONTEXT="
#define CTX_CUR (sizeof(CTX_NAME) - 1 + 33)
static char ctx_env[160];

/* Every process pays for what follows, model calls or not: system calls
 * and clock reads go to the kernel directly (preload/sys.h: no libc
 * binding, none of this library's own read/close hooks), and numbers are
 * formatted and parsed by hand rather than with stdio. */

/* The last ')' in buf[0..n), or NULL: where the command name ends (it
 * may hold spaces and parentheses itself, no field after it does).  It
 * is near the start, and looked for from the end: sixteen bytes a step
 * with SSE2 (x86-64 has it always), else eight as a word, then byte by
 * byte in what is left. */
static const char *last_paren(const char *buf, size_t n)
{
    const char *p = buf + n;
#ifdef __SSE2__
    const __m128i paren = _mm_set1_epi8(')');

    for (; p - buf >= 16; p -= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p - 16));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, paren));

        if (m)      /* bit i is p[i - 16]: the highest is the last ')' */
            return p - 16 + (31 - __builtin_clz(m));
    }
#else
    for (; p - buf >= 8; p -= 8)
        if (at_has_byte(at_load8(p - 8), ')'))
            break;  /* a ')' in the word that ends at p */
#endif
    while (p > buf)
        if (*--p == ')')
            return p;
    return NULL;
}

/* Just past the `count`-th space in [p, end), or end when there are fewer;
 * eight bytes a step, counting the spaces of each word at once. */
static const char *after_spaces(const char *p, const char *end,
                                unsigned count)
{
    unsigned c;

    for (; end - p >= 8; p += 8) {
        c = at_count_flags(at_eq_bytes(at_load8(p), ' '));
        if (c >= count)
            break;              /* the one wanted is in this word */
        count -= c;
    }
    for (; p < end; p++)
        if (*p == ' ' && --count == 0)
            return p + 1;
    return end;
}

/* The kernel's start time of process `pid` (clock ticks since boot), the
 * 22nd field of /proc/PID/stat; 0 when unreadable.  It survives exec and
 * differs between two processes that had the same pid. */
static unsigned long long proc_starttime(pid_t pid)
{
    char path[48] = "/proc/", buf[1024];
    size_t k = 6;
    long n;
    int fd;
    const char *p, *end;
    unsigned long long v = 0;

    k += at_jw_dec(path + k, (uint64_t)(unsigned)pid);
    memcpy(path + k, "/stat", 6);
    fd = (int)at_sys3(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = at_sys3(SYS_read, fd, buf, sizeof(buf) - 1);
    at_sys1(SYS_close, fd);
    if (n <= 0)
        return 0;
    end = buf + n;
    p = last_paren(buf, (size_t)n);
    if (p == NULL)
        return 0;
    /* the command name is field 2: field 22 follows the 20th space */
    p = after_spaces(p, end, 20);
    /* as strtoull(p, NULL, 10) there: the field's digits (the kernel
     * writes no sign or space before them) */
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (unsigned long long)(*p - '0');
    return v;
}

/* A process's span id: the same before and after exec, so whichever image
 * ends the process writes the span its children already point to, even
 * when a shell hands its children a stale copy of the environment. */
static uint64_t process_span_id(const unsigned char trace[16], pid_t pid)
{
    uint64_t a, b, z;

    memcpy(&a, trace, 8);
    memcpy(&b, trace + 8, 8);
    z = a ^ (b * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)pid << 40) ^
        (proc_starttime(pid) * 0xC2B2AE3D27D4EB4Full);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

static void write_ctx(uint64_t current)
{
    char *p = ctx_env + sizeof(CTX_NAME) - 1;

    memcpy(ctx_env, CTX_NAME, sizeof(CTX_NAME) - 1);
    at_hex(p, at_self.trace_id, 16);
    p[32] = '-';
    at_hex64(p + 33, current ? current : at_self.span_id);
    p[49] = '-';
    at_hex64(p + 50, at_self.span_id);
    p[66] = '-';
    at_hex64(p + 67, at_self.parent_span_id);
    p[83] = '-';
    p += 84;
    if (at_self.pid < 0) {       /* as "%d" would write it */
        *p++ = '-';
        p += at_jw_dec(p, 0 - (uint64_t)(int64_t)at_self.pid);
    } else {
        p += at_jw_dec(p, (uint64_t)at_self.pid);
    }
    *p++ = '-';
    p += at_jw_dec(p, at_self.start_wall_ns);
    *p = '\0';
}

/* s holds at least n bytes before its NUL */
static int has_len(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == '\0')
            return 0;
    return 1;
}

/* The decimal number at *s (at least one digit; no sign), *s moved past
 * it; -1 when there is none. */
static int parse_dec(const char **s, unsigned long long *v)
{
    const char *p = *s;

    *v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        *v = *v * 10 + (unsigned long long)(*p - '0');
    *s = p;
    return 0;
}

static int parse_ctx(const char *v, unsigned char trace[16], uint64_t *cur,
                     uint64_t *own, uint64_t *par, long *pid,
                     unsigned long long *start)
{
    const char *p;
    unsigned long long n;
    int neg;

    /* Each byte is read only once every byte before it has been found
     * to be a digit or a '-', so none past the string's NUL: no length
     * check first.  The shortest string accepted is 87 bytes. */
    if (at_unhex(v, trace, 16) < 0 || v[32] != '-' ||
        at_unhex64(v + 33, cur) < 0 || v[49] != '-' ||
        at_unhex64(v + 50, own) < 0 || v[66] != '-' ||
        at_unhex64(v + 67, par) < 0 || v[83] != '-')
        return -1;
    p = v + 84;
    neg = *p == '-';
    p += neg;
    if (parse_dec(&p, &n) < 0 || *p++ != '-')
        return -1;
    *pid = neg ? -(long)n : (long)n;
    if (parse_dec(&p, start) < 0)
        return -1;
    return *p == '\0' ? 0 : -1;
}

/* W3C traceparent: 00-<trace 32>-<parent 16>-<flags 2> */
static int parse_traceparent(const char *v, unsigned char trace[16],
                             uint64_t *parent)
{
    static const unsigned char zero[16];

    if (!has_len(v, 55) || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
        at_unhex(v + 3, trace, 16) < 0 || at_unhex64(v + 36, parent) < 0 ||
        !memcmp(trace, zero, 16) || *parent == 0)
        return -1;
    return 0;
}

void at_identity_init(void)
{
    const char *v = at_config_env(AT_ENV_CONTEXT);
    unsigned char trace[16];
    uint64_t cur, own, par;
    long pid;
    unsigned long long start;

    at_ids_seed();
    /* the identity; what at_proc_describe fills stays as it is (empty,
     * not yet described) */
    memset(&at_self, 0, offsetof(at_proc, described));
    at_self.described = 0;
    at_self.exe[0] = at_self.service[0] = at_self.cmdline[0] = '\0';
    at_self.cache_state = 0;
    at_self.pid = (pid_t)at_sys0(SYS_getpid);
    at_self.ppid = (pid_t)at_sys0(SYS_getppid);
    at_self.start_wall_ns = at_clock_sys_ns(CLOCK_REALTIME);
    at_self.start_mono_ns = at_clock_sys_ns(CLOCK_MONOTONIC);
    if (v && parse_ctx(v, trace, &cur, &own, &par, &pid, &start) == 0) {
        memcpy(at_self.trace_id, trace, 16);
        at_self.traced_parent = 1;
        if (pid == at_self.pid) {
            /* the same process after exec: keep the span its fork began */
            at_self.parent_span_id = par;
            at_self.traced_parent = par != 0;
            if (start && start <= at_self.start_wall_ns) {
                at_self.start_mono_ns -= at_self.start_wall_ns - start;
                at_self.start_wall_ns = start;
            }
        } else if (pid == at_self.ppid) {
            at_self.parent_span_id = cur;   /* possibly an execute_tool */
        } else {
            /* The context is an older ancestor's (a shell passed on its
             * own copy of the environment): hang under the real parent. */
            at_self.parent_span_id = process_span_id(trace, at_self.ppid);
        }
    } else if (((v = at_config_env(AT_ENV_TRACEPARENT)) && *v &&
                parse_traceparent(v, trace, &par) == 0) ||
               ((v = at_config_env(AT_ENV_W3C_TRACEPARENT)) && *v &&
                parse_traceparent(v, trace, &par) == 0)) {
        memcpy(at_self.trace_id, trace, 16);
        at_self.parent_span_id = par;
    } else {
        const char *c = at_config_env(AT_ENV_CONTEXT);

        if (c && *c)
            at_log("AGENTTRACE_CONTEXT not understood: %.120s", c);
        at_ids_trace(at_self.trace_id);
    }
    at_self.span_id = process_span_id(at_self.trace_id, at_self.pid);
    write_ctx(0);
    at_config_export_context(ctx_env);
}

/* A fork child's identity is made when it is first needed, not in the
 * fork handler: most children exec at once (a shell's, for every
 * command), and the new program makes its own from the environment,
 * where the parent's context already says who its parent is.  Until then
 * at_self is the parent's (as it was at the fork) and fork_mono the
 * moment of the fork, both in the child's copy of the parent's memory. */
static int fork_pending;       /* a fork child, at_self still its parent's */
static pid_t fork_child_pid;   /* that child's pid */
static uint64_t fork_mono;     /* CLOCK_MONOTONIC when its parent forked */

void at_identity_fork_prepare(uint64_t now_mono)
{
    at_identity_settle();      /* the parent may be a fork child itself */
    fork_mono = now_mono;
}

void at_identity_fork_child(pid_t pid)
{
    fork_pending = 1;
    fork_child_pid = pid;
}

pid_t at_identity_adopt(void)
{
    pid_t pid;

    at_identity_settle();
    pid = (pid_t)at_sys0(SYS_getpid);
    if (pid != at_self.pid) {
        /* a fork child no handler of ours saw: forked by daemon() or
         * _Fork() before the process called fork(), or a host's handler
         * got here first.  When it forked is not known: now. */
        fork_pending = 1;
        fork_child_pid = pid;
        fork_mono = 0;
        at_identity_settle();
    }
    return pid;
}

void at_identity_settle(void)
{
    uint64_t cur, mono;

    if (!fork_pending)
        return;
    /* A vfork child of a fork child not settled yet shares its parent's
     * memory: it must change nothing. */
    if ((pid_t)at_sys0(SYS_getpid) != fork_child_pid)
        return;
    fork_pending = 0;
    cur = at_identity_current();
    mono = fork_mono ? fork_mono : at_clock_sys_ns(CLOCK_MONOTONIC);
    at_ids_seed();
    at_self.parent_span_id = cur;
    at_self.traced_parent = 1;
    at_self.ppid = at_self.pid;   /* the process that forked */
    at_self.pid = fork_child_pid;
    at_self.start_wall_ns = at_proc_wall(&at_self, mono);
    at_self.start_mono_ns = mono;
    at_self.span_id = process_span_id(at_self.trace_id, at_self.pid);
    /* described as it was: the same program, started by the same argv */
    write_ctx(0);
}

uint64_t at_identity_current(void)
{
    uint64_t v;

    if (at_unhex64(ctx_env + CTX_CUR, &v) < 0)
        return at_self.span_id;
    return v;
}

void at_identity_set_current(uint64_t span_id)
{
    char hex[17];

    at_hex64(hex, span_id ? span_id : at_self.span_id);
    memcpy(ctx_env + CTX_CUR, hex, 16);
}
