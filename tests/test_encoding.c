/* test_encoding.c - unit tests of decode/encoding.c (gzip, deflate, br,
 * zstd).
 *
 * Runs in the Criterion test runner (one forked worker per test).  The
 * compressed inputs are made here with zlib (gzip, zlib-wrapped and raw
 * deflate), libbrotlienc and libzstd, and fed whole, one byte at a time
 * and in random pieces; the output must be the original each way.  A
 * recorded gzip body from ../shared/corpus is decoded too (tests run from
 * the repository root).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <brotli/encode.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "decode/encoding.h"

/* Growable output collected by the callback. */
struct out {
    char *p;
    size_t len, cap;
    unsigned long calls;
};

/* on_out: the at_enc_out_cb of the tests. */
static void on_out(void *ud, const char *data, size_t len)
{
    struct out *o = ud;

    cr_assert(len > 0, "no empty output calls");
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;

        while (cap < o->len + len)
            cap *= 2;
        o->p = realloc(o->p, cap);
        cr_assert_not_null(o->p);
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, len);
    o->len += len;
    o->calls++;
}

/* How the test compresses. */
enum wrap { WRAP_GZIP, WRAP_ZLIB, WRAP_RAW, WRAP_BROTLI, WRAP_ZSTD };

/* compress_zstd: one zstd frame of in[0 .. n), with the window 2^wlog (0:
 * the library's choice, which for a one-shot call is the content size)
 * and a content checksum when `check` is set.  Malloc'd; length in
 * *out_len. */
static unsigned char *compress_zstd(const void *in, size_t n, int wlog,
                                    int check, size_t *out_len)
{
    size_t bound = ZSTD_compressBound(n);
    unsigned char *out = malloc(bound);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t r;

    cr_assert_not_null(out);
    cr_assert_not_null(cc);
    cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc,
                                                   ZSTD_c_compressionLevel,
                                                   3)));
    cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag,
                                                   check)));
    if (wlog)
        cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc,
                                                       ZSTD_c_windowLog,
                                                       wlog)));
    r = ZSTD_compress2(cc, out, bound, in, n);
    cr_assert(!ZSTD_isError(r), "%s", ZSTD_getErrorName(r));
    ZSTD_freeCCtx(cc);
    *out_len = r;
    return out;
}

/* compress_with: compress in[0 .. n) with the given wrapper; returns a
 * malloc'd buffer, length in *out_len. */
static unsigned char *compress_with(enum wrap w, const void *in, size_t n,
                                    size_t *out_len)
{
    unsigned char *out;
    uLong bound = compressBound((uLong)n) + 64;

    if (w == WRAP_ZSTD)
        return compress_zstd(in, n, 20, 0, out_len);
    if (w == WRAP_BROTLI) {
        size_t len = BrotliEncoderMaxCompressedSize(n);

        if (len == 0)
            len = 64;
        out = malloc(len);
        cr_assert_not_null(out);
        cr_assert(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW,
                                        BROTLI_MODE_GENERIC, n, in, &len,
                                        out));
        *out_len = len;
        return out;
    }
    out = malloc(bound);
    cr_assert_not_null(out);
    if (w == WRAP_ZLIB) {
        uLongf len = bound;

        cr_assert_eq(compress2(out, &len, in, (uLong)n, 6), Z_OK);
        *out_len = len;
    } else {
        z_stream zs;

        memset(&zs, 0, sizeof(zs));
        cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED,
                                  w == WRAP_GZIP ? 16 + MAX_WBITS
                                                 : -MAX_WBITS,
                                  8, Z_DEFAULT_STRATEGY),
                     Z_OK);
        zs.next_in = (Bytef *)in;
        zs.avail_in = (uInt)n;
        zs.next_out = out;
        zs.avail_out = (uInt)bound;
        cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
        *out_len = zs.total_out;
        deflateEnd(&zs);
    }
    return out;
}

