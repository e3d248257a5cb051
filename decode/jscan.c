/* jscan.c - validating, allocation-free JSON scanner (see jscan.h). */
#include "jscan.h"
#include "jmemo.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What a byte means inside a string: 0 plain ASCII, 1 the closing quote,
 * 2 a backslash, 3 a control character (refused), 4 a UTF-8 lead or stray
 * byte (checked on its own). */
static const unsigned char str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* The escapes of two bytes: the byte after the backslash. */
static const unsigned char short_escape[256] = {
    ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1,
    ['r'] = 1, ['t'] = 1,
};

static inline const char *skip_ws(const char *p, const char *end)
{
    /* the common cases first: no blank (a blank is a byte <= ' '), or the
     * one space Python's json.dumps writes after ',' and ':' */
    if (p < end && (unsigned char)*p > ' ')
        return p;
    if (end - p >= 2 && *p == ' ' && (unsigned char)p[1] > ' ')
        return p + 1;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

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

/* hex4: the value of 4 hex digits at p (p + 4 <= end checked by caller),
 * or -1. */
static long hex4(const char *p)
{
    long v = 0;
    int i, d;

    for (i = 0; i < 4; i++) {
        d = hexval((unsigned char)p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* utf8_seq: the length of the valid UTF-8 sequence at p (before end), as
 * jansson checks it (no overlongs, no surrogates, nothing past U+10FFFF),
 * or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t len, i;
    unsigned long cp;

    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* escape: check the escape at p (p[0] == '\\'); the position after it, or
 * NULL.  A high surrogate must be followed by an escaped low one, a low
 * one may not stand alone (jansson's rules). */
static const char *escape(const char *p, const char *end)
{
    long u, lo;

    if (end - p < 2)
        return NULL;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        return p + 2;
    case 'u':
        break;
    default:
        return NULL;
    }
    if (end - p < 6 || (u = hex4(p + 2)) < 0)
        return NULL;
    if (u >= 0xDC00 && u <= 0xDFFF)
        return NULL;
    if (u < 0xD800 || u > 0xDBFF)
        return p + 6;
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
        (lo = hex4(p + 8)) < 0 || lo < 0xDC00 || lo > 0xDFFF)
        return NULL;
    return p + 12;
}

/* scan_string: p at the opening quote; the position after the closing
 * one, or NULL.  *esc is set when the string holds escapes. */
static const char *scan_string(const char *p, const char *end, int *esc)
{
    const unsigned char *s = (const unsigned char *)p + 1;
    const unsigned char *e = (const unsigned char *)end;

    for (;;) {
        size_t k;

#if defined(__SSE2__)
        /* 16 bytes at a time: a quote, a backslash, a control byte or a
         * byte >= 0x80 (below 0x20 as a signed byte) ends the run; a
         * two-byte escape (\\" \\n ..., the common ones in text that holds
         * JSON or lines) is stepped over without leaving the loop */
        while (e - s >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')))));
            unsigned i = 0;

            /* the block's two-byte escapes, one after another, without
             * loading it again (text that holds JSON has one every few
             * bytes) */
            while (m != 0) {
                i = (unsigned)__builtin_ctz(m);
                if (i == 15 || s[i] != '\\' || !short_escape[s[i + 1]])
                    break;   /* the last byte's escape: below */
                *esc = 1;
                m &= 0xFFFFFFFFu << (i + 2);
            }
            if (m == 0) {
                s += 16;
                continue;
            }
            s += i;
            if (*s == '\\' && e - s >= 2 && short_escape[s[1]]) {
                *esc = 1;
                s += 2;
                continue;
            }
            break;
        }
#endif
        while (e - s >= 4 && (str_class[s[0]] | str_class[s[1]] |
                              str_class[s[2]] | str_class[s[3]]) == 0)
            s += 4;
        while (s < e && str_class[*s] == 0)
            s++;
        if (s >= e)
            return NULL;
        switch (str_class[*s]) {
        case 1:
            return (const char *)s + 1;
        case 2:
            *esc = 1;
            s = (const unsigned char *)escape((const char *)s, end);
            if (s == NULL)
                return NULL;
            break;
        case 4:
            k = utf8_seq(s, e);
            if (k == 0)
                return NULL;
            s += k;
            break;
        default:
            return NULL;
        }
    }
}

/* scan_number: the position after the number at p, or NULL.  Numbers
 * that jansson could read differently (see jscan.h) fail. */
static const char *scan_number(const char *p, const char *end)
{
    const char *d;
    int real = 0;
    long expo = 0;
    size_t digits;

    if (p < end && *p == '-')
        p++;
    d = p;
    if (p < end && *p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    digits = (size_t)(p - d);
    if (digits == 0)
        return NULL;
    if (p < end && *p == '.') {
        real = 1;
        d = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        d = p;
        while (p < end && *p >= '0' && *p <= '9') {
            if (expo < 100000)
                expo = expo * 10 + (*p - '0');
            p++;
        }
        if (p == d)
            return NULL;
    }
    if (!real && digits > 18)
        return NULL; /* may overflow int64: jansson rereads everything */
    if (real && (expo + (long)digits > 300))
        return NULL; /* may overflow a double: jansson refuses */
    return p;
}

/* The scan under way: the text and the tokens written so far. */
typedef struct scan {
    const char *base, *end;
    at_js_tok *tok;
    uint32_t n, cap;
    at_jmemo *memo; /* the last body's elements, or NULL */
} scan;

/* token: a new token of `kind` starting at p, or -1 when full. */
static inline long token(scan *sc, const char *p, uint8_t kind)
{
    at_js_tok *t;

    if (sc->n == sc->cap)
        return -1;
    t = &sc->tok[sc->n];
    t->off = (uint32_t)(p - sc->base);
    t->kind = kind;
    t->esc = 0;
    t->key = 0;
    t->spare = 0;
    return (long)sc->n++;
}

/* finish: close token i, whose text ends at e. */
static inline const char *finish(scan *sc, long i, const char *e)
{
    if (e != NULL) {
        sc->tok[i].len = (uint32_t)(e - sc->base) - sc->tok[i].off;
        sc->tok[i].next = sc->n;
    }
    return e;
}

static const char *scan_value(scan *sc, const char *p, int depth);

/* memo_element: an element (at p, an object or an array) of an array at
 * depth 1, with a memo: the tokens of the kept element with the same
 * text, moved to where it is, else scanned (and kept when it may be met
 * again).  As scan_value. */
static const char *memo_element(scan *sc, const char *p, int depth)
{
    at_jmemo *m = sc->memo;
    long e = at_jm_match(m, p, sc->end);
    uint32_t t0 = sc->n, off = (uint32_t)(p - sc->base), k;
    const char *q;

    if (e >= 0) {
        const at_jm_ent *o = &m->ent[e];
        const at_js_tok *src = at_jm_toks(m, o);

        if (sc->cap - sc->n < o->ntok) {
            sc->n = sc->cap; /* out of tokens, as the scan would be */
            return NULL;
        }
        k = 0;
#if defined(__SSE2__)
        if (sizeof(at_js_tok) == 16 && offsetof(at_js_tok, off) == 0 &&
            offsetof(at_js_tok, next) == 8) {
            /* a token is 16 bytes: moved by one addition to its two
             * positions (the lanes of off and next) */
            const __m128i d = _mm_set_epi32(0, (int)t0, 0, (int)off);

            for (; k < o->ntok; k++)
                _mm_storeu_si128((__m128i *)(void *)&sc->tok[t0 + k],
                                 _mm_add_epi32(_mm_loadu_si128(
                                     (const __m128i *)(const void *)&src[k]),
                                               d));
        }
#endif
        for (; k < o->ntok; k++) {
            at_js_tok t = src[k];

            t.off += off;
            t.next += t0;
            sc->tok[t0 + k] = t;
        }
        sc->n += o->ntok;
        at_jm_scan_hits++;
        at_jm_note(m, e, t0, p, o->len, NULL, 0);
        return p + o->len;
    }
    q = scan_value(sc, p, depth + 1);
    if (q != NULL && q - p >= AT_JM_MIN_ELEM)
        at_jm_note(m, -1, t0, p, (uint32_t)(q - p), sc->tok + t0,
                   sc->n - t0);
    return q;
}

/* scan_container: p at '{' or '['; the position after its end, or NULL. */
static const char *scan_container(scan *sc, const char *p, int depth)
{
    const char *end = sc->end;
    int obj = *p == '{';
    char close = obj ? '}' : ']';
    long i = token(sc, p, obj ? AT_JS_OBJECT : AT_JS_ARRAY), k;
    int esc;

    if (i < 0 || depth >= AT_JS_MAX_DEPTH)
        return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close)
        return finish(sc, i, p + 1);
    for (;;) {
        if (obj) {
            if (p >= end || *p != '"' || (k = token(sc, p, AT_JS_STRING)) < 0)
                return NULL;
            esc = 0;
            sc->tok[k].key = 1;
            p = finish(sc, k, scan_string(p, end, &esc));
            if (p == NULL || esc)
                return NULL; /* a key spelled with escapes: jansson's */
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = skip_ws(p + 1, end);
        }
        if (!obj && depth == 1 && sc->memo != NULL && p < end &&
            (*p == '{' || *p == '['))
            p = memo_element(sc, p, depth);
        else
            p = scan_value(sc, p, depth + 1);
        if (p == NULL)
            return NULL;
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == close)
            return finish(sc, i, p + 1);
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
}

static const char *scan_value(scan *sc, const char *p, int depth)
{
    const char *end = sc->end;
    int esc = 0;
    long i;

    if (p >= end)
        return NULL;
    switch (*p) {
    case '{':
    case '[':
        return scan_container(sc, p, depth);
    case '"':
        if ((i = token(sc, p, AT_JS_STRING)) < 0)
            return NULL;
        p = finish(sc, i, scan_string(p, end, &esc));
        sc->tok[i].esc = (uint8_t)esc;
        return p;
    case 't':
        if ((i = token(sc, p, AT_JS_BOOL)) < 0)
            return NULL;
        return finish(sc, i, end - p >= 4 && memcmp(p, "true", 4) == 0
                                 ? p + 4 : NULL);
    case 'f':
        if ((i = token(sc, p, AT_JS_BOOL)) < 0)
            return NULL;
        return finish(sc, i, end - p >= 5 && memcmp(p, "false", 5) == 0
                                 ? p + 5 : NULL);
    case 'n':
        if ((i = token(sc, p, AT_JS_NULL)) < 0)
            return NULL;
        return finish(sc, i, end - p >= 4 && memcmp(p, "null", 4) == 0
                                 ? p + 4 : NULL);
    default:
        if ((i = token(sc, p, AT_JS_NUMBER)) < 0)
            return NULL;
        return finish(sc, i, scan_number(p, end));
    }
}

static int doc_scan(const char *p, size_t n, at_js_tok *tok, uint32_t cap,
                    at_js_doc_t *doc, at_js *out, at_jmemo *memo)
{
    scan sc;
    const char *s, *e;

    if (p == NULL || n >= UINT32_MAX)
        return 0;
    sc.base = p;
    sc.end = p + n;
    sc.tok = tok;
    sc.n = 0;
    sc.cap = cap;
    sc.memo = memo;
    doc->full = 0;
    doc->gen = 0;
    doc->memo = NULL;
    s = skip_ws(p, sc.end);
    e = scan_value(&sc, s, 0);
    if (e == NULL || skip_ws(e, sc.end) != sc.end) {
        doc->full = sc.n == sc.cap;
        return 0;
    }
    doc->text = p;
    doc->tok = tok;
    doc->ntok = sc.n;
    doc->cap = cap;
    out->p = s;
    out->n = (size_t)(e - s);
    out->doc = doc;
    out->i = 0;
    return 1;
}

int at_js_doc(const char *p, size_t n, at_js_tok *tok, uint32_t cap,
              at_js_doc_t *doc, at_js *out)
{
    return doc_scan(p, n, tok, cap, doc, out, NULL);
}

int at_js_doc_memo(const char *p, size_t n, at_js_tok *tok, uint32_t cap,
                   at_js_doc_t *doc, at_js *out, at_jmemo *memo)
{
    at_jm_begin(memo);
    if (!doc_scan(p, n, tok, cap, doc, out, memo))
        return 0;
    doc->memo = memo;
    at_jm_scanned(memo, doc);
    return 1;
}

/* ---- scanning against the shape of the document before -------------- */

int at_js_shape_keep(at_js_shape *sh, const at_js_doc_t *doc, size_t n)
{
    if (n > sh->text_cap) {
        char *t = realloc(sh->text, n);

        if (t == NULL)
            goto fail;
        sh->text = t;
        sh->text_cap = n;
    }
    if (doc->ntok > sh->tok_cap) {
        at_js_tok *t = realloc(sh->tok, doc->ntok * sizeof(*t));

        if (t == NULL)
            goto fail;
        sh->tok = t;
        sh->tok_cap = doc->ntok;
    }
    memcpy(sh->text, doc->text, n);
    memcpy(sh->tok, doc->tok, doc->ntok * sizeof(*sh->tok));
    sh->n = n;
    sh->ntok = doc->ntok;
    if (++sh->gen == 0)
        sh->gen = 1;
    return 1;
fail:
    sh->n = 0;
    sh->ntok = 0;
    return 0;
}

void at_js_shape_free(at_js_shape *sh)
{
    free(sh->text);
    free(sh->tok);
    memset(sh, 0, sizeof(*sh));
}

/* same_prefix: how many first bytes of a and b (n each) are equal. */
static size_t same_prefix(const char *a, const char *b, size_t n)
{
    size_t i = 0;

#if defined(__SSE2__)
    while (n - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y));

        if (m != 0xffff)
            return i + (size_t)__builtin_ctz(~m);
        i += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n - i >= 8) {
        uint64_t x, y;

        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + ((size_t)__builtin_ctzll(x ^ y) >> 3);
        i += 8;
    }
#endif
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* changed_at: the token of the shape whose value the first difference at
 * position pa can belong to, looking at tokens from j on: a string that pa
 * falls inside, past its opening quote, or a number that pa falls inside
 * or just past (a longer number in the new text); ntok when there is none.
 * Tokens start in text order and nothing starts inside a string or a
 * number, so it can only be the last token starting at or before pa. */
static uint32_t changed_at(const at_js_shape *sh, uint32_t j, size_t pa)
{
    uint32_t lo = j, hi = sh->ntok; /* the answer is below hi */
    const at_js_tok *t;

    /* the last token starting at or before pa */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (sh->tok[mid].off <= pa)
            lo = mid;
        else
            hi = mid;
    }
    if (lo >= sh->ntok)
        return sh->ntok;
    t = &sh->tok[lo];
    if (t->kind == AT_JS_STRING && t->off < pa && pa < (size_t)t->off + t->len)
        return lo; /* inside a string, past its opening quote */
    if (t->kind == AT_JS_NUMBER && t->off <= pa &&
        pa <= (size_t)t->off + t->len)
        return lo; /* in a number, or just past it (the new one is longer) */
    return sh->ntok;
}

static long delta_at(const at_js_patch *pt, uint32_t off)
{
    long d = 0;
    int i;

    for (i = 0; i < pt->nch && pt->ch[i].at <= off; i++)
        d = pt->ch[i].delta;
    return d;
}

int at_js_rescan(const at_js_shape *sh, const char *p, size_t n,
                 at_js_patch *pt)
{
    const char *a = sh->text;
    size_t an = sh->n, pa = 0, pb = 0;
    uint32_t j = 0;
    int rekeyed = 0;
    long delta = 0; /* pb - pa */

    pt->nch = 0;
    if (p == NULL || sh->ntok == 0 || n >= UINT32_MAX)
        return 0;
    for (;;) {
        size_t room = an - pa < n - pb ? an - pa : n - pb, m;
        const at_js_tok *o;
        const char *s, *e;
        int esc = 0;

        m = same_prefix(a + pa, p + pb, room);
        pa += m;
        pb += m;
        if (pa == an && pb == n)
            break;
        /* The first difference must be inside a string of the shape, past
         * its opening quote, or in a number (or just past one). */
        j = changed_at(sh, j, pa);
        if (j == sh->ntok || pt->nch == AT_JS_MAX_CHANGES)
            return 0;
        o = &sh->tok[j];
        s = p + (long)o->off + delta; /* everything before matched */
        if (o->kind == AT_JS_STRING) {
            e = scan_string(s, p + n, &esc);
            if (e == NULL || (esc && o->key))
                return 0;
        } else {
            e = scan_number(s, p + n);
            if (e == NULL)
                return 0;
        }
        rekeyed |= o->key;
        delta += (e - s) - (long)o->len;
        pa = o->off + o->len;
        pb = (size_t)(e - p);
        pt->ch[pt->nch].at = (uint32_t)pa;
        pt->ch[pt->nch].tok = j;
        pt->ch[pt->nch].esc = (uint8_t)esc;
        pt->ch[pt->nch].delta = delta;
        pt->nch++;
        j++;
    }
    pt->sh = sh;
    pt->text = p;
    pt->gen = rekeyed ? 0 : sh->gen;
    return 1;
}

void at_js_patch_toks(const at_js_patch *pt, uint32_t from, uint32_t to,
                      at_js_tok *tok)
{
    const at_js_tok *st = pt->sh->tok;
    uint32_t k;
    long d = 0;
    int c = 0;

    memcpy(tok + from, st + from, (to - from) * sizeof(*tok));
    if (pt->nch == 0)
        return;
    /* Each token moves by the changes before it (offsets grow with the
     * token index); a changed string grows by its own change (the first
     * one past its start), a container by those inside it; other values
     * keep their length. */
    for (k = from; k < to; k++) {
        const at_js_tok *o = &st[k];

        while (c < pt->nch && pt->ch[c].at <= o->off)
            d = pt->ch[c++].delta;
        tok[k].off = (uint32_t)((long)o->off + d);
        if (o->kind == AT_JS_OBJECT || o->kind == AT_JS_ARRAY) {
            tok[k].len = (uint32_t)((long)o->len +
                                    delta_at(pt, o->off + o->len) - d);
        } else if (c < pt->nch && pt->ch[c].tok == k) {
            tok[k].len = (uint32_t)((long)o->len + pt->ch[c].delta - d);
            tok[k].esc = pt->ch[c].esc;
        }
    }
}

void at_js_patch_doc(const at_js_patch *pt, at_js_tok *tok, uint32_t cap,
                     at_js_doc_t *doc)
{
    doc->text = pt->text;
    doc->tok = tok;
    doc->ntok = pt->sh->ntok;
    doc->cap = cap;
    doc->full = 0;
    doc->gen = pt->gen;
    doc->memo = NULL;
}

int at_js_redoc(const at_js_shape *sh, const char *p, size_t n,
                at_js_tok *tok, uint32_t cap, at_js_doc_t *doc, at_js *out)
{
    at_js_patch pt;

    if (cap < sh->ntok || !at_js_rescan(sh, p, n, &pt))
        return 0;
    at_js_patch_toks(&pt, 0, sh->ntok, tok);
    at_js_patch_doc(&pt, tok, cap, doc);
    out->p = p + tok[0].off;
    out->n = tok[0].len;
    out->doc = doc;
    out->i = 0;
    return 1;
}

/* On failure the iterator is left empty: a walk over it ends at once. */
static int iter(at_js v, at_js_it *it, uint8_t kind)
{
    if (v.p == NULL || v.doc == NULL || v.doc->tok[v.i].kind != kind) {
        it->doc = NULL;
        it->i = it->end = 0;
        return 0;
    }
    it->doc = v.doc;
    it->i = v.i + 1;
    it->end = v.doc->tok[v.i].next;
    return 1;
}

int at_js_obj(at_js v, at_js_it *it)
{
    return iter(v, it, AT_JS_OBJECT);
}

int at_js_arr(at_js v, at_js_it *it)
{
    return iter(v, it, AT_JS_ARRAY);
}

static void value_of(const at_js_doc_t *d, uint32_t i, at_js *v)
{
    v->p = d->text + d->tok[i].off;
    v->n = d->tok[i].len;
    v->doc = d;
    v->i = i;
}

int at_js_next_member(at_js_it *it, at_js *key, at_js *val)
{
    const at_js_doc_t *d = it->doc;

    if (it->i >= it->end)
        return 0;
    key->p = d->text + d->tok[it->i].off + 1;
    key->n = d->tok[it->i].len - 2;
    key->doc = d;
    key->i = it->i;
    value_of(d, it->i + 1, val);
    it->i = d->tok[it->i + 1].next;
    return 1;
}

int at_js_next(at_js_it *it, at_js *val)
{
    if (it->i >= it->end)
        return 0;
    value_of(it->doc, it->i, val);
    it->i = it->doc->tok[it->i].next;
    return 1;
}

int at_js_key_is(at_js key, const char *s)
{
    size_t n = strlen(s);

    return key.n == n && memcmp(key.p, s, n) == 0;
}

int at_js_kind(at_js v)
{
    if (v.p == NULL || v.n == 0)
        return AT_JS_NONE;
    if (v.doc != NULL)
        return v.doc->tok[v.i].kind;
    switch (v.p[0]) {
    case '{':
        return AT_JS_OBJECT;
    case '[':
        return AT_JS_ARRAY;
    case '"':
        return AT_JS_STRING;
    case 't':
    case 'f':
        return AT_JS_BOOL;
    case 'n':
        return AT_JS_NULL;
    default:
        return AT_JS_NUMBER;
    }
}

int at_js_int(at_js v, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    int64_t x = 0;

    if (at_js_kind(v) != AT_JS_NUMBER)
        return 0;
    if (v.p[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return 0; /* a fraction or an exponent: a real */
        x = x * 10 + (v.p[i] - '0'); /* at most 18 digits (scan_number) */
    }
    *out = neg ? -x : x;
    return 1;
}

/* decode: walk the decoded bytes of string v, handing each run to emit.
 * Returns the decoded length. */
typedef void (*emit_fn)(void *ctx, const char *p, size_t n);

/* unescape: the escape at p (checked by the scanner) decoded into out,
 * *k bytes (at most 4); returns the position after it. */
static const char *unescape(const char *p, char out[4], size_t *k)
{
    long u;

    *k = 0;
    switch (p[1]) {
    case 'b': out[0] = '\b'; break;
    case 'f': out[0] = '\f'; break;
    case 'n': out[0] = '\n'; break;
    case 'r': out[0] = '\r'; break;
    case 't': out[0] = '\t'; break;
    case 'u': break;
    default: out[0] = p[1]; break;
    }
    if (p[1] != 'u') {
        *k = 1;
        return p + 2;
    }
    u = hex4(p + 2);
    p += 6;
    if (u >= 0xD800 && u <= 0xDBFF) {
        u = 0x10000 + ((u - 0xD800) << 10) + (hex4(p + 2) - 0xDC00);
        p += 6;
    }
    if (u < 0x80) {
        out[(*k)++] = (char)u;
    } else if (u < 0x800) {
        out[(*k)++] = (char)(0xC0 | (u >> 6));
        out[(*k)++] = (char)(0x80 | (u & 0x3F));
    } else if (u < 0x10000) {
        out[(*k)++] = (char)(0xE0 | (u >> 12));
        out[(*k)++] = (char)(0x80 | ((u >> 6) & 0x3F));
        out[(*k)++] = (char)(0x80 | (u & 0x3F));
    } else {
        out[(*k)++] = (char)(0xF0 | (u >> 18));
        out[(*k)++] = (char)(0x80 | ((u >> 12) & 0x3F));
        out[(*k)++] = (char)(0x80 | ((u >> 6) & 0x3F));
        out[(*k)++] = (char)(0x80 | (u & 0x3F));
    }
    return p;
}

/* decode: the bytes string value v holds, handed to emit a run at a
 * time; their number. */
static size_t decode(at_js v, emit_fn emit, void *ctx)
{
    const char *p, *end, *run;
    size_t total = 0, k;
    char out[4];

    if (at_js_kind(v) != AT_JS_STRING || v.n < 2)
        return 0;
    p = v.p + 1;
    end = v.p + v.n - 1;
    while (p < end) {
        run = p;
        while (p < end && *p != '\\')
            p++;
        if (p > run) {
            emit(ctx, run, (size_t)(p - run));
            total += (size_t)(p - run);
        }
        if (p >= end)
            break;
        p = unescape(p, out, &k);
        emit(ctx, out, k);
        total += k;
    }
    return total;
}

/* decode_into: decode's bytes written at w, which has room for the
 * string's text (decoding never lengthens it); their number. */
static size_t decode_into(at_js v, char *w)
{
    const char *p = v.p + 1, *end = v.p + v.n - 1, *q;
    char *w0 = w;
    size_t k;

    while (p < end) {
        q = memchr(p, '\\', (size_t)(end - p));
        if (q == NULL)
            q = end;
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        if (q == end)
            break;
        p = unescape(q, w, &k);
        w += k;
    }
    return (size_t)(w - w0);
}

/* has_esc: whether string value v holds escapes. */
static int has_esc(at_js v)
{
    if (v.doc != NULL)
        return v.doc->tok[v.i].esc;
    return memchr(v.p, '\\', v.n) != NULL;
}

static void emit_none(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
}

size_t at_js_str_len(at_js v)
{
    if (at_js_kind(v) == AT_JS_STRING && !has_esc(v))
        return v.n - 2;
    return decode(v, emit_none, NULL);
}

typedef struct eq_ctx {
    const char *s;
    size_t left;
    int ok;
} eq_ctx;

static void emit_eq(void *ctx, const char *p, size_t n)
{
    eq_ctx *c = ctx;

    if (!c->ok || n > c->left || memcmp(c->s, p, n) != 0) {
        c->ok = 0;
        return;
    }
    c->s += n;
    c->left -= n;
}

int at_js_str_eq(at_js v, const char *s)
{
    eq_ctx c = {s, strlen(s), 1};

    if (at_js_kind(v) != AT_JS_STRING)
        return 0;
    decode(v, emit_eq, &c);
    return c.ok && c.left == 0;
}

static void emit_buf(void *ctx, const char *p, size_t n)
{
    at_buf_append(ctx, p, n);
}

size_t at_js_str_append(at_js v, at_buf *b)
{
    char *w;
    size_t k;

    if (at_js_kind(v) != AT_JS_STRING)
        return 0;
    if (!has_esc(v)) {
        at_buf_append(b, v.p + 1, v.n - 2);
        return v.n - 2;
    }
    /* straight into the buffer when it has room for the text; else a run
     * at a time, what fits kept */
    if ((w = at_buf_reserve(b, v.n)) == NULL)
        return decode(v, emit_buf, b);
    k = decode_into(v, w);
    at_buf_commit(b, k);
    return k;
}

char *at_js_str_dup(at_js v)
{
    at_buf b;
    char *s;

    if (at_js_kind(v) != AT_JS_STRING)
        return NULL;
    if (!has_esc(v))
        return strndup(v.p + 1, v.n - 2);
    at_buf_init(&b, v.n);
    at_js_str_append(v, &b);
    if (b.truncated || b.p == NULL) {
        at_buf_free(&b);
        return b.truncated ? NULL : strdup("");
    }
    s = strndup(b.p, b.len);
    at_buf_free(&b);
    return s;
}
