/* encoding.h - streaming Content-Encoding decoders (gzip, deflate, br,
 * zstd).
 *
 * Sink thread only.  Output is delivered through a callback in pieces, so a
 * decoder never holds more than its window (zlib 32 KiB, brotli up to
 * 16 MiB, zstd up to 8 MiB: larger zstd windows are refused, as RFC 9659
 * allows for HTTP); the caller bounds what it keeps.  A decompressed size
 * is also capped (`max_out`): a decompression bomb stops there, with
 * `truncated` set.
 */
#ifndef AT_ENCODING_H
#define AT_ENCODING_H

#include <stddef.h>
#include <stdint.h>

typedef enum at_enc_kind {
    AT_ENC_IDENTITY = 0,  /* no header, "identity" */
    AT_ENC_GZIP,          /* "gzip", "x-gzip" */
    AT_ENC_DEFLATE,       /* "deflate": zlib-wrapped, or raw as some send */
    AT_ENC_UNKNOWN,       /* anything else, or several codings stacked */
    AT_ENC_BROTLI,        /* "br" (RFC 7932) */
    AT_ENC_ZSTD           /* "zstd" (RFC 8878): one or more frames */
} at_enc_kind;

/* at_enc_parse: the coding named by a Content-Encoding header value
 * (case-insensitive, surrounding whitespace ignored).  NULL or empty means
 * identity. */
at_enc_kind at_enc_parse(const char *value, size_t len);

typedef void (*at_enc_out_cb)(void *ud, const char *data, size_t len);

typedef struct at_enc at_enc;

/* at_enc_new: a decoder for `kind` (IDENTITY passes bytes through; UNKNOWN
 * is refused: returns NULL).  Output past `max_out` bytes is dropped and
 * at_enc_truncated() becomes 1.  Returns NULL on allocation failure. */
at_enc *at_enc_new(at_enc_kind kind, uint64_t max_out);

/* at_enc_feed: decode `len` input bytes, calling `cb` with output.  Returns
 * 0, or -1 when the input is corrupt (the decoder then refuses further
 * input; what was output so far stands).  Bytes after the end of a gzip
 * member, deflate stream or brotli stream are ignored; zstd frames may
 * follow one another (anything else after a frame is corrupt input). */
int at_enc_feed(at_enc *d, const char *in, size_t len, at_enc_out_cb cb,
                void *ud);

/* at_enc_finished: 1 once the compressed stream's end marker was seen (always
 * 1 for IDENTITY; zstd: the input so far ends with a whole frame). */
int at_enc_finished(const at_enc *d);

/* at_enc_truncated: 1 if output was dropped at max_out. */
int at_enc_truncated(const at_enc *d);

/* at_enc_del: free the decoder (NULL is fine). */
void at_enc_del(at_enc *d);

#endif
