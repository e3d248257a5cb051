/* encoding.c - streaming Content-Encoding decoders: gzip and deflate on
 * zlib, br on libbrotlidec, zstd on libzstd.
 *
 * Runs on the sink thread only: it allocates (the decoder, the window).
 * Output goes to the caller's callback in pieces of at most
 * AT_ENC_OUT_CHUNK bytes and stops for good at max_out, so a decompression
 * bomb costs no more than max_out bytes of inflating.
 */
#define ZLIB_CONST
#include "encoding.h"

#include <brotli/decode.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

/* Size of the output piece inflated at a time. */
#define AT_ENC_OUT_CHUNK 16384

/* Most input handed to one inflate() call (avail_in is an unsigned int). */
#define AT_ENC_IN_SLICE (1u << 30)

/* Largest zstd window accepted: 2^23 = 8 MiB, the limit RFC 9659 sets for
 * "zstd" in HTTP; a frame asking for more is refused as corrupt. */
#define AT_ENC_ZSTD_WINDOW_LOG 23

struct at_enc {
    at_enc_kind kind;
    uint64_t max_out;     /* output cap */
    uint64_t out_total;   /* output delivered so far */
    int started;          /* inflateInit2 done: zs must be ended */
    int finished;         /* end of the compressed stream seen */
    int truncated;        /* output dropped at max_out */
    int failed;           /* corrupt input seen; refuse further input */
    unsigned char head[2];  /* deflate: first bytes, held until the */
    size_t head_len;        /* wrapper (zlib, gzip or raw) is known */
    z_stream zs;
    BrotliDecoderState *br;  /* AT_ENC_BROTLI */
    ZSTD_DStream *zd;        /* AT_ENC_ZSTD */
    unsigned char out[AT_ENC_OUT_CHUNK];
};

/* libzstd calls these tracing hooks when they exist: the static archive
 * refers to them weakly, so an unresolved reference would be looked up in
 * the host program.  Defined here (hidden, as every symbol of the shim)
 * and declining to trace, they keep the shim's copy of libzstd from ever
 * calling into the host. */
unsigned long long ZSTD_trace_decompress_begin(const void *dctx);
void ZSTD_trace_decompress_end(unsigned long long ctx, const void *trace);

unsigned long long ZSTD_trace_decompress_begin(const void *dctx)
{
    (void)dctx;
    return 0; /* no tracing: _end is then never called */
}

void ZSTD_trace_decompress_end(unsigned long long ctx, const void *trace)
{
    (void)ctx;
    (void)trace;
}

/* is_ows: SP or HTAB. */
static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* name_is: ASCII case-insensitive: s[0 .. n) equals the lowercase
 * `name`. */
static int name_is(const char *s, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (name[i] == '\0' || c != name[i])
            return 0;
    }
    return name[n] == '\0';
}

at_enc_kind at_enc_parse(const char *value, size_t len)
{
    at_enc_kind found = AT_ENC_IDENTITY;
    int codings = 0;
    size_t i = 0;

    if (value == NULL)
        return AT_ENC_IDENTITY;
    /* a list of codings: identity elements and empty ones change
     * nothing; one other coding is that coding; two are stacked */
    while (i <= len) {
        size_t s = i, e;
        at_enc_kind k;

        while (i < len && value[i] != ',')
            i++;
        e = i++;
        while (s < e && is_ows(value[s]))
            s++;
        while (e > s && is_ows(value[e - 1]))
            e--;
        if (e == s || name_is(value + s, e - s, "identity"))
            continue;
        if (name_is(value + s, e - s, "gzip") ||
            name_is(value + s, e - s, "x-gzip"))
            k = AT_ENC_GZIP;
        else if (name_is(value + s, e - s, "deflate"))
            k = AT_ENC_DEFLATE;
        else if (name_is(value + s, e - s, "br"))
            k = AT_ENC_BROTLI;
        else if (name_is(value + s, e - s, "zstd"))
            k = AT_ENC_ZSTD;
        else
            return AT_ENC_UNKNOWN;
        if (++codings > 1)
            return AT_ENC_UNKNOWN;
        found = k;
    }
    return found;
}

