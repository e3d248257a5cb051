/* util.c - diagnostics, buffers, string pool, arena and formatting for the
 * agenttrace inspector.  Runs in the inspector's own process. */
#include "cli/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void at_cli_err(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("agenttrace: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void oom(void)
{
    fputs("agenttrace: out of memory\n", stderr);
    exit(3);
}

void *at_cli_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom();
    return p;
}

void *at_cli_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        oom();
    return p;
}

void *at_cli_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        oom();
    return q;
}

char *at_cli_xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = at_cli_xmalloc(n + 1);

    memcpy(p, s, n + 1);
    return p;
}

/* ------------------------------------------------------------- buffer */

void at_cli_buf_init(at_cli_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void at_cli_buf_free(at_cli_buf *b)
{
    free(b->data);
    at_cli_buf_init(b);
}

void at_cli_buf_reset(at_cli_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static void buf_reserve(at_cli_buf *b, size_t more)
{
    size_t need = b->len + more + 1;

    if (need <= b->cap)
        return;
    if (need < b->len)
        oom();
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = at_cli_xrealloc(b->data, cap);
    b->cap = cap;
}

void at_cli_buf_add(at_cli_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void at_cli_buf_puts(at_cli_buf *b, const char *s)
{
    at_cli_buf_add(b, s, strlen(s));
}

void at_cli_buf_putc(at_cli_buf *b, char c)
{
    at_cli_buf_add(b, &c, 1);
}

void at_cli_buf_vprintf(at_cli_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void at_cli_buf_printf(at_cli_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    at_cli_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* -------------------------------------------------------------- arena */

struct at_cli_chunk {
    struct at_cli_chunk *next;
    size_t size;
    char data[];
};

#define ARENA_CHUNK ((size_t)64 << 10)

void at_cli_arena_init(at_cli_arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->total = 0;
}

void at_cli_arena_free(at_cli_arena *a)
{
    struct at_cli_chunk *c = a->head, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    at_cli_arena_init(a);
}

char *at_cli_arena_strndup(at_cli_arena *a, const char *s, size_t n)
{
    char *p;

    if (a->head == NULL || a->head->size - a->used < n + 1) {
        size_t size = n + 1 > ARENA_CHUNK ? n + 1 : ARENA_CHUNK;
        struct at_cli_chunk *c = at_cli_xmalloc(sizeof(*c) + size);

        c->size = size;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->total += size;
    }
    p = a->head->data + a->used;
    memcpy(p, s, n);
    p[n] = '\0';
    a->used += n + 1;
    return p;
}

/* --------------------------------------------------------------- pool */

uint64_t at_cli_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void at_cli_pool_init(at_cli_pool *p)
{
    p->cap = 256;
    p->count = 0;
    p->slots = at_cli_xcalloc(p->cap, sizeof(*p->slots));
    at_cli_arena_init(&p->arena);
}

void at_cli_pool_free(at_cli_pool *p)
{
    free(p->slots);
    p->slots = NULL;
    p->cap = p->count = 0;
    at_cli_arena_free(&p->arena);
}

static void pool_grow(at_cli_pool *p)
{
    size_t cap = p->cap * 2, i;
    char **slots = at_cli_xcalloc(cap, sizeof(*slots));

    for (i = 0; i < p->cap; i++) {
        char *s = p->slots[i];
        size_t j;

        if (s == NULL)
            continue;
        j = at_cli_hash(s, strlen(s)) & (cap - 1);
        while (slots[j] != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = s;
    }
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
}

const char *at_cli_pool_get(at_cli_pool *p, const char *s)
{
    size_t n, j;

    if (s == NULL)
        return NULL;
    if ((p->count + 1) * 4 > p->cap * 3)
        pool_grow(p);
    n = strlen(s);
    j = at_cli_hash(s, n) & (p->cap - 1);
    while (p->slots[j] != NULL) {
        if (strcmp(p->slots[j], s) == 0)
            return p->slots[j];
        j = (j + 1) & (p->cap - 1);
    }
    p->slots[j] = at_cli_arena_strndup(&p->arena, s, n);
    p->count++;
    return p->slots[j];
}

/* ---------------------------------------------------------------- hex */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int at_cli_hex_to_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n != 16)
        return -1;
    for (i = 0; i < n; i++) {
        int d = hexval((unsigned char)s[i]);

        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

void at_cli_u64_to_hex(uint64_t v, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    int i;

    for (i = 15; i >= 0; i--) {
        out[i] = digits[v & 15];
        v >>= 4;
    }
    out[16] = '\0';
}

/* --------------------------------------------------------- formatting */

void at_cli_fmt_seconds(double s, char *out, size_t n)
{
    if (!(s >= 0) || isinf(s))
        snprintf(out, n, "-");
    else if (s < 1e-3)
        snprintf(out, n, "%.0f us", s * 1e6);
    else if (s < 1.0)
        snprintf(out, n, "%.1f ms", s * 1e3);
    else if (s < 60.0)
        snprintf(out, n, "%.2f s", s);
    else if (s < 3600.0)
        snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60.0));
    else
        snprintf(out, n, "%dh%02dm", (int)(s / 3600),
                 (int)fmod(s / 60.0, 60.0));
}

void at_cli_fmt_duration(int64_t ns, char *out, size_t n)
{
    at_cli_fmt_seconds(ns < 0 ? 0.0 : (double)ns / 1e9, out, n);
}

void at_cli_fmt_cost(double usd, char *out, size_t n)
{
    if (!(usd >= 0))
        snprintf(out, n, "-");
    else if (usd == 0)
        snprintf(out, n, "$0");
    else if (usd >= 0.01)
        snprintf(out, n, "$%.2f", usd);
    else if (usd >= 0.0001)
        snprintf(out, n, "$%.4f", usd);
    else
        snprintf(out, n, "$%.6f", usd);
}

void at_cli_fmt_time(int64_t ns, char *out, size_t n)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    char day[32];

    if (ns < 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, n, "?");
        return;
    }
    strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, n, "%s.%03d UTC", day, (int)(ns / 1000000 % 1000));
}

size_t at_cli_utf8_width(const char *s, size_t n)
{
    size_t w = 0, i;

    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

/* utf8_len: bytes of the UTF-8 sequence starting with byte c (1 for a
 * stray continuation or invalid lead byte). */
static size_t utf8_len(unsigned char c)
{
    if (c < 0xC0)
        return 1;
    if (c < 0xE0)
        return 2;
    if (c < 0xF0)
        return 3;
    if (c < 0xF8)
        return 4;
    return 1;
}

void at_cli_oneline(at_cli_buf *b, const char *s, size_t n, size_t width)
{
    size_t i = 0, cols = 0, mark = b->len;
    int space = 0; /* a squeezed space is pending */

    if (width == 0)
        return;
    while (i < n && ((unsigned char)s[i] <= ' ' || s[i] == 0x7f))
        i++;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len;

        if (c <= ' ' || c == 0x7f) {
            space = 1;
            i++;
            continue;
        }
        len = utf8_len(c);
        if (i + len > n)
            len = n - i;
        if (cols + (size_t)space + 1 > width) {
            /* One column too many: cut back to width - 1, add "…". */
            b->len = mark;
            b->data[b->len] = '\0';
            at_cli_buf_puts(b, "\xe2\x80\xa6");
            return;
        }
        if (space) {
            at_cli_buf_putc(b, ' ');
            cols++;
            space = 0;
            if (cols == width - 1)
                mark = b->len;
        }
        if (len == 1 && c >= 0x80)
            at_cli_buf_putc(b, '?');
        else
            at_cli_buf_add(b, s + i, len);
        cols++;
        if (cols == width - 1)
            mark = b->len;
        i += len;
    }
}

char *at_cli_json_string(const json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags | JSON_ENCODE_ANY);

    if (s == NULL)
        oom();
    return s;
}

void at_cli_json_oneline(at_cli_buf *b, const json_t *v, size_t width)
{
    char *s;

    if (v == NULL)
        return;
    if (json_is_string(v)) {
        at_cli_oneline(b, json_string_value(v), json_string_length(v),
                       width);
        return;
    }
    s = at_cli_json_string(v, JSON_COMPACT);
    at_cli_oneline(b, s, strlen(s), width);
    free(s);
}

int at_cli_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int64_t at_cli_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t at_cli_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
