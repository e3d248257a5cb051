/* shim.h - the shim's life: state, activation, capture, fork and exit.
 *
 * The state word tells every hook what to do:
 *
 *   AT_OFF      disabled, not yet initialised, or finished: pass through
 *   AT_IDLE     initialised; nothing captured yet (no ring, no thread)
 *   AT_RUNNING  ring mapped and sink thread running: capture
 *
 * The first connection worth capturing activates the shim (maps the ring,
 * starts the sink thread), so a process that never speaks TLS pays only for
 * loading the library and writing its process span at exit.
 */
#ifndef AT_SHIM_H
#define AT_SHIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "ring.h"

enum { AT_OFF = 0, AT_IDLE, AT_STARTING, AT_RUNNING };

extern _Atomic int at_state;

/* Set while this thread is inside a hook (or is the sink thread): nested
 * hooked calls pass straight through. */
extern __thread int at_in_hook __attribute__((tls_model("initial-exec")));

/* Above zero while libcurl runs a transfer on this thread: the libcurl
 * hooks capture it, so the OpenSSL and socket hooks stay out of the way. */
extern __thread int at_in_curl __attribute__((tls_model("initial-exec")));

/* at_shim_activate: make the shim AT_RUNNING if it is AT_IDLE.  Returns 1
 * when running (now or already), 0 when capture is off or activation
 * failed.  Host threads; once per process (and once per forked child). */
int at_shim_activate(void);

/* at_capture_open: push the OPEN record of connection slot `i`, stamped
 * `t` (CLOCK_MONOTONIC; 0: now). */
void at_capture_open(int i, uint8_t transport, const at_open_info *info,
                     uint64_t t);

/* at_capture_data: account `n` bytes in direction `dir` (0 out, 1 in) of
 * the connection in slot `i`, and copy them into the ring unless the sink
 * advised otherwise.  Never blocks; a full ring drops the bytes, which the
 * sink sees as a gap in the stream offsets. */
void at_capture_data(int i, int dir, uint8_t transport, const void *buf,
                     size_t n);

/* at_capture_event: push an EOF, ERR (arg = errno) or CLOSE record. */
void at_capture_event(int i, int kind, uint8_t transport, uint64_t arg);

/* at_shim_main_started: main is about to run: register the exit handler
 * (from here it runs before the libraries' destructors). */
void at_shim_main_started(void);

/* at_shim_exiting: _exit(status) is about to end this process: write what
 * is left, unless this is a vfork child. */
void at_shim_exiting(int status);

/* at_shim_before_fork: fork() is called: make sure the shim's fork
 * handlers are registered (once per process; not at start, which would
 * cost every process that never forks libc's registration, two page
 * faults).  Host threads. */
void at_shim_before_fork(void);

#endif