at_enc *at_enc_new(at_enc_kind kind, uint64_t max_out)
{
    at_enc *d;

    if (kind != AT_ENC_IDENTITY && kind != AT_ENC_GZIP &&
        kind != AT_ENC_DEFLATE && kind != AT_ENC_BROTLI &&
        kind != AT_ENC_ZSTD)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->kind = kind;
    d->max_out = max_out;
    if (kind == AT_ENC_BROTLI) {
        d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (d->br == NULL) {
            free(d);
            return NULL;
        }
        return d;
    }
    if (kind == AT_ENC_ZSTD) {
        d->zd = ZSTD_createDStream();
        if (d->zd == NULL ||
            ZSTD_isError(ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax,
                                                AT_ENC_ZSTD_WINDOW_LOG))) {
            ZSTD_freeDStream(d->zd);
            free(d);
            return NULL;
        }
        return d;
    }
    if (kind == AT_ENC_GZIP) {
        /* 32: accept a gzip or a zlib header, as "gzip" is sometimes
         * zlib-wrapped in practice */
        if (inflateInit2(&d->zs, 32 + MAX_WBITS) != Z_OK) {
            free(d);
            return NULL;
        }
        d->started = 1;
    }
    return d;
}

/* emit: hand n output bytes to cb, within max_out.  Returns 1 when some
 * were dropped (the decoder is then truncated), else 0. */
static int emit(at_enc *d, const unsigned char *data, size_t n,
                at_enc_out_cb cb, void *ud)
{
    uint64_t room = d->max_out - d->out_total;
    size_t give = (uint64_t)n > room ? (size_t)room : n;

    if (give > 0 && cb != NULL)
        cb(ud, (const char *)data, give);
    d->out_total += give;
    if (give < n) {
        d->truncated = 1;
        return 1;
    }
    return 0;
}

/* inflate_slice: inflate n (<= AT_ENC_IN_SLICE) input bytes until they
 * are used up, the stream ends, output is cut at max_out, or the input is
 * found corrupt (sets failed). */
static void inflate_slice(at_enc *d, const unsigned char *in, size_t n,
                          at_enc_out_cb cb, void *ud)
{
    d->zs.next_in = in;
    d->zs.avail_in = (uInt)n;
    for (;;) {
        size_t have;
        int ret;

        d->zs.next_out = d->out;
        d->zs.avail_out = sizeof(d->out);
        ret = inflate(&d->zs, Z_NO_FLUSH);
        have = sizeof(d->out) - d->zs.avail_out;
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
            /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, Z_STREAM_ERROR */
            d->failed = 1;
            return;
        }
        if (have > 0 && emit(d, d->out, have, cb, ud))
            return;
        if (ret == Z_STREAM_END) {
            d->finished = 1;
            return;
        }
        if (ret == Z_BUF_ERROR) {
            /* no progress: fine when the input is used up, a corrupt
             * state otherwise */
            if (d->zs.avail_in != 0)
                d->failed = 1;
            return;
        }
        if (d->zs.avail_in == 0 && d->zs.avail_out != 0)
            return;
    }
}

/* inflate_input: inflate any amount of input, slice by slice. */
static void inflate_input(at_enc *d, const unsigned char *in, size_t n,
                          at_enc_out_cb cb, void *ud)
{
    while (n > 0 && !d->failed && !d->finished && !d->truncated) {
        size_t take = n > AT_ENC_IN_SLICE ? AT_ENC_IN_SLICE : n;

        inflate_slice(d, in, take, cb, ud);
        in += take;
        n -= take;
    }
}

/* deflate_window_bits: the windowBits for inflateInit2 given the first two
 * bytes of a "deflate" body: a valid zlib header (RFC 1950: method 8,
 * window <= 32K, check bits) or a gzip magic means wrapped, auto-detected;
 * anything else is taken for raw deflate, as some servers send. */