/* Splitting strategies. */
enum split_mode { SPLIT_WHOLE, SPLIT_ONE, SPLIT_RANDOM };

/* rng_next: xorshift32, for reproducible inputs and splits. */
static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* What one feeding gave. */
struct dec_result {
    struct out out;
    int failed;        /* some feed returned -1 */
    int finished, truncated;
};

/* feed_dec: decode in[0 .. len) as `kind` with cap `max_out`, in pieces
 * chosen by `mode` (seed for SPLIT_RANDOM), each piece in its own exactly
 * sized buffer.  Stops feeding at the first -1, then checks that the
 * decoder keeps refusing.  The caller frees res->out.p. */
static void feed_dec(at_enc_kind kind, uint64_t max_out, const void *in,
                     size_t len, enum split_mode mode, uint32_t seed,
                     struct dec_result *res)
{
    at_enc *d = at_enc_new(kind, max_out);
    const char *s = in;
    size_t pos = 0;
    uint32_t rng = seed ? seed : 1;

    cr_assert_not_null(d);
    memset(res, 0, sizeof(*res));
    while (pos < len) {
        size_t size;
        char *piece;
        int r;

        if (mode == SPLIT_ONE) {
            size = 1;
        } else if (mode == SPLIT_RANDOM) {
            size = 1 + rng_next(&rng) % 64;
            if (rng_next(&rng) % 8 == 0)
                size += rng_next(&rng) % 5000;
        } else {
            size = len;
        }
        if (size > len - pos)
            size = len - pos;
        piece = malloc(size);
        cr_assert_not_null(piece);
        memcpy(piece, s + pos, size);
        r = at_enc_feed(d, piece, size, on_out, &res->out);
        free(piece);
        cr_assert(r == 0 || r == -1);
        if (r < 0) {
            res->failed = 1;
            cr_assert_eq(at_enc_feed(d, "x", 1, on_out, &res->out), -1,
                         "a failed decoder keeps refusing");
            break;
        }
        pos += size;
    }
    res->finished = at_enc_finished(d);
    res->truncated = at_enc_truncated(d);
    at_enc_del(d);
}

/* make_input: test data of n bytes: 0 text-like (compressible), 1 random
 * bytes (incompressible), 2 zeros. */
static char *make_input(int type, size_t n, uint32_t seed)
{
    static const char *words[] = { "{\"type\":", "\"content_block_delta\"",
                                   ",\"text\":\"", "Hello", " world", "}\n",
                                   "data: ", "\xc3\xa9t\xc3\xa9 " };
    char *p = malloc(n ? n : 1);
    size_t i = 0;

    cr_assert_not_null(p);
    if (type == 2) {
        memset(p, 0, n);
        return p;
    }
    while (i < n) {
        if (type == 1) {
            p[i++] = (char)(rng_next(&seed) & 0xff);
        } else {
            const char *w = words[rng_next(&seed) % 8];
            size_t k = strlen(w);

            if (k > n - i)
                k = n - i;
            memcpy(p + i, w, k);
            i += k;
        }
    }
    return p;
}

/* One round trip: how to compress, what to decode it as, which data. */
struct rt_case {
    const char *name;
    enum wrap wrap;
    at_enc_kind kind;
    int type;       /* make_input type */
    size_t size;
};

