/* jw.c - JSON text writer (see jw.h).  Sink thread, and the exiting thread
 * when no sink thread ever started.
 *
 * Nothing here calls stdio except the formatting of reals, nor allocates
 * except for a tree nested deeper than 32 levels: the process span written
 * at exit costs no more than its bytes. */
#include "jw.h"
#include "decode/swar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes copied as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The escapes of the control characters: jw's own (lower-case \u, no \b
 * or \f), and jansson's (\b, \f, upper-case \u).  Each is 6 bytes, or 2
 * followed by NULs. */
static const char ctl_jw[32][7] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
    "\\u0006", "\\u0007", "\\u0008", "\\t", "\\n", "\\u000b", "\\u000c",
    "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012",
    "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018",
    "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e",
    "\\u001f"};
static const char ctl_jansson[32][7] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
    "\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000B", "\\f",
    "\\r", "\\u000E", "\\u000F", "\\u0010", "\\u0011", "\\u0012",
    "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018",
    "\\u0019", "\\u001A", "\\u001B", "\\u001C", "\\u001D", "\\u001E",
    "\\u001F"};

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

/* Nonzero when any of the 8 bytes of w needs a look.  (x - 0x20..) & ~x &
 * 0x80.. flags a byte below 0x20 when no byte has its high bit set, and
 * one that has is flagged anyway; the quote and the backslash are
 * at_has_byte's.  As a whole it is exact; which bits are set above the
 * first byte flagged is not. */
static inline uint64_t needs_look(uint64_t w)
{
    return ((w | ((w - AT_ONES * 0x20) & ~w)) & AT_HIGH) |
           at_has_byte(w, '"') | at_has_byte(w, '\\');
}

/* ascii_run: the first index from i whose byte needs a look (a control
 * character, '"', '\\', or a byte >= 0x80), or n.  16 bytes at a time with
 * SSE2 (x86-64 has it always), else 8 with plain integers; a tail shorter
 * than a block is looked at as the last block of the string, overlapping
 * bytes already known to be plain. */
#ifdef __SSE2__
#include <emmintrin.h>

