/* ndjson.c - incremental NDJSON line splitter (see ndjson.h).
 *
 * Runs on the sink thread only: it allocates, through at_buf.  The lines
 * handed on do not depend on where the input was split.
 */
#include "ndjson.h"

#include <stdint.h>
#include <string.h>

/* The UTF-8 byte order mark, skipped at the very start of a stream;
 * BOM_DONE: the start is behind us. */
static const unsigned char ndjson_bom[3] = {0xEF, 0xBB, 0xBF};
#define BOM_DONE 3

void at_ndjson_init(at_ndjson *p, size_t max_line)
{
    memset(p, 0, sizeof(*p));
    /* one byte more: the CR of a CRLF, dropped when the line ends */
    at_buf_init(&p->line, max_line < SIZE_MAX ? max_line + 1 : max_line);
    p->max_line = max_line;
}

/* is_blank: whether the n bytes of s are all SP, HTAB or CR. */
static int is_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* end_line: the line held in p->line is complete: hand it on (without a
 * trailing CR) unless it is blank or was cut; start the next. */
static void end_line(at_ndjson *p, at_ndjson_cb cb, void *ud)
{
    size_t n = p->line.len;

    if (n > 0 && !p->line.truncated && p->line.p[n - 1] == '\r')
        p->line.p[--n] = '\0';
    if (p->line.truncated || n > p->max_line) {
        p->oversized++;
    } else if (n > 0 && !is_blank(p->line.p, n)) {
        p->lines++;
        if (cb != NULL)
            cb(ud, p->line.p, n);
    }
    at_buf_reset(&p->line);
}

int at_ndjson_feed(at_ndjson *p, const char *buf, size_t len,
                   at_ndjson_cb cb, void *ud)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    int rc = 0;

    /* the BOM, possibly split over several feeds */
    while (p->bom_checked < BOM_DONE && i < len) {
        if (s[i] == ndjson_bom[p->bom_checked]) {
            p->bom_checked++;
            i++;
            continue;
        }
        /* not a BOM after all: the bytes matched so far are content */
        if (p->bom_checked > 0 &&
            at_buf_append(&p->line, ndjson_bom, (size_t)p->bom_checked) < 0)
            rc = -1;
        p->bom_checked = BOM_DONE;
    }
    while (i < len) {
        const unsigned char *lf = memchr(s + i, '\n', len - i);
        size_t j = lf != NULL ? (size_t)(lf - s) : len;

        /* past the limit the buffer only counts what it drops */
        if (j > i && at_buf_append(&p->line, s + i, j - i) < 0)
            rc = -1;
        if (lf == NULL)
            break;
        end_line(p, cb, ud);
        i = j + 1;
    }
    return rc;
}

int at_ndjson_finish(at_ndjson *p, at_ndjson_cb cb, void *ud)
{
    end_line(p, cb, ud);
    p->bom_checked = 0;
    return 0;
}

void at_ndjson_free(at_ndjson *p)
{
    at_buf_free(&p->line);
    p->bom_checked = 0;
}