static const struct rt_case rt_cases[] = {
    { "gzip_text", WRAP_GZIP, AT_ENC_GZIP, 0, 100000 },
    { "gzip_random", WRAP_GZIP, AT_ENC_GZIP, 1, 70000 },
    { "gzip_small", WRAP_GZIP, AT_ENC_GZIP, 0, 13 },
    { "gzip_empty", WRAP_GZIP, AT_ENC_GZIP, 0, 0 },
    { "gzip_one_byte", WRAP_GZIP, AT_ENC_GZIP, 1, 1 },
    { "deflate_zlib_text", WRAP_ZLIB, AT_ENC_DEFLATE, 0, 100000 },
    { "deflate_zlib_random", WRAP_ZLIB, AT_ENC_DEFLATE, 1, 70000 },
    { "deflate_zlib_empty", WRAP_ZLIB, AT_ENC_DEFLATE, 0, 0 },
    { "deflate_raw_text", WRAP_RAW, AT_ENC_DEFLATE, 0, 100000 },
    { "deflate_raw_random", WRAP_RAW, AT_ENC_DEFLATE, 1, 70000 },
    { "deflate_raw_small", WRAP_RAW, AT_ENC_DEFLATE, 0, 5 },
    { "deflate_raw_empty", WRAP_RAW, AT_ENC_DEFLATE, 0, 0 },
    { "deflate_raw_zeros", WRAP_RAW, AT_ENC_DEFLATE, 2, 300000 },
    /* labels that do not match the wrapper, as some servers send */
    { "gzip_label_zlib_data", WRAP_ZLIB, AT_ENC_GZIP, 0, 5000 },
    { "deflate_label_gzip_data", WRAP_GZIP, AT_ENC_DEFLATE, 0, 5000 },
    { "br_text", WRAP_BROTLI, AT_ENC_BROTLI, 0, 100000 },
    { "br_random", WRAP_BROTLI, AT_ENC_BROTLI, 1, 70000 },
    { "br_small", WRAP_BROTLI, AT_ENC_BROTLI, 0, 13 },
    { "br_empty", WRAP_BROTLI, AT_ENC_BROTLI, 0, 0 },
    { "br_zeros", WRAP_BROTLI, AT_ENC_BROTLI, 2, 300000 },
    { "zstd_text", WRAP_ZSTD, AT_ENC_ZSTD, 0, 100000 },
    { "zstd_random", WRAP_ZSTD, AT_ENC_ZSTD, 1, 70000 },
    { "zstd_small", WRAP_ZSTD, AT_ENC_ZSTD, 0, 13 },
    { "zstd_empty", WRAP_ZSTD, AT_ENC_ZSTD, 0, 0 },
    { "zstd_zeros", WRAP_ZSTD, AT_ENC_ZSTD, 2, 300000 },
};

#define N_RT_CASES (sizeof(rt_cases) / sizeof(rt_cases[0]))

/* check_rt: a round trip's result. */
static void check_rt(const struct rt_case *c, const struct dec_result *res,
                     const char *want, const char *how)
{
    cr_assert(!res->failed, "%s (%s): refused", c->name, how);
    cr_assert(res->finished, "%s (%s): not finished", c->name, how);
    cr_assert(!res->truncated, "%s (%s): truncated", c->name, how);
    cr_assert_eq(res->out.len, c->size, "%s (%s): %zu bytes", c->name, how,
                 res->out.len);
    cr_assert(c->size == 0 || memcmp(res->out.p, want, c->size) == 0,
              "%s (%s): output differs", c->name, how);
}

ParameterizedTestParameters(encoding, round_trip)
{
    static size_t idx[N_RT_CASES];
    size_t i;

    for (i = 0; i < N_RT_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_RT_CASES);
}

ParameterizedTest(size_t *ip, encoding, round_trip)
{
    const struct rt_case *c = &rt_cases[*ip];
    char *data = make_input(c->type, c->size, 99);
    size_t zlen;
    unsigned char *z = compress_with(c->wrap, data, c->size, &zlen);
    struct dec_result res;
    uint32_t k;

    feed_dec(c->kind, UINT64_MAX, z, zlen, SPLIT_WHOLE, 0, &res);
    check_rt(c, &res, data, "whole");
    free(res.out.p);
    feed_dec(c->kind, UINT64_MAX, z, zlen, SPLIT_ONE, 0, &res);
    check_rt(c, &res, data, "one byte at a time");
    free(res.out.p);
    for (k = 1; k <= 5; k++) {
        feed_dec(c->kind, UINT64_MAX, z, zlen, SPLIT_RANDOM, k, &res);
        check_rt(c, &res, data, "random pieces");
        free(res.out.p);
    }
    /* a stream cut short decodes what it has and is not finished */
    if (zlen > 8) {
        feed_dec(c->kind, UINT64_MAX, z, zlen - 4, SPLIT_ONE, 0, &res);
        cr_assert(!res.failed && !res.finished, "%s: cut stream",
                  c->name);
        cr_assert(res.out.len <= c->size);
        cr_assert(res.out.len == 0 ||
                  memcmp(res.out.p, data, res.out.len) == 0);
        free(res.out.p);
    }
    free(z);
    free(data);
}

