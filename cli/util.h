/* util.h - small helpers shared by the agenttrace inspector's modules:
 * diagnostics, a growable buffer, a string pool, an arena, and the
 * formatting every view uses (durations, costs, one-line summaries).
 * Runs in the inspector's own process, single-threaded. */
#ifndef AT_CLI_UTIL_H
#define AT_CLI_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define AT_CLI_VERSION "0.1.0"

/* at_cli_err: print "agenttrace: <message>\n" on stderr.  Never fails. */
void at_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* at_cli_xmalloc / at_cli_xrealloc / at_cli_xstrdup: allocate or print
 * "agenttrace: out of memory" and exit(3).  Never return NULL. */
void *at_cli_xmalloc(size_t n);
void *at_cli_xcalloc(size_t n, size_t size);
void *at_cli_xrealloc(void *p, size_t n);
char *at_cli_xstrdup(const char *s);

/* A growable byte buffer; `data` is always NUL-terminated once anything
 * was appended.  Embedded: _init/_free. */
typedef struct at_cli_buf {
    char *data;
    size_t len;
    size_t cap;
} at_cli_buf;

void at_cli_buf_init(at_cli_buf *b);
void at_cli_buf_free(at_cli_buf *b);
void at_cli_buf_reset(at_cli_buf *b);
void at_cli_buf_add(at_cli_buf *b, const void *p, size_t n);
void at_cli_buf_puts(at_cli_buf *b, const char *s);
void at_cli_buf_putc(at_cli_buf *b, char c);
void at_cli_buf_printf(at_cli_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void at_cli_buf_vprintf(at_cli_buf *b, const char *fmt, va_list ap);

/* An arena: many small copies freed at once.  Embedded: _init/_free. */
typedef struct at_cli_arena {
    struct at_cli_chunk *head;
    size_t used; /* bytes used in head */
    size_t total; /* bytes held, all chunks */
} at_cli_arena;

void at_cli_arena_init(at_cli_arena *a);
void at_cli_arena_free(at_cli_arena *a);
/* at_cli_arena_strndup: a NUL-terminated copy of s[0..n) in the arena. */
char *at_cli_arena_strndup(at_cli_arena *a, const char *s, size_t n);

/* A string pool: equal strings share one copy (names, models, tools repeat
 * across a file).  Embedded: _init/_free. */
typedef struct at_cli_pool {
    char **slots;
    size_t cap; /* power of two */
    size_t count;
    at_cli_arena arena;
} at_cli_pool;

void at_cli_pool_init(at_cli_pool *p);
void at_cli_pool_free(at_cli_pool *p);
/* at_cli_pool_get: the pooled copy of s (NULL for NULL).  The pointer lives
 * until _free. */
const char *at_cli_pool_get(at_cli_pool *p, const char *s);

/* at_cli_hash: FNV-1a over n bytes. */
uint64_t at_cli_hash(const void *p, size_t n);

/* at_cli_hex_to_u64: parse exactly 16 hex digits (either case) into *out.
 * Returns 0, or -1 for anything else. */
int at_cli_hex_to_u64(const char *s, size_t n, uint64_t *out);
void at_cli_u64_to_hex(uint64_t v, char out[17]);

/* at_cli_fmt_duration: "812 us", "2.5 ms", "1.24 s", "2m03s" into out. */
void at_cli_fmt_duration(int64_t ns, char *out, size_t n);
/* at_cli_fmt_seconds: the same for a duration in seconds (double). */
void at_cli_fmt_seconds(double s, char *out, size_t n);
/* at_cli_fmt_cost: "$1.23", "$0.0042", "$0.000005". */
void at_cli_fmt_cost(double usd, char *out, size_t n);
/* at_cli_fmt_time: wall-clock ns as "2025-11-22 03:57:29.014 UTC". */
void at_cli_fmt_time(int64_t ns, char *out, size_t n);

/* at_cli_utf8_width: how many terminal columns s[0..n) takes (one per code
 * point; a rough but safe measure). */
size_t at_cli_utf8_width(const char *s, size_t n);

/* at_cli_oneline: append to b at most `width` columns of s[0..n) with
 * newlines, tabs and control characters shown as one space each, runs of
 * whitespace squeezed, and "…" when cut.  Never splits a UTF-8 sequence. */
void at_cli_oneline(at_cli_buf *b, const char *s, size_t n, size_t width);

/* at_cli_json_oneline: a JSON value summarised on one line of at most
 * `width` columns: strings as their text, everything else as compact
 * JSON. */
void at_cli_json_oneline(at_cli_buf *b, const json_t *v, size_t width);

/* at_cli_json_string: compact JSON of v, malloc'd (never NULL). */
char *at_cli_json_string(const json_t *v, size_t flags);

/* at_cli_parse_i64: parse a whole decimal integer; 0 or -1. */
int at_cli_parse_i64(const char *s, int64_t *out);

/* at_cli_now_ns: CLOCK_REALTIME in ns; at_cli_mono_ns: CLOCK_MONOTONIC. */
int64_t at_cli_now_ns(void);
int64_t at_cli_mono_ns(void);

#endif
