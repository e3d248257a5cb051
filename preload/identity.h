/* identity.h - who this process is in the trace, and what its children
 * inherit.
 *
 * A traced process exports AGENTTRACE_CONTEXT to the processes it starts:
 *
 *   <trace id>-<current span>-<own span>-<parent span>-<pid>-<start ns>
 *
 * "current span" is the span a child started now should hang under (the
 * process span, or an open execute_tool span); the sink keeps it up to date
 * in place.  A new process whose pid differs from <pid> is a child: its
 * parent is <current span>.  One whose pid equals <pid> is the same process
 * after exec (fork then exec): it keeps <own span>, <parent span> and
 * <start ns>, so the process span it writes is the one its fork announced.
 * Without a context, AGENTTRACE_TRACEPARENT or TRACEPARENT (W3C) names the
 * trace and parent to join; else a new trace starts.
 */
#ifndef AT_IDENTITY_H
#define AT_IDENTITY_H

#include <stdint.h>
#include <sys/types.h>
#include "sink/span.h"

extern at_proc at_self;

/* at_identity_init: decide this process's identity and export the context.
 * Library constructor. */
void at_identity_init(void);

/* Fork (preload/shim.c's handlers).  at_identity_fork_prepare: in the
 * parent before fork, `now_mono` the time.  at_identity_fork_child: in the
 * child; it only notes that the child is one.  at_identity_settle: a fork
 * child's own identity (new pid, a new span under the parent's current
 * span, same trace), made the first time it is needed: at exit, when the
 * child starts its sink, or forks in turn.  Does nothing in any other
 * process, nor in a vfork child (whose memory is its parent's). */
void at_identity_fork_prepare(uint64_t now_mono);
void at_identity_fork_child(pid_t pid);
void at_identity_settle(void);

/* at_identity_adopt: at_identity_settle, and a process whose pid is not
 * at_self's is taken for a fork child whose handler did not run.  For a
 * process about to capture (never a vfork child).  Returns the pid. */
pid_t at_identity_adopt(void);

/* at_identity_set_current: children started from now on hang under span
 * `span_id` (0: the process span).  Sink thread. */
void at_identity_set_current(uint64_t span_id);

/* at_identity_current: the span children hang under now. */
uint64_t at_identity_current(void);

#endif
