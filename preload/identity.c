/* identity.c - the process's place in the trace (see identity.h).
 * Constructor, fork child handler, and the sink thread (set_current). */
#include "identity.h"
#include "config.h"
#include "log.h"
#include "clock.h"
#include "sink/ids.h"

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
    at_self.span_id = at_ids_span();
    if (v && parse_ctx(v, trace, &cur, &own, &par, &pid, &start) == 0) {
        memcpy(at_self.trace_id, trace, 16);
        at_self.traced_parent = 1;
        if (pid == at_self.pid) {
            /* the same process after exec: keep the span its fork began */
            at_self.span_id = own;
            at_self.parent_span_id = par;
            at_self.traced_parent = par != 0;
            if (start && start <= at_self.start_wall_ns) {
                at_self.start_mono_ns -= at_self.start_wall_ns - start;
                at_self.start_wall_ns = start;
            }
        } else {
            at_self.parent_span_id = cur;
        }
    } else if (((v = getenv("AGENTTRACE_TRACEPARENT")) && *v &&
                parse_traceparent(v, trace, &par) == 0) ||
               ((v = getenv("TRACEPARENT")) && *v &&
                parse_traceparent(v, trace, &par) == 0)) {
        memcpy(at_self.trace_id, trace, 16);
        at_self.parent_span_id = par;
    } else {
        at_ids_trace(at_self.trace_id);
    }
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
    at_self.span_id = at_ids_span();
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
