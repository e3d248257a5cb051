/* span.h - turning spans into JSONL lines (../shared/SPANS.md).
 *
 * The outer shape of a line (ids, name, kind, times, status, resource) is
 * written with the jw writer; attributes come as a flat list (attrs.h) or
 * a jansson object.  The
 * process span has no jansson attributes, so it can be written at exit by a
 * thread that never started the sink.  Sink thread, or the exiting thread.
 */
#ifndef AT_SPAN_H
#define AT_SPAN_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "decode/buf.h"
#include "sink/writer.h"

/* The process this library runs in, as the trace sees it. */
typedef struct at_proc {
    unsigned char trace_id[16];
    uint64_t span_id;         /* the process span */
    uint64_t parent_span_id;  /* 0: a root span */
    int traced_parent;        /* started by a traced process */
    pid_t pid, ppid;
    uint64_t start_wall_ns;   /* CLOCK_REALTIME at start */
    uint64_t start_mono_ns;   /* CLOCK_MONOTONIC at the same moment */
    /* filled by at_proc_describe */
    int described;
    /* written once by at_span_line for the process it is made for (trace,
     * pid, ppid; at_proc_describe starts it afresh): the line's constant
     * pieces, `"trace_id":"<hex>"` and `,"resource":{...}` */
    int cache_state;          /* 0: none, 1: made, 2: resource too long */
    unsigned char cache_trace[16];
    pid_t cache_pid, cache_ppid;
    char trace_hex[33];
    size_t resource_len;
    /* The strings last, in the order they are filled: a process that
     * never calls a model touches only the fields above and the start of
     * exe, service and cmdline, all on one page or two
     * (preload/layout.h). */
    char exe[256];            /* process.executable.name */
    char service[256];        /* service.name: the script for interpreters */
    char cmdline[4096];       /* process.command_line, args joined by ' ' */
    char resource[6144];
} at_proc;

/* at_proc_describe: read /proc/self/cmdline into exe, service, cmdline
 * (once; later calls do nothing).  Never fails: unknown stays "".  Calls
 * no stdio and allocates nothing.  at_proc_describe_args: the same from
 * the process's argv as it started (the library constructor's arguments:
 * the command that launched the process, with no system call), or from
 * /proc when there is none. */
void at_proc_describe(at_proc *p);
void at_proc_describe_args(at_proc *p, int argc, char *const *argv);

/* at_proc_wall: wall-clock ns of monotonic instant `mono`. */
uint64_t at_proc_wall(const at_proc *p, uint64_t mono);

enum { AT_STATUS_UNSET = 0, AT_STATUS_OK, AT_STATUS_ERROR };

typedef struct at_span {
    uint64_t span_id;
    uint64_t parent_id;       /* 0: root */
    const char *name;
    int client;               /* kind "client", else "internal" */
    uint64_t start_mono, end_mono;
    int status;               /* AT_STATUS_* */
    const char *status_message;  /* with AT_STATUS_ERROR; may be NULL */
    json_t *attrs;            /* borrowed; may be NULL */
    const struct at_attrs *list; /* borrowed: the attributes as a flat
                                    list (decode/attrs.h); when not NULL,
                                    written instead of attrs */
} at_span;

/* at_span_line: append one span line (with its '\n') to `out`.  Returns 0,
 * or -1 when the attributes could not be serialised (out is then left as it
 * was). */
int at_span_line(at_buf *out, const at_proc *p, const at_span *s);

/* at_span_process_line: append this process's span line: invoke_agent when
 * `agent` (it made an inference call, or has no traced parent), else
 * "process <exe>".  `agent_name` overrides gen_ai.agent.name when not "".
 * exit_code < 0: unknown. */
void at_span_process_line(at_buf *out, at_proc *p, const char *agent_name,
                          int agent, uint64_t end_mono, int exit_code);

/* at_span_process_write: the same line written alone to `path`, made
 * without allocating: on the stack, or for a long command line in a
 * static buffer (one writer a process: the shim when no sink ran, else
 * the sink when its lines buffer cannot grow).  0 when written; -1 when
 * it could not be made or written (*st counts a failed write). */
int at_span_process_write(const char *path, at_proc *p,
                          const char *agent_name, int agent,
                          uint64_t end_mono, int exit_code,
                          at_writer_stats *st);

#endif