/* Bytes after the end of the stream are ignored. */
Test(encoding, trailing_bytes_ignored)
{
    static const char text[] = "{\"ok\":true}";
    enum wrap w;

    for (w = WRAP_GZIP; w <= WRAP_RAW; w++) {
        size_t zlen, i;
        unsigned char *z = compress_with(w, text, sizeof(text) - 1, &zlen);
        unsigned char *zz = malloc(zlen + 10);
        struct dec_result res;

        cr_assert_not_null(zz);
        memcpy(zz, z, zlen);
        for (i = 0; i < 10; i++)
            zz[zlen + i] = (unsigned char)(0xff - i);
        feed_dec(w == WRAP_GZIP ? AT_ENC_GZIP : AT_ENC_DEFLATE, UINT64_MAX,
                 zz, zlen + 10, SPLIT_ONE, 0, &res);
        cr_assert(!res.failed && res.finished);
        cr_assert_eq(res.out.len, sizeof(text) - 1);
        cr_assert(memcmp(res.out.p, text, res.out.len) == 0);
        free(res.out.p);
        free(zz);
        free(z);
    }
}

/* Bytes after the end of a brotli stream are ignored; after a zstd frame
 * they must be another frame (RFC 8878), so garbage there is corrupt
 * input, but what came before stands. */
Test(encoding, trailing_bytes_br_zstd)
{
    static const char text[] = "{\"ok\":true}";
    size_t zlen, i;
    unsigned char *z = compress_with(WRAP_BROTLI, text, sizeof(text) - 1,
                                     &zlen);
    unsigned char *zz = malloc(zlen + 10);
    struct dec_result res;

    cr_assert_not_null(zz);
    memcpy(zz, z, zlen);
    for (i = 0; i < 10; i++)
        zz[zlen + i] = (unsigned char)(0xff - i);
    feed_dec(AT_ENC_BROTLI, UINT64_MAX, zz, zlen + 10, SPLIT_ONE, 0, &res);
    cr_assert(!res.failed && res.finished);
    cr_assert_eq(res.out.len, sizeof(text) - 1);
    cr_assert(memcmp(res.out.p, text, res.out.len) == 0);
    free(res.out.p);
    free(zz);
    free(z);

    z = compress_with(WRAP_ZSTD, text, sizeof(text) - 1, &zlen);
    zz = malloc(zlen + 10);
    cr_assert_not_null(zz);
    memcpy(zz, z, zlen);
    for (i = 0; i < 10; i++)
        zz[zlen + i] = (unsigned char)(0xff - i);
    feed_dec(AT_ENC_ZSTD, UINT64_MAX, zz, zlen + 10, SPLIT_WHOLE, 0, &res);
    cr_assert(res.failed);
    cr_assert_eq(res.out.len, sizeof(text) - 1);
    cr_assert(memcmp(res.out.p, text, res.out.len) == 0);
    free(res.out.p);
    free(zz);
    free(z);
}

/* zstd frames one after the other, a skippable frame between: all of
 * them, finished at the end of each whole frame only. */