/* the bytes of the block at p that need a look, one bit each */
static inline unsigned block_looks(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* signed: a byte >= 0x80 is below 0x20 too */
    __m128i m = _mm_or_si128(
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

    return (unsigned)_mm_movemask_epi8(m);
}

static inline size_t ascii_run(const unsigned char *p, size_t n, size_t i)
{
    unsigned m;

    while (n - i >= 16) {
        m = block_looks(p + i);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
    if (i == n)
        return n;
    if (n >= 16) {
        size_t base = n - 16;

        m = block_looks(p + base);
        m = (m >> (i - base)) << (i - base);   /* from i on */
        return m ? base + (size_t)__builtin_ctz(m) : n;
    }
    while (i < n && plain[p[i]])
        i++;
    return i;
}
#else

static inline size_t ascii_run(const unsigned char *p, size_t n, size_t i)
{
    uint64_t w;

    while (n - i >= 8) {
        w = at_load8(p + i);
        if (needs_look(w))
            break;
        i += 8;
    }
    while (i < n && plain[p[i]])
        i++;
    return i;
}
#endif

/* Whether all n bytes at p are plain (need no escape, are ASCII): the
 * common case, a key or a short text, decided without a loop over bytes.
 * Strings shorter than a block are read as two overlapping words. */
static inline __attribute__((always_inline)) int all_plain(
    const unsigned char *p, size_t n)
{
    if (n >= 16)
        return ascii_run(p, n, 0) == n;
    if (n >= 8)
        return !(needs_look(at_load8(p)) | needs_look(at_load8(p + n - 8)));
    if (n >= 4)
        return !needs_look(at_load4(p) | (uint64_t)at_load4(p + n - 4) << 32);
    /* 0 to 3 bytes: the first, the middle and the last are all of them */
    return n == 0 || (plain[p[0]] & plain[p[n / 2]] & plain[p[n - 1]]);
}

/* Copy n bytes from s to d (not overlapping) without a call, so that the
 * writer's common case needs no frame: blocks of 16 bytes, the last one
 * overlapping; shorter strings as two overlapping words. */
static inline void copy_short(char *d, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    if (n >= 16) {
#ifdef __SSE2__
        size_t i;

        for (i = 0; i + 16 < n; i += 16)
            _mm_storeu_si128((__m128i *)(void *)(d + i),
                             _mm_loadu_si128((const __m128i *)(const void *)
                                             (s + i)));
        _mm_storeu_si128((__m128i *)(void *)(d + n - 16),
                         _mm_loadu_si128((const __m128i *)(const void *)
                                         (s + n - 16)));
#else
        memcpy(d, s, n);
#endif
    } else if (n >= 8) {
        uint64_t a = at_load8(u), z = at_load8(u + n - 8);

        memcpy(d, &a, 8);
        memcpy(d + n - 8, &z, 8);
    } else if (n >= 4) {
        uint32_t a = at_load4(u), z = at_load4(u + n - 4);

        memcpy(d, &a, 4);
        memcpy(d + n - 4, &z, 4);
    } else if (n) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

static size_t clean_prefix_slow(const unsigned char *p, size_t n,
                                size_t i);

/* How many bytes at p need no escape: plain ASCII and valid UTF-8
 * sequences.  The first byte >= 0x80 goes to the slow path. */
static inline size_t clean_prefix(const unsigned char *p, size_t n)
{
    size_t i = ascii_run(p, n, 0);

    if (i == n || p[i] < 0x80)
        return i;
    return clean_prefix_slow(p, n, i);
}

/* clean_prefix from i, where a byte >= 0x80 is. */
static __attribute__((noinline)) size_t clean_prefix_slow(
    const unsigned char *p, size_t n, size_t i)
{
    size_t k;

    for (;;) {
        if (p[i] < 0x80 || (k = utf8_len(p + i, n - i)) == 0)
            return i;
        i = ascii_run(p, n, i + k);
        if (i == n)
            return n;
    }
}

/* A string that needs no escape, as it is between quotes, preceded by
 * `pre` and followed by `post` when these are not NUL, at w (room for
 * n + 4 bytes); returns how many bytes were written. */
static inline size_t quoted(char *w, const char *s, size_t n, char pre,
                            char post)
{
    size_t j = 0;

    if (pre)
        w[j++] = pre;
    w[j++] = '"';
    copy_short(w + j, s, n);
    j += n;
    w[j++] = '"';
    if (post)
        w[j++] = post;
    return j;
}

/* esc for a string that is not all plain ASCII, or a buffer short of
 * room: valid UTF-8 is copied, the rest escaped. */
static __attribute__((noinline)) void esc_slow(at_buf *b, const char *s,
                                               size_t n,
                                               const char (*ctl)[7],
                                               char pre, char post)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = clean_prefix(p, n), j;
    char *w;

    if (i == n && (w = at_buf_reserve(b, n + 4)) != NULL) {
        at_buf_commit(b, quoted(w, s, n, pre, post));
        return;
    }
    if (pre)
        at_buf_append(b, &pre, 1);
    AT_JW_LIT(b, "\"");
    at_buf_append(b, s, i);
    while (i < n) {
        unsigned char c = p[i];

        if (c < 0x20)
            at_buf_append(b, ctl[c], ctl[c][2] ? 6 : 2);
        else if (c == '"')
            AT_JW_LIT(b, "\\\"");
        else if (c == '\\')
            AT_JW_LIT(b, "\\\\");
        else
            AT_JW_LIT(b, "\xEF\xBF\xBD");    /* U+FFFD */
        i++;
        j = i + clean_prefix(p + i, n - i);
        at_buf_append(b, s + i, j - i);
        i = j;
    }
    AT_JW_LIT(b, "\"");
    if (post)
        at_buf_append(b, &post, 1);
}

/* One JSON string, preceded by `pre` and followed by `post` when these
 * are not NUL; `ctl` gives the control characters' escapes.  A string
 * that needs no escape (the common case) is one copy. */
static inline __attribute__((always_inline)) void esc(
    at_buf *b, const char *s, size_t n, const char (*ctl)[7], char pre,
    char post)
{
    char *w;

    if (__builtin_expect(!all_plain((const unsigned char *)s, n), 0) ||
        (w = at_buf_reserve(b, n + 4)) == NULL) {
        esc_slow(b, s, n, ctl, pre, post);
        return;
    }
    at_buf_commit(b, quoted(w, s, n, pre, post));
}

void at_jw_str(at_buf *b, const char *s, size_t n)
{
    esc(b, s, n, ctl_jw, 0, 0);
}

void at_jw_jstr(at_buf *b, const char *s, size_t n)
{
    esc(b, s, n, ctl_jansson, 0, 0);
}

void at_jw_jkey(at_buf *b, const char *k, size_t n, int first)
{
    esc(b, k, n, ctl_jansson, first ? 0 : ',', ':');
}

int at_jw_jstr_canonical(const char *p, size_t n)
{
    const char *e = p + n, *q;

    while ((q = memchr(p, '\\', (size_t)(e - p))) != NULL) {
        unsigned v;
        int i;

        if (e - q < 2)
            return 0;
        switch (q[1]) {
        case '"':
        case '\\':
        case 'b':
        case 't':
        case 'n':
        case 'f':
        case 'r':
            p = q + 2;
            continue;
        case 'u':
            break;
        default:
            return 0;
        }
        if (e - q < 6 || q[2] != '0' || q[3] != '0' ||
            (q[4] != '0' && q[4] != '1'))
            return 0;
        v = (unsigned)(q[4] - '0') << 4;
        if (q[5] >= '0' && q[5] <= '9')
            v |= (unsigned)(q[5] - '0');
        else if (q[5] >= 'A' && q[5] <= 'F')
            v |= (unsigned)(q[5] - 'A' + 10);
        else
            return 0;
        /* the control character's escape in at_jw_jstr's table (a short
         * one, "\\n", differs at its second byte) */
        for (i = 0; i < 6; i++)
            if (ctl_jansson[v][i] != q[i])
                return 0;
        p = q + 6;
    }
    return 1;
}

int at_jw_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        if (p[i] < 0x80) {
            /* ASCII, 8 bytes at a time */
            while (i + 8 <= n) {
                uint64_t w;

                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i < n && p[i] < 0x80)
                i++;
            continue;
        }
        k = utf8_len(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

void at_jw_cstr(at_buf *b, const char *s)
{
    esc(b, s, strlen(s), ctl_jw, 0, 0);
}

void at_jw_key(at_buf *b, const char *k, int first)
{
    esc(b, k, strlen(k), ctl_jw, first ? 0 : ',', ':');
}

/* ---- decimal numbers -----------------------------------------------------
 *
 * at_jw_dec counts the digits first and then writes them in place from
 * the last, two at a time from a table of the hundred pairs.  A number of
 * 20 digits (a timestamp in nanoseconds has 19) is cut into 8-digit
 * chunks with at most two 64-bit divisions by 10^8; the chunks are written
 * with 32-bit arithmetic, where dividing by a constant is a short multiply
 * and shift.  No copy from a scratch buffer. */

static const char pairs[200] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* 10^0 .. 10^19: the largest power of ten a uint64_t holds is 10^19 */
static const uint64_t tens[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
    10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
    100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull,
    10000000000000000000ull};

/* The number of decimal digits of v (1 for 0).  A number of b bits,
 * 2^(b-1) <= v < 2^b, has t or t + 1 digits, t = floor(b * log10(2)),
 * and t + 1 exactly when v >= 10^t; 1233 / 4096 is log10(2) closely
 * enough for every b up to 64 (test_span.c checks each power of two and
 * of ten, and their neighbours).  v | 1 makes 0 count as 1 digit, and
 * moves no other number across a power of ten (10^t is even from 10 up). */
static inline size_t dec_len(uint64_t v)
{
    uint64_t w = v | 1;
    unsigned bits = 64 - (unsigned)__builtin_clzll(w);
    unsigned t = (bits * 1233) >> 12;

    return t + (w >= tens[t]);
}

/* The two digits of d < 100 at p. */
static inline void put2(char *p, uint32_t d)
{
    memcpy(p, pairs + 2 * d, 2);
}

/* All eight digits of v < 10^8, leading zeros kept, ending at `end`. */
static inline void put8(char *end, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v % 10000;

    put2(end - 8, hi / 100);
    put2(end - 6, hi % 100);
    put2(end - 4, lo / 100);
    put2(end - 2, lo % 100);
}

/* The digits of v < 10^8, no leading zero, ending at `end`. */
static inline void put_short(char *end, uint32_t v)
{
    while (v >= 100) {
        end -= 2;
        put2(end, v % 100);
        v /= 100;
    }
    if (v >= 10)
        put2(end - 2, v);
    else
        end[-1] = (char)('0' + v);
}

size_t at_jw_dec(char out[20], uint64_t v)
{
    size_t n = dec_len(v);
    char *end = out + n;

    while (v >= 100000000) {        /* at most twice */
        put8(end, (uint32_t)(v % 100000000));
        v /= 100000000;
        end -= 8;
    }
    put_short(end, (uint32_t)v);
    return n;
}

void at_jw_u64(at_buf *b, uint64_t v)
{
    char tmp[20], *w = at_buf_reserve(b, 20);

    if (w)
        at_buf_commit(b, at_jw_dec(w, v));
    else
        at_buf_append(b, tmp, at_jw_dec(tmp, v));
}

void at_jw_i64(at_buf *b, int64_t v)
{
    char tmp[21], *w = at_buf_reserve(b, 21), *o = w ? w : tmp;
    size_t n;

    if (v < 0) {
        o[0] = '-';
        n = 1 + at_jw_dec(o + 1, 0 - (uint64_t)v);
    } else {
        n = at_jw_dec(o, (uint64_t)v);
    }
    if (w)
        at_buf_commit(b, n);
    else
        at_buf_append(b, tmp, n);
}

/* ---- jansson trees ------------------------------------------------------ */

/* ---- reals, as jansson writes them ---------------------------------------
 *
 * jansson's jsonp_dtostr with precision 17: snprintf "%.17g", the locale's
 * decimal point made '.', ".0" added when there is neither '.' nor 'e',
 * and the exponent's '+' and leading zeros dropped ("7.1999999999999997e-6",
 * "1e20", "0.5", "100.0").  The usual magnitudes (1e-16 to below 1e17)
 * are done here exactly, without stdio: 17 significant digits rounded
 * (to nearest, ties to even, as glibc's printf does) from the double's
 * exact value in 128-bit arithmetic; the rest goes through snprintf. */

/* The 17 significant digits of d > 0 as N (10^16 <= N < 10^17) with the
 * decimal exponent *x of the first: d ~ N * 10^(*x - 16).  -1 when d is
 * outside what is done here. */
static int digits17(double d, uint64_t *n, int *x)
{
    static const uint64_t lo = 10000000000000000ull, hi = lo * 10;
    uint64_t bits, m;
    int e, tries;

    memcpy(&bits, &d, 8);
    m = bits & ((1ull << 52) - 1);
    e = (int)((bits >> 52) & 0x7ff);
    if (e == 0 || e == 0x7ff)
        return -1;            /* subnormal, inf, nan: not here */
    m |= 1ull << 52;
    e -= 1075;                /* d = m * 2^e */
    /* floor(log10(d)) is this or one more: log10(2) ~ 78913 / 2^18 */
    *x = ((e + 52) * 78913) >> 18;
    for (tries = 0; tries < 3; tries++) {
        int k = 16 - *x, sh;
        unsigned __int128 v = m, q;

        if (k < 0 || k > 32)
            return -1;
        for (sh = 0; sh < k; sh++)
            v *= 5;           /* m * 5^k < 2^53 * 2^75 */
        sh = e + k;           /* d * 10^k = v * 2^sh */
        if (sh >= 0) {
            if (sh > 64)
                return -1;
            q = v << sh;
        } else if (sh <= -128) {
            return -1;
        } else {
            unsigned __int128 rem, half;

            q = v >> -sh;
            rem = v - (q << -sh);
            half = (unsigned __int128)1 << (-sh - 1);
            if (rem > half || (rem == half && (q & 1)))
                q++;
        }
        if (q >= hi) {
            (*x)++;
        } else if (q < lo) {
            (*x)--;
        } else {
            *n = (uint64_t)q;
            return 0;
        }
    }
    return -1;
}

/* d as "%.17g" would write it, and then as jansson touches it up, into s
 * (at least 40 bytes); returns the length. */
static size_t fmt_real_fast(char *s, double d, uint64_t n, int x)
{
    char dig[17];
    size_t len = 0;
    int i, last;

    if (d < 0)
        s[len++] = '-';
    for (i = 16; i >= 0; i--) {
        dig[i] = (char)('0' + n % 10);
        n /= 10;
    }
    for (last = 16; last > 0 && dig[last] == '0'; last--)
        ;                     /* %g drops the fraction's trailing zeros */
    if (x >= -4) {            /* %f style: x is at most 16 here */
        if (x < 0) {
            s[len++] = '0';
            s[len++] = '.';
            for (i = -1; i > x; i--)
                s[len++] = '0';
            memcpy(s + len, dig, (size_t)last + 1);
            len += (size_t)last + 1;
        } else {
            memcpy(s + len, dig, (size_t)x + 1);
            len += (size_t)x + 1;
            s[len++] = '.';
            if (last > x) {
                memcpy(s + len, dig + x + 1, (size_t)(last - x));
                len += (size_t)(last - x);
            } else {
                s[len++] = '0';   /* no fraction: jansson adds ".0" */
            }
        }
    } else {                  /* %e style, x from -16 to -5 */
        s[len++] = dig[0];
        if (last > 0) {
            s[len++] = '.';
            memcpy(s + len, dig + 1, (size_t)last);
            len += (size_t)last;
        }
        s[len++] = 'e';
        s[len++] = '-';
        len += at_jw_dec(s + len, (uint64_t)-x);
    }
    return len;
}

/* The same through snprintf, exactly as jansson does it. */
static int fmt_real_slow(char *s, double d)
{
    char *e, *start, *end;
    int n = snprintf(s, 100, "%.17g", d), i;

    if (n < 0 || n >= 100 - 3)
        return -1;
    /* the locale's decimal point (its first byte, which is what jansson
     * replaces): the one byte that is no digit, sign, letter or '.' */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
              (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            s[i] = '.';
            break;
        }
    }
    if (!memchr(s, '.', (size_t)n) && !memchr(s, 'e', (size_t)n)) {
        s[n++] = '.';
        s[n++] = '0';
    }
    /* no '+' and no leading zeros in the exponent */
    e = memchr(s, 'e', (size_t)n);
    if (e) {
        start = e + 1;
        end = start + 1;
        if (*start == '-')
            start++;
        while (end < s + n && *end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(n - (end - s)));
            n -= (int)(end - start);
        }
    }
    return n;
}

int at_jw_real(at_buf *b, double d)
{
    char s[100];
    uint64_t n;
    int x, len;

    if (d == 0) {
        if (signbit(d))
            AT_JW_LIT(b, "-0.0");
        else
            AT_JW_LIT(b, "0.0");
        return 0;
    }
    if (digits17(d < 0 ? -d : d, &n, &x) == 0) {
        at_buf_append(b, s, fmt_real_fast(s, d, n, x));
        return 0;
    }
    len = fmt_real_slow(s, d);
    if (len < 0)
        return -1;
    at_buf_append(b, s, (size_t)len);
    return 0;
}

/* A container being written: the object and its iterator, or the array
 * and the index of the element being written. */
typedef struct frame {
    const json_t *c;
    void *iter;
    size_t i;
} frame;

/* `"key":`, after a comma unless `first` */
static void put_key(at_buf *b, void *iter, int first)
{
    at_jw_jkey(b, json_object_iter_key(iter),
               json_object_iter_key_len(iter), first);
}

int at_jw_json(at_buf *b, const json_t *root)
{
    frame local[32], *st = local;
    size_t depth = 0, cap = sizeof(local) / sizeof(local[0]);
    const json_t *v = root;
    int rc = 0;

    if (root == NULL || (!json_is_object(root) && !json_is_array(root)))
        return -1;
    for (;;) {
        if (v == NULL) {
            rc = -1;
            break;
        }
        if (b->len >= b->max && depth > 0) {
            /* full: what is left would only be dropped */
            b->truncated = 1;
            b->dropped++;
            break;
        }
        switch (json_typeof(v)) {
        case JSON_OBJECT:
        case JSON_ARRAY: {
            int obj = json_is_object(v);
            void *iter = obj ? json_object_iter((json_t *)v) : NULL;

            if (obj ? iter == NULL : json_array_size(v) == 0) {
                if (obj)
                    AT_JW_LIT(b, "{}");
                else
                    AT_JW_LIT(b, "[]");
                break;
            }
            if (depth == cap) {
                frame *ns = malloc(2 * cap * sizeof(*ns));

                if (ns == NULL) {
                    rc = -1;
                    goto out;
                }
                memcpy(ns, st, depth * sizeof(*ns));
                if (st != local)
                    free(st);
                st = ns;
                cap *= 2;
            }
            st[depth].c = v;
            st[depth].iter = iter;
            st[depth].i = 0;
            depth++;
            if (obj) {
                AT_JW_LIT(b, "{");
                put_key(b, iter, 1);
                v = json_object_iter_value(iter);
            } else {
                AT_JW_LIT(b, "[");
                v = json_array_get(v, 0);
            }
            continue;
        }
        case JSON_STRING:
            esc(b, json_string_value(v), json_string_length(v), ctl_jansson,
                0, 0);
            break;
        case JSON_INTEGER:
            at_jw_i64(b, (int64_t)json_integer_value(v));
            break;
        case JSON_REAL:
            if (at_jw_real(b, json_real_value(v)) < 0) {
                rc = -1;
                goto out;
            }
            break;
        case JSON_TRUE:
            AT_JW_LIT(b, "true");
            break;
        case JSON_FALSE:
            AT_JW_LIT(b, "false");
            break;
        case JSON_NULL:
            AT_JW_LIT(b, "null");
            break;
        default:
            rc = -1;
            goto out;
        }
        /* v is written: on to the next member of the innermost container,
         * closing those that are done */
        for (;;) {
            frame *f;

            if (depth == 0)
                goto out;
            f = &st[depth - 1];
            if (f->iter) {
                f->iter = json_object_iter_next((json_t *)f->c, f->iter);
                if (f->iter) {
                    put_key(b, f->iter, 0);
                    v = json_object_iter_value(f->iter);
                    break;
                }
                AT_JW_LIT(b, "}");
            } else {
                if (++f->i < json_array_size(f->c)) {
                    AT_JW_LIT(b, ",");
                    v = json_array_get(f->c, f->i);
                    break;
                }
                AT_JW_LIT(b, "]");
            }
            depth--;
        }
    }
out:
    if (st != local)
        free(st);
    return rc;
}

int at_jw_value(at_buf *b, const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        return at_jw_json(b, v);
    case JSON_STRING:
        esc(b, json_string_value(v), json_string_length(v), ctl_jansson, 0,
            0);
        return 0;
    case JSON_INTEGER:
        at_jw_i64(b, (int64_t)json_integer_value(v));
        return 0;
    case JSON_REAL:
        return at_jw_real(b, json_real_value(v));
    case JSON_TRUE:
        AT_JW_LIT(b, "true");
        return 0;
    case JSON_FALSE:
        AT_JW_LIT(b, "false");
        return 0;
    default:
        if (v == NULL)
            return -1;
        AT_JW_LIT(b, "null");
        return 0;
    }
}
