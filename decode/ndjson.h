/* ndjson.h - incremental line splitter for NDJSON (application/x-ndjson,
 * JSON Lines): Ollama's streamed responses, one JSON value per line.
 *
 * Lines end in LF; a CR before the LF is dropped (CRLF).  A leading UTF-8
 * BOM is skipped.  Lines holding only blanks (SP, HTAB, CR) are skipped.
 * A line longer than `max_line` bytes cannot be parsed once cut, so it is
 * not handed on: it is counted in `oversized` and dropped.  The last line
 * of a stream may lack its LF: at_ndjson_finish hands it on.  Sink thread
 * only: it allocates.
 */
#ifndef AT_NDJSON_H
#define AT_NDJSON_H

#include <stddef.h>
#include "buf.h"

/* Called once per line, without its line end; `line` is NUL-terminated
 * and valid only during the call. */
typedef void (*at_ndjson_cb)(void *ud, const char *line, size_t len);

typedef struct at_ndjson {
    at_buf line;              /* private: the current, unfinished line */
    int bom_checked;          /* private: BOM bytes matched, 3 when done */
    size_t max_line;          /* a line longer than this is dropped */
    unsigned long lines;      /* lines handed on so far */
    unsigned long oversized;  /* lines dropped for their length */
} at_ndjson;

/* at_ndjson_init: a splitter for lines of at most `max_line` bytes (line
 * end not counted).  Never fails; allocates nothing yet. */
void at_ndjson_init(at_ndjson *p, size_t max_line);

/* at_ndjson_feed: feed the next `len` bytes (split anywhere: inside a
 * line, between CR and LF); calls `cb` (may be NULL) for every line they
 * complete.  Returns 0, or -1 if memory ran out (the line being built is
 * then dropped as oversized; the splitter stays usable). */
int at_ndjson_feed(at_ndjson *p, const char *buf, size_t len,
                   at_ndjson_cb cb, void *ud);

/* at_ndjson_finish: the stream ended: hand on a last line that had no LF
 * (if it is not blank).  The splitter is empty afterwards and may be fed
 * again as a new stream.  Returns 0. */
int at_ndjson_finish(at_ndjson *p, at_ndjson_cb cb, void *ud);

/* at_ndjson_free: release the splitter's memory (it is then empty and may
 * be used again). */
void at_ndjson_free(at_ndjson *p);

#endif