Test(encoding, zstd_frames)
{
    static const unsigned char skip[] = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0,
                                         'a', 'b', 'c'};
    size_t l1, l2, n;
    unsigned char *a = compress_zstd("first ", 6, 0, 1, &l1);
    unsigned char *b = compress_zstd("second", 6, 0, 0, &l2);
    unsigned char *ab = malloc(l1 + sizeof(skip) + l2);
    enum split_mode m;
    struct dec_result res;

    cr_assert_not_null(ab);
    memcpy(ab, a, l1);
    memcpy(ab + l1, skip, sizeof(skip));
    memcpy(ab + l1 + sizeof(skip), b, l2);
    n = l1 + sizeof(skip) + l2;
    for (m = SPLIT_WHOLE; m <= SPLIT_RANDOM; m++) {
        feed_dec(AT_ENC_ZSTD, UINT64_MAX, ab, n, m, 11, &res);
        cr_assert(!res.failed && res.finished, "mode %d", (int)m);
        cr_assert_eq(res.out.len, 12);
        cr_assert(memcmp(res.out.p, "first second", 12) == 0);
        free(res.out.p);
    }
    /* the second frame cut short: not finished */
    feed_dec(AT_ENC_ZSTD, UINT64_MAX, ab, n - 2, SPLIT_WHOLE, 0, &res);
    cr_assert(!res.failed && !res.finished);
    cr_assert(res.out.len >= 6 && memcmp(res.out.p, "first ", 6) == 0);
    free(res.out.p);
    free(ab);
    free(a);
    free(b);
}

/* A zstd frame that needs a window over 8 MiB is refused (RFC 9659), with
 * no memory spent on it; the same data in an 8 MiB window is fine. */
Test(encoding, zstd_window_limit)
{
    enum { SIZE = 9 * 1024 * 1024 };
    char *data = make_input(0, SIZE, 3);
    size_t zlen;
    unsigned char *z;
    struct dec_result res;

    /* a 16 MiB window, cut to the content's 9 MiB */
    z = compress_zstd(data, SIZE, 24, 0, &zlen);
    feed_dec(AT_ENC_ZSTD, UINT64_MAX, z, zlen, SPLIT_WHOLE, 0, &res);
    cr_assert(res.failed);
    cr_assert_eq(res.out.len, 0);
    free(res.out.p);
    free(z);
    z = compress_zstd(data, SIZE, 23, 1, &zlen);
    feed_dec(AT_ENC_ZSTD, UINT64_MAX, z, zlen, SPLIT_RANDOM, 5, &res);
    cr_assert(!res.failed && res.finished);
    cr_assert_eq(res.out.len, SIZE);
    cr_assert(memcmp(res.out.p, data, SIZE) == 0);
    free(res.out.p);
    free(z);
    free(data);
}

/* Two gzip members: the first is decoded; stopping there is allowed. */
Test(encoding, gzip_multi_member)
{
    size_t l1, l2;
    unsigned char *a = compress_with(WRAP_GZIP, "first ", 6, &l1);
    unsigned char *b = compress_with(WRAP_GZIP, "second", 6, &l2);
    unsigned char *ab = malloc(l1 + l2);
    struct dec_result res;

    cr_assert_not_null(ab);
    memcpy(ab, a, l1);
    memcpy(ab + l1, b, l2);
    feed_dec(AT_ENC_GZIP, UINT64_MAX, ab, l1 + l2, SPLIT_WHOLE, 0, &res);
    cr_assert(!res.failed);
    cr_assert(res.out.len == 6 || res.out.len == 12);
    cr_assert(memcmp(res.out.p, "first second", res.out.len) == 0);
    free(res.out.p);
    free(ab);
    free(a);
    free(b);
}

/* A corrupt case: input, its length, and the coding it claims. */
struct bad_case {
    const char *name;
    at_enc_kind kind;
    int how;   /* 0: literal bytes; 1: flip a byte in the middle of a
                * gzip stream; 2: break the gzip CRC; 3: zlib Adler-32;
                * 4: the zstd content checksum; 5: gzip data */
    const char *bytes;
    size_t len;
};

