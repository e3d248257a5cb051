/* input.h - spans from a file or stdin: the reader and the parser
 * together, with the lines that are not spans counted and reported once,
 * on one line of stderr.  Runs in the inspector's own process. */
#ifndef AT_CLI_INPUT_H
#define AT_CLI_INPUT_H

#include <stdint.h>

#include "cli/reader.h"
#include "cli/span.h"
#include "cli/util.h"

typedef struct at_cli_input {
    at_cli_reader r;
    uint64_t spans;      /* spans returned */
    uint64_t bad;        /* lines skipped: not a span */
    uint64_t blank;      /* empty lines (not counted as bad) */
    char first_bad[200]; /* "line 7: not JSON: ..." */
    char last_bad[200];
    at_cli_buf scratch;  /* at_cli_input_next_lite's strings */
} at_cli_input;

/* at_cli_input_open: open `path` ("-": stdin).  On failure prints
 * "agenttrace: PATH: <strerror>" and returns -1. */
int at_cli_input_open(at_cli_input *in, const char *path, int follow);
void at_cli_input_close(at_cli_input *in);

/* at_cli_input_next: the next span into *s (free it with
 * at_cli_span_free).  Returns 1, 0 at the end (follow mode: nothing new
 * yet), or -1 on a read error (printed). */
int at_cli_input_next(at_cli_input *in, at_cli_span *s);

/* at_cli_input_next_lite: the same through at_cli_span_scan: no JSON
 * objects, strings valid until the next call; for the views that only
 * read the span's summary (tree, stats). */
int at_cli_input_next_lite(at_cli_input *in, at_cli_span *s);

/* at_cli_input_report: when lines were skipped, print one line on stderr
 * saying how many and why.  Returns 1 when the input held no span at all
 * but did hold lines that were not spans (bad input: the caller exits
 * non-zero), else 0. */
int at_cli_input_report(at_cli_input *in);

#endif
