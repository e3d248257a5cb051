/* jw.c - JSON text writer (see jw.h).  Sink thread, and the exiting thread
 * when no sink thread ever started. */
#include "jw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void at_jw_raw(at_buf *b, const char *s)
{
    at_buf_append(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void at_jw_str(at_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    char esc[8];

    at_buf_append(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t k;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            i++;
            continue;
        }
        if (c >= 0x80 && (k = utf8_len(p + i, n - i)) > 0) {
            run += k;
            i += k;
            continue;
        }
        at_buf_append(b, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': at_buf_append(b, "\\\"", 2); break;
        case '\\': at_buf_append(b, "\\\\", 2); break;
        case '\n': at_buf_append(b, "\\n", 2); break;
        case '\r': at_buf_append(b, "\\r", 2); break;
        case '\t': at_buf_append(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                at_buf_append(b, esc, 6);
            } else {
                at_buf_append(b, "\xEF\xBF\xBD", 3);  /* U+FFFD */
            }
        }
        i++;
    }
    at_buf_append(b, s + i - run, run);
    at_buf_append(b, "\"", 1);
}

void at_jw_cstr(at_buf *b, const char *s)
{
    at_jw_str(b, s, strlen(s));
}

void at_jw_key(at_buf *b, const char *k, int first)
{
    if (!first)
        at_buf_append(b, ",", 1);
    at_jw_cstr(b, k);
    at_buf_append(b, ":", 1);
}

void at_jw_u64(at_buf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

    at_buf_append(b, tmp, (size_t)n);
}

void at_jw_i64(at_buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

    at_buf_append(b, tmp, (size_t)n);
}