static const struct bad_case bad_cases[] = {
    { "gzip_plain_text", AT_ENC_GZIP, 0, "this is not gzip at all", 23 },
    { "gzip_bad_magic", AT_ENC_GZIP, 0, "\x1f\x8c\x08\x00\x00\x00", 6 },
    { "gzip_bad_method", AT_ENC_GZIP, 0, "\x1f\x8b\x07\x00\x00\x00", 6 },
    { "deflate_reserved_block", AT_ENC_DEFLATE, 0, "\xff\xff\xff\xff", 4 },
    { "deflate_text", AT_ENC_DEFLATE, 0, "hello world, plain", 18 },
    { "deflate_zlib_dict", AT_ENC_DEFLATE, 0, "\x78\xbb\x00\x00\x00\x01",
      6 },
    { "gzip_flipped_byte", AT_ENC_GZIP, 1, NULL, 0 },
    { "gzip_bad_crc", AT_ENC_GZIP, 2, NULL, 0 },
    { "zlib_bad_adler", AT_ENC_DEFLATE, 3, NULL, 0 },
    { "br_plain_text", AT_ENC_BROTLI, 0, "this is not brotli at all", 25 },
    { "br_ff", AT_ENC_BROTLI, 0, "\xff\xff\xff\xff", 4 },
    { "br_json", AT_ENC_BROTLI, 0, "{\"a\":1}", 7 },
    { "zstd_plain_text", AT_ENC_ZSTD, 0, "this is not zstd", 16 },
    /* reserved header bit set */
    { "zstd_bad_frame_header", AT_ENC_ZSTD, 0,
      "\x28\xb5\x2f\xfd\x08\x00\x00\x00\x00\x00\x00\x00", 12 },
    { "zstd_bad_checksum", AT_ENC_ZSTD, 4, NULL, 0 },
    { "zstd_gzip_data", AT_ENC_ZSTD, 5, NULL, 0 },
};

#define N_BAD_CASES (sizeof(bad_cases) / sizeof(bad_cases[0]))

ParameterizedTestParameters(encoding, corrupt)
{
    static size_t idx[N_BAD_CASES];
    size_t i;

    for (i = 0; i < N_BAD_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_BAD_CASES);
}

ParameterizedTest(size_t *ip, encoding, corrupt)
{
    const struct bad_case *c = &bad_cases[*ip];
    unsigned char *buf;
    size_t len;
    struct dec_result res;
    enum split_mode m;

    if (c->how == 0) {
        len = c->len;
        buf = malloc(len);
        cr_assert_not_null(buf);
        memcpy(buf, c->bytes, len);
    } else if (c->how == 4) {
        char *data = make_input(0, 20000, 7);

        buf = compress_zstd(data, 20000, 0, 1, &len);
        buf[len - 1] ^= 0x01; /* the checksum is the frame's last 4 bytes */
        free(data);
    } else {
        char *data = make_input(0, 20000, 7);

        buf = compress_with(c->how == 3 ? WRAP_ZLIB : WRAP_GZIP, data,
                            20000, &len);
        if (c->how == 1)
            buf[len / 2] ^= 0x55;
        else if (c->how == 2)
            buf[len - 6] ^= 0x01;   /* CRC-32, before ISIZE */
        else if (c->how == 3)
            buf[len - 1] ^= 0x01;   /* Adler-32 */
        free(data);
    }
    for (m = SPLIT_WHOLE; m <= SPLIT_RANDOM; m++) {
        feed_dec(c->kind, UINT64_MAX, buf, len, m, 3, &res);
        cr_assert(res.failed, "%s (mode %d): accepted", c->name, (int)m);
        cr_assert(!res.finished, "%s", c->name);
        free(res.out.p);
    }
    free(buf);
}

/* read_file: a whole file; *len set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    cr_assert_not_null(f, "cannot open %s (run from the repo root)", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert(n > 0);
    rewind(f);
    buf = malloc((size_t)n);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The recorded gzip body of a real OpenAI response is JSON. */