static int deflate_window_bits(const unsigned char h[2])
{
    unsigned cmf = h[0], flg = h[1];

    if ((cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0)
        return 32 + MAX_WBITS;
    if (cmf == 0x1f && flg == 0x8b)
        return 32 + MAX_WBITS;
    return -MAX_WBITS;
}

/* brotli_input: decode any amount of brotli input until it is used up,
 * the stream ends (later bytes are ignored), output is cut at max_out, or
 * the input is found corrupt (sets failed). */
static void brotli_input(at_enc *d, const unsigned char *in, size_t n,
                         at_enc_out_cb cb, void *ud)
{
    while (!d->failed && !d->finished && !d->truncated) {
        uint8_t *next_out = d->out;
        size_t avail_out = sizeof(d->out);
        BrotliDecoderResult r;
        size_t have;

        r = BrotliDecoderDecompressStream(d->br, &n, &in, &avail_out,
                                          &next_out, NULL);
        have = sizeof(d->out) - avail_out;
        if (r == BROTLI_DECODER_RESULT_ERROR) {
            d->failed = 1;
            return;
        }
        if (have > 0 && emit(d, d->out, have, cb, ud))
            return;
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            d->finished = 1;
            return;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            return; /* n is 0: all input taken */
        /* NEEDS_MORE_OUTPUT: go round with an empty buffer */
    }
}

/* zstd_input: decode any amount of zstd input (frames one after the
 * other) until it is used up and flushed, output is cut at max_out, or
 * the input is found corrupt (sets failed).  `finished` tells whether the
 * input so far ends with a whole frame. */
static void zstd_input(at_enc *d, const unsigned char *in, size_t n,
                       at_enc_out_cb cb, void *ud)
{
    ZSTD_inBuffer ib = {in, n, 0};

    while (!d->failed && !d->truncated) {
        ZSTD_outBuffer ob = {d->out, sizeof(d->out), 0};
        size_t before = ib.pos;
        size_t r = ZSTD_decompressStream(d->zd, &ob, &ib);

        if (ZSTD_isError(r)) {
            d->failed = 1;
            return;
        }
        d->finished = r == 0;
        if (ob.pos > 0 && emit(d, d->out, ob.pos, cb, ud))
            return;
        /* done when the input is used up and nothing more is held back:
         * a frame ended and was flushed (0; asking again would start the
         * next frame), or the output buffer was not filled */
        if (ib.pos == ib.size && (r == 0 || ob.pos < ob.size))
            return;
        if (ib.pos == before && ob.pos == 0) { /* no progress: cannot be */
            d->failed = 1;
            return;
        }
    }
}

int at_enc_feed(at_enc *d, const char *in, size_t len, at_enc_out_cb cb,
                void *ud)
{
    const unsigned char *s = (const unsigned char *)in;

    if (d == NULL || d->failed)
        return -1;
    if (d->truncated || len == 0)
        return 0;
    if (d->kind == AT_ENC_ZSTD) { /* a frame may follow a finished one */
        zstd_input(d, s, len, cb, ud);
        return d->failed ? -1 : 0;
    }
    if (d->finished)
        return 0;
    if (d->kind == AT_ENC_IDENTITY) {
        emit(d, s, len, cb, ud);
        return 0;
    }
    if (d->kind == AT_ENC_BROTLI) {
        brotli_input(d, s, len, cb, ud);
        return d->failed ? -1 : 0;
    }
    if (!d->started) {
        /* deflate: wait for two bytes to tell zlib-wrapped from raw */
        while (d->head_len < sizeof(d->head) && len > 0) {
            d->head[d->head_len++] = *s++;
            len--;
        }
        if (d->head_len < sizeof(d->head))
            return 0;
        if (inflateInit2(&d->zs, deflate_window_bits(d->head)) != Z_OK) {
            d->failed = 1;
            return -1;
        }
        d->started = 1;
        inflate_input(d, d->head, sizeof(d->head), cb, ud);
    }
    inflate_input(d, s, len, cb, ud);
    return d->failed ? -1 : 0;
}

int at_enc_finished(const at_enc *d)
{
    if (d == NULL)
        return 0;
    return d->kind == AT_ENC_IDENTITY ? 1 : d->finished;
}

int at_enc_truncated(const at_enc *d)
{
    return d != NULL && d->truncated;
}

void at_enc_del(at_enc *d)
{
    if (d == NULL)
        return;
    if (d->started)
        inflateEnd(&d->zs);
    if (d->br != NULL)
        BrotliDecoderDestroyInstance(d->br);
    ZSTD_freeDStream(d->zd); /* NULL is fine */
    free(d);
}
