/* identity.c - the process's place in the trace (see identity.h).
 * Constructor, fork child handler, and the sink thread (set_current). */
#include "identity.h"
#include "config.h"
#include "log.h"
#include "clock.h"
#include "sink/ids.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

at_proc at_self;

/* "AGENTTRACE_CONTEXT=" trace(32) '-' current(16) '-' own(16) '-'
 * parent(16) '-' pid '-' start.  putenv() keeps this very buffer in the
 * environment, so updating the current span in place is seen by every
 * child started afterwards, with no setenv() racing the host's getenv(). */
#define CTX_NAME "AGENTTRACE_CONTEXT="
#define CTX_CUR (sizeof(CTX_NAME) - 1 + 33)
static char ctx_env[160];

/* The kernel's start time of process `pid` (clock ticks since boot), the
 * 22nd field of /proc/PID/stat; 0 when unreadable.  It survives exec and
 * differs between two processes that had the same pid. */
static unsigned long long proc_starttime(pid_t pid)
{
    char path[48], buf[1024];
    ssize_t n;
    int fd, field;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')');   /* the command name may hold spaces */
    if (p == NULL)
        return 0;
    for (field = 2; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
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
    char trace[33], cur[17], own[17], par[17];

    at_hex(trace, at_self.trace_id, 16);
    at_hex64(cur, current ? current : at_self.span_id);
    at_hex64(own, at_self.span_id);
    at_hex64(par, at_self.parent_span_id);
    snprintf(ctx_env, sizeof(ctx_env), CTX_NAME "%s-%s-%s-%s-%d-%llu",
             trace, cur, own, par, (int)at_self.pid,
             (unsigned long long)at_self.start_wall_ns);
}

static int parse_ctx(const char *v, unsigned char trace[16], uint64_t *cur,
                     uint64_t *own, uint64_t *par, long *pid,
                     unsigned long long *start)
{
    char *end;

    if (strlen(v) < 32 + 1 + 16 + 1 + 16 + 1 + 16 + 1 + 1 + 1 + 1 ||
        at_unhex(v, trace, 16) < 0 || v[32] != '-' ||
        at_unhex64(v + 33, cur) < 0 || v[49] != '-' ||
        at_unhex64(v + 50, own) < 0 || v[66] != '-' ||
        at_unhex64(v + 67, par) < 0 || v[83] != '-')
        return -1;
    *pid = strtol(v + 84, &end, 10);
    if (*end != '-')
        return -1;
    *start = strtoull(end + 1, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* W3C traceparent: 00-<trace 32>-<parent 16>-<flags 2> */
static int parse_traceparent(const char *v, unsigned char trace[16],
                             uint64_t *parent)
{
    static const unsigned char zero[16];

    if (strlen(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
        at_unhex(v + 3, trace, 16) < 0 || at_unhex64(v + 36, parent) < 0 ||
        !memcmp(trace, zero, 16) || *parent == 0)
        return -1;
    return 0;
}

void at_identity_init(void)
{
    const char *v = getenv("AGENTTRACE_CONTEXT");
    unsigned char trace[16];
    uint64_t cur, own, par;
    long pid;
    unsigned long long start;

    at_ids_seed();
    memset(&at_self, 0, sizeof(at_self));
    at_self.pid = getpid();
    at_self.ppid = getppid();
    at_self.start_wall_ns = at_clock_ns(CLOCK_REALTIME);
    at_self.start_mono_ns = at_mono_ns();
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
    } else if (((v = getenv("AGENTTRACE_TRACEPARENT")) && *v &&
                parse_traceparent(v, trace, &par) == 0) ||
               ((v = getenv("TRACEPARENT")) && *v &&
                parse_traceparent(v, trace, &par) == 0)) {
        memcpy(at_self.trace_id, trace, 16);
        at_self.parent_span_id = par;
    } else {
        const char *c = getenv("AGENTTRACE_CONTEXT");

        if (c && *c)
            at_log("AGENTTRACE_CONTEXT not understood: %.120s", c);
        at_ids_trace(at_self.trace_id);
    }
    at_self.span_id = process_span_id(at_self.trace_id, at_self.pid);
    write_ctx(0);
    putenv(ctx_env);
}

void at_identity_fork_child(void)
{
    uint64_t cur = at_identity_current();
    uint64_t mono = at_mono_ns();

    at_ids_seed();
    at_self.parent_span_id = cur;
    at_self.traced_parent = 1;
    at_self.pid = getpid();
    at_self.ppid = getppid();
    at_self.start_wall_ns = at_proc_wall(&at_self, mono);
    at_self.start_mono_ns = mono;
    at_self.span_id = process_span_id(at_self.trace_id, at_self.pid);
    at_self.described = 0;
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