Test(encoding, corpus_openai_gzip)
{
    size_t len;
    char *body = read_file("../shared/corpus/openai/chat_basic_2024/"
                           "response.body", &len);
    struct dec_result whole, one;
    json_error_t err;
    json_t *j;

    feed_dec(at_enc_parse("gzip", 4), UINT64_MAX, body, len, SPLIT_WHOLE,
             0, &whole);
    cr_assert(!whole.failed && whole.finished && !whole.truncated);
    feed_dec(AT_ENC_GZIP, UINT64_MAX, body, len, SPLIT_ONE, 0, &one);
    cr_assert(!one.failed && one.finished);
    cr_assert_eq(one.out.len, whole.out.len);
    cr_assert(memcmp(one.out.p, whole.out.p, whole.out.len) == 0);

    j = json_loadb(whole.out.p, whole.out.len, 0, &err);
    cr_assert_not_null(j, "not JSON: %s", err.text);
    cr_assert(json_is_object(j));
    cr_assert_str_eq(json_string_value(json_object_get(j, "object")),
                     "chat.completion");
    cr_assert(json_is_array(json_object_get(j, "choices")));
    json_decref(j);
    free(whole.out.p);
    free(one.out.p);
    free(body);
}

/* A bomb: 10 MB of zeros stops at max_out, exactly. */
Test(encoding, bomb_truncated)
{
    enum { TEN_MB = 10 * 1024 * 1024, ONE_MB = 1024 * 1024 };
    char *zeros = calloc(1, TEN_MB);
    enum wrap w;

    cr_assert_not_null(zeros);
    for (w = WRAP_GZIP; w <= WRAP_ZSTD; w++) {
        size_t zlen, i;
        unsigned char *z = compress_with(w, zeros, TEN_MB, &zlen);
        at_enc_kind kind = w == WRAP_GZIP     ? AT_ENC_GZIP
                           : w == WRAP_BROTLI ? AT_ENC_BROTLI
                           : w == WRAP_ZSTD   ? AT_ENC_ZSTD
                                              : AT_ENC_DEFLATE;
        enum split_mode m;

        cr_assert(zlen < 64 * 1024);
        for (m = SPLIT_WHOLE; m <= SPLIT_ONE; m++) {
            struct dec_result res;

            feed_dec(kind, ONE_MB, z, zlen, m, 0, &res);
            cr_assert(!res.failed);
            cr_assert(res.truncated);
            cr_assert(!res.finished);
            cr_assert_eq(res.out.len, ONE_MB);
            for (i = 0; i < ONE_MB; i++)
                if (res.out.p[i] != 0)
                    cr_assert_fail("non-zero output at %zu", i);
            free(res.out.p);
        }
        free(z);
    }
    free(zeros);
}

/* max_out exactly the size is not a truncation; one less is. */
Test(encoding, max_out_boundary)
{
    char *data = make_input(0, 50000, 5);
    size_t zlen;
    unsigned char *z = compress_with(WRAP_GZIP, data, 50000, &zlen);
    struct dec_result res;

    feed_dec(AT_ENC_GZIP, 50000, z, zlen, SPLIT_ONE, 0, &res);
    cr_assert(!res.truncated && res.finished && res.out.len == 50000);
    free(res.out.p);
    feed_dec(AT_ENC_GZIP, 49999, z, zlen, SPLIT_WHOLE, 0, &res);
    cr_assert(res.truncated && res.out.len == 49999);
    cr_assert(memcmp(res.out.p, data, 49999) == 0);
    free(res.out.p);
    feed_dec(AT_ENC_GZIP, 0, z, zlen, SPLIT_WHOLE, 0, &res);
    cr_assert(res.truncated && res.out.len == 0 && res.out.calls == 0);
    free(z);
    free(data);
}

