/* input.c - spans from a file or stdin, skipped lines counted.  Runs in
 * the inspector's own process. */
#include "cli/input.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/scan.h"
#include "cli/util.h"

int at_cli_input_open(at_cli_input *in, const char *path, int follow)
{
    memset(in, 0, sizeof(*in));
    if (at_cli_reader_open(&in->r, path, follow) < 0) {
        at_cli_err("%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void at_cli_input_close(at_cli_input *in)
{
    at_cli_reader_close(&in->r);
    at_cli_buf_free(&in->scratch);
}

static void note_bad(at_cli_input *in, const char *why)
{
    char *dst = in->bad == 0 ? in->first_bad : in->last_bad;

    snprintf(dst, sizeof(in->first_bad), "line %llu: %s",
             (unsigned long long)in->r.lineno, why);
    in->bad++;
}

static int next(at_cli_input *in, at_cli_span *s, int lite)
{
    char err[160];

    for (;;) {
        char *line;
        size_t len, i;
        int complete;
        int rc = at_cli_reader_next(&in->r, &line, &len, &complete);

        if (rc == AT_CLI_END)
            return 0;
        if (rc == AT_CLI_ERROR) {
            at_cli_err("%s: %s", in->r.path, strerror(errno));
            return -1;
        }
        if (rc == AT_CLI_TOOLONG) {
            note_bad(in, "longer than 512 MiB");
            continue;
        }
        for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' ||
                                line[i] == '\r');
             i++)
            ;
        if (i == len) {
            in->blank++;
            continue;
        }
        if ((lite ? at_cli_span_scan(line, len, s, &in->scratch, err,
                                     sizeof(err))
                  : at_cli_span_parse(line, len, s, err, sizeof(err))) == 0) {
            in->spans++;
            return 1;
        }
        if (!complete) {
            note_bad(in, "cut off mid-line (no newline at the end)");
            continue;
        }
        note_bad(in, err);
    }
}

int at_cli_input_next(at_cli_input *in, at_cli_span *s)
{
    return next(in, s, 0);
}

int at_cli_input_next_lite(at_cli_input *in, at_cli_span *s)
{
    return next(in, s, 1);
}

int at_cli_input_report(at_cli_input *in)
{
    if (in->bad == 0)
        return 0;
    if (in->bad == 1)
        at_cli_err("%s: skipped 1 line that is not a span (%s)", in->r.path,
                   in->first_bad);
    else
        at_cli_err("%s: skipped %llu lines that are not spans (%s; ...; %s)",
                   in->r.path, (unsigned long long)in->bad, in->first_bad,
                   in->last_bad);
    return in->spans == 0 ? 1 : 0;
}
