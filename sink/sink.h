/* sink.h - the sink: capture records in, span lines out.
 *
 * Runs on the sink thread only (or, in tests, on the test's thread).  It
 * takes the records of the capture ring one at a time, reassembles each
 * connection's byte streams into HTTP exchanges, decodes model API calls,
 * infers execute_tool spans from tool-call ids, and writes finished spans to
 * the JSONL file.  Nothing in it blocks on anything but the output file.
 */
#ifndef AT_SINK_H
#define AT_SINK_H

#include <stdint.h>

#include "preload/ring.h"
#include "sink/span.h"
#include "sink/writer.h"

typedef struct at_sink_opts {
    at_proc *proc;            /* the process; its span closes the file */
    const char *output;       /* JSONL path */
    const char *agent_name;   /* AGENTTRACE_AGENT_NAME or "" */
    int capture_content;
    uint64_t max_body;
    /* Tell the hooks to skip input of connection `conn` (slot `slot`)
     * below offset `until` (UINT64_MAX: ignore the connection).  May be
     * NULL. */
    void (*advise)(void *ud, int slot, uint64_t conn, uint64_t until);
    /* Children started from now on belong under span `span` (0: the
     * process span).  May be NULL. */
    void (*set_current)(void *ud, uint64_t span);
    void *ud;
} at_sink_opts;

typedef struct at_sink at_sink;

typedef struct at_sink_stats {
    uint64_t records;
    uint64_t spans;          /* span lines produced */
    uint64_t exchanges;      /* HTTP exchanges completed */
    uint64_t desyncs;        /* connections that lost bytes */
    uint64_t ignored;        /* connections found to be of no interest */
    at_writer_stats writer;
} at_sink_stats;

/* at_sink_new: NULL on allocation failure.  `o` is copied; the strings and
 * proc it points to must outlive the sink. */
at_sink *at_sink_new(const at_sink_opts *o);

/* at_sink_record: consume one record.  `payload` holds h->len bytes and
 * may be modified (decoders work in place). */
void at_sink_record(at_sink *s, const at_rec_hdr *h, void *payload);

/* at_sink_flush: write the span lines produced so far. */
void at_sink_flush(at_sink *s);

/* at_sink_finish: the process is exiting at monotonic time `now`: end what
 * is in flight (exchanges as truncated, open tool spans with status unset),
 * then write the process span last.  exit_code < 0: unknown.  The sink
 * accepts nothing afterwards. */
void at_sink_finish(at_sink *s, uint64_t now, int exit_code);

/* at_sink_stats_get: counters so far. */
void at_sink_stats_get(const at_sink *s, at_sink_stats *st);

/* at_sink_del: free everything (NULL is fine). */
void at_sink_del(at_sink *s);

#endif