/* Identity passes bytes through, within max_out. */
Test(encoding, identity)
{
    struct dec_result res;

    feed_dec(AT_ENC_IDENTITY, UINT64_MAX, "abcdef", 6, SPLIT_ONE, 0, &res);
    cr_assert(!res.failed && res.finished && !res.truncated);
    cr_assert(res.out.len == 6 && memcmp(res.out.p, "abcdef", 6) == 0);
    free(res.out.p);
    feed_dec(AT_ENC_IDENTITY, 4, "abcdef", 6, SPLIT_WHOLE, 0, &res);
    cr_assert(res.truncated && res.finished);
    cr_assert(res.out.len == 4 && memcmp(res.out.p, "abcd", 4) == 0);
    free(res.out.p);
}

/* Constructor and accessor edge cases. */
Test(encoding, new_and_del)
{
    at_enc *d;

    cr_assert_null(at_enc_new(AT_ENC_UNKNOWN, 100));
    cr_assert_null(at_enc_new((at_enc_kind)42, 100));
    at_enc_del(NULL);
    cr_assert_eq(at_enc_feed(NULL, "x", 1, on_out, NULL), -1);
    d = at_enc_new(AT_ENC_DEFLATE, 100);
    cr_assert_not_null(d);
    cr_assert_eq(at_enc_finished(d), 0);
    cr_assert_eq(at_enc_feed(d, "", 0, on_out, NULL), 0);
    cr_assert_eq(at_enc_feed(d, "\x78", 1, on_out, NULL), 0);
    at_enc_del(d);   /* never started inflating: nothing to end */
    d = at_enc_new(AT_ENC_BROTLI, 100);
    cr_assert_not_null(d);
    cr_assert_eq(at_enc_finished(d), 0);
    cr_assert_eq(at_enc_feed(d, "", 0, on_out, NULL), 0);
    at_enc_del(d);
    d = at_enc_new(AT_ENC_ZSTD, 100);
    cr_assert_not_null(d);
    cr_assert_eq(at_enc_finished(d), 0);
    cr_assert_eq(at_enc_feed(d, "\x28\xb5", 2, on_out, NULL), 0);
    cr_assert_eq(at_enc_finished(d), 0);
    at_enc_del(d);
}

/* Content-Encoding values. */
Test(encoding, parse)
{
    static const struct {
        const char *v;
        at_enc_kind k;
    } t[] = {
        { "gzip", AT_ENC_GZIP },
        { " GZIP ", AT_ENC_GZIP },
        { "\tGzip\t", AT_ENC_GZIP },
        { "x-gzip", AT_ENC_GZIP },
        { "X-GZIP", AT_ENC_GZIP },
        { "deflate", AT_ENC_DEFLATE },
        { "Deflate ", AT_ENC_DEFLATE },
        { "identity", AT_ENC_IDENTITY },
        { "", AT_ENC_IDENTITY },
        { "   ", AT_ENC_IDENTITY },
        { "br", AT_ENC_BROTLI },
        { " BR", AT_ENC_BROTLI },
        { "zstd", AT_ENC_ZSTD },
        { "ZStd ", AT_ENC_ZSTD },
        { "identity, zstd", AT_ENC_ZSTD },
        { "brotli", AT_ENC_UNKNOWN },
        { "zst", AT_ENC_UNKNOWN },
        { "gzip, br", AT_ENC_UNKNOWN },
        { "br, zstd", AT_ENC_UNKNOWN },
        { "gzip,gzip", AT_ENC_UNKNOWN },
        { "deflate, gzip", AT_ENC_UNKNOWN },
        { "identity, gzip", AT_ENC_GZIP },
        { "gzipx", AT_ENC_UNKNOWN },
        { "gzi", AT_ENC_UNKNOWN },
        { "g zip", AT_ENC_UNKNOWN },
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        cr_assert_eq(at_enc_parse(t[i].v, strlen(t[i].v)), t[i].k,
                     "'%s' gave %d", t[i].v,
                     (int)at_enc_parse(t[i].v, strlen(t[i].v)));
    cr_assert_eq(at_enc_parse(NULL, 0), AT_ENC_IDENTITY);
    /* only `len` bytes are read */
    cr_assert_eq(at_enc_parse("gzip, br", 4), AT_ENC_GZIP);
}
