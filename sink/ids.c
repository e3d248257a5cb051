/* ids.c - random ids (see ids.h).  Any thread. */
#include "ids.h"
#include "preload/sys.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>

static uint64_t base;
static _Atomic uint64_t counter;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void at_ids_seed(void)
{
    uint64_t r = 0;

    /* the kernel directly: every process starts here (preload/sys.h) */
    if (at_sys3(SYS_getrandom, &r, sizeof(r), GRND_NONBLOCK) !=
        (long)sizeof(r)) {
        uint64_t ns = at_clock_sys_ns(CLOCK_REALTIME);

        r = ns ^ (ns << 30);
    }
    base = r ^ ((uint64_t)at_sys0(SYS_getpid) << 32);
    atomic_store(&counter, 0);
}

uint64_t at_ids_span(void)
{
    uint64_t v;

    do {
        /* mix is a bijection, so distinct inputs give distinct ids */
        v = mix(base + atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull);
    } while (v == 0);
    return v;
}

void at_ids_trace(unsigned char out[16])
{
    uint64_t a = at_ids_span(), b = at_ids_span();

    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

/* ---- hex -----------------------------------------------------------------
 *
 * Eight bytes become sixteen digits at once: with SSE2 (x86-64 has it
 * always) in one vector, each byte's two nibbles spread to two bytes and
 * made ASCII by adding '0', and 'a' - '0' - 10 more where the nibble is
 * above 9; without it, four bytes to a 64-bit word the same way. */
#ifdef __SSE2__
#include <emmintrin.h>

/* the 16 digits of the 8 bytes at in, first byte first, at out */
static inline void hex8(char *out, const unsigned char *in)
{
    const __m128i low4 = _mm_set1_epi8(0x0f);
    __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)in);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low4);
    __m128i n = _mm_unpacklo_epi8(hi, _mm_and_si128(x, low4));
    __m128i af = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));

    n = _mm_add_epi8(n, _mm_set1_epi8('0'));
    n = _mm_add_epi8(n, _mm_and_si128(af, _mm_set1_epi8('a' - '0' - 10)));
    _mm_storeu_si128((__m128i *)(void *)out, n);
}
#else

/* The eight lower-case hex digits of x, most significant first, as the
 * bytes of a word in memory order: its nibbles spread one to a byte, put
 * in order, then made ASCII ('0' + d, and 'a' - '0' - 10 more from 10 up;
 * no byte carries into the next at any step). */
static inline uint64_t hex_word(uint32_t x)
{
    uint64_t n = x, ten;

    n = ((n & 0xffff0000u) << 16) | (n & 0x0000ffffu);
    n = ((n & 0x0000ff000000ff00ull) << 8) | (n & 0x000000ff000000ffull);
    n = ((n & 0x00f000f000f000f0ull) << 4) | (n & 0x000f000f000f000full);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    n = __builtin_bswap64(n);  /* the most significant digit first */
#endif
    ten = ((n + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
    return n + 0x3030303030303030ull + ten * ('a' - '0' - 10);
}

static inline void hex8(char *out, const unsigned char *in)
{
    uint64_t w;
    int k;

    for (k = 0; k < 2; k++, in += 4, out += 8) {
        w = hex_word((uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
                     (uint32_t)in[2] << 8 | in[3]);
        memcpy(out, &w, 8);
    }
}
#endif

void at_hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        hex8(out + 2 * i, in + i);
    for (; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void at_hex64(char out[17], uint64_t v)
{
    unsigned char b[8];

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);   /* the most significant byte first */
#endif
    memcpy(b, &v, 8);
    hex8(out, b);
    out[16] = '\0';
}

/* A hex digit's value, or 16 for any other byte (NUL included). */
static const unsigned char nibble[256] = {
#define X16 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16
    X16, X16, X16,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    X16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    X16, X16, X16, X16, X16, X16, X16, X16, X16
#undef X16
};

/* Parsing reads one byte at a time and stops at the first that is not a
 * digit: a string may end (NUL) anywhere, and nothing after its end may
 * be read, so no word is loaded whole.  One table lookup and one branch
 * a digit, and the value built as it goes. */

/* The byte the two hex digits at u make, or -1 when either is not a
 * digit; u[1] is not read when u[0] is not one (a NUL, say). */
static inline int unhex2(const unsigned char *u)
{
    unsigned hi = nibble[u[0]], lo;

    if (hi > 15)
        return -1;
    lo = nibble[u[1]];
    if (lo > 15)
        return -1;
    return (int)(hi << 4 | lo);
}

int at_unhex(const char *s, unsigned char *out, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i;

    for (i = 0; i < n; i++) {
        int b = unhex2(u + 2 * i);

        if (b < 0)
            return -1;
        out[i] = (unsigned char)b;
    }
    return 0;
}

int at_unhex64(const char *s, uint64_t *v)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t x = 0;
    int i;

    for (i = 0; i < 8; i++) {
        int b = unhex2(u + 2 * i);

        if (b < 0)
            return -1;
        x = x << 8 | (unsigned)b;
    }
    *v = x;
    return 0;
}
