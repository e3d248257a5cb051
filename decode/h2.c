/* h2.c - HTTP/2 frame splitter and HPACK front end for a passive observer.
 *
 * Runs on the sink thread only: it allocates, and a direction's HPACK
 * decoder (hpack.c) is not shared.  Each direction is a small state
 * machine fed in pieces split anywhere: the client's 24-byte preface, then
 * frames.  A frame header (9 bytes) and the few fixed fields we read (pad
 * length, priority, promised stream, RST_STREAM and GOAWAY codes, one
 * SETTINGS entry) are gathered in small arrays; DATA payloads are never
 * copied: each piece is handed to the callback straight from the caller's
 * buffer.  Only header blocks are kept whole (HEADERS or PUSH_PROMISE plus
 * CONTINUATIONs, at most AT_H2_BLOCK_MAX bytes), and decoded in one go at
 * END_HEADERS, so the decoders are always between blocks when a SETTINGS
 * frame changes their table size.
 *
 * What counts as a connection error here (the direction fails, see h2.h):
 * a wrong preface; a first frame other than SETTINGS; padding that does
 * not fit in its frame; a CONTINUATION that continues nothing, or any
 * other frame (unknown types included) inside a header block; DATA,
 * HEADERS, PUSH_PROMISE, CONTINUATION or RST_STREAM on stream 0, SETTINGS
 * or GOAWAY on another stream; wrong lengths of SETTINGS, RST_STREAM and
 * GOAWAY; a header block over AT_H2_BLOCK_MAX or that does not inflate;
 * running out of memory.  Other frames are skipped without a look.
 *
 * The two directions share one fate: a SETTINGS frame of either side sizes
 * the other side's HPACK table, so once one direction is lost the other's
 * decoding cannot be trusted either, and the whole connection stops.
 */
#include "h2.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hpack.h"

/* Largest header block (compressed, all its frames together) kept;
 * anything bigger fails the connection. */
#define AT_H2_BLOCK_MAX (256u * 1024)

/* Largest decoded header list kept for one block, counted as HPACK does
 * (name + value + 32 per field).  Fields past it are still inflated, so
 * that the dynamic table stays right, but left out of the report. */
#define AT_H2_FIELDS_MAX (1024u * 1024)

/* Buffers grown past this are released after each block, so that an idle
 * connection does not keep a large allocation. */
#define AT_H2_KEEP_MAX (16u * 1024)

/* The client connection preface (RFC 9113 section 3.4). */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define AT_H2_PREFACE_LEN 24

#define AT_H2_FRAME_HEADER_LEN 9

/* Frame types and flags (RFC 9113 section 6). */
enum {
    FT_DATA = 0x0,
    FT_HEADERS = 0x1,
    FT_PRIORITY = 0x2,
    FT_RST_STREAM = 0x3,
    FT_SETTINGS = 0x4,
    FT_PUSH_PROMISE = 0x5,
    FT_PING = 0x6,
    FT_GOAWAY = 0x7,
    FT_WINDOW_UPDATE = 0x8,
    FT_CONTINUATION = 0x9
};

enum {
    FL_END_STREAM = 0x1,
    FL_ACK = 0x1,
    FL_END_HEADERS = 0x4,
    FL_PADDED = 0x8,
    FL_PRIORITY = 0x20
};

#define SETTINGS_HEADER_TABLE_SIZE 0x1
#define SETTINGS_ENTRY_LEN 6

/* Longest fixed field gathered: the 8 bytes at the start of GOAWAY (the
 * prefix of a padded HEADERS with priority is 6, of PUSH_PROMISE 5). */
#define AT_H2_FIX_MAX 8

/* One direction of the connection. */
struct h2_dir {
    at_hpack hp;          /* decodes this direction's header blocks */
    size_t preface_pos;       /* preface bytes matched (client only) */
    int seen_frame;           /* a first frame (SETTINGS) went by */

    /* The current frame. */
    unsigned char hdr[AT_H2_FRAME_HEADER_LEN];
    size_t hdr_len;       /* header bytes gathered; 9 = in the payload */
    uint32_t len;         /* payload length */
    uint32_t stream;      /* stream id, reserved bit cleared */
    uint8_t type, flags;
    uint32_t pos;         /* payload bytes consumed */
    uint32_t prefix;      /* pad length, priority, promised id: bytes */
    uint32_t pad;         /* trailing padding, known once prefix is read */
    unsigned char fix[AT_H2_FIX_MAX];
    size_t fix_len;       /* bytes gathered in fix */
    int end_sent;         /* DATA: end_stream already reported */

    /* The header block being gathered. */
    int in_block;         /* between HEADERS/PUSH_PROMISE and END_HEADERS */
    int block_report;     /* 0 for PUSH_PROMISE: inflate, report nothing */
    int block_end_stream; /* END_STREAM of the HEADERS frame */
    uint32_t block_stream;
    unsigned char *block;
    size_t block_len, block_cap;
};

/* Where a decoded field lives in the arena, until the report. */
struct h2_span {
    size_t name_off, name_len, value_off, value_len;
};

struct at_h2 {
    at_h2_callbacks cb;
    void *ud;
    int failed;
    struct h2_dir dir[2]; /* [0] server to client, [1] client to server */

    /* Scratch for inflating one block (blocks are inflated one at a
     * time): field bytes, their places, and the array reported. */
    char *arena;
    size_t arena_len, arena_cap;
    struct h2_span *spans;
    at_h2_field *fields;
    size_t nfields, fields_cap;
};

/* be24, be32: big-endian integers. */
static uint32_t be24(const unsigned char *b)
{
    return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
           (uint32_t)b[2] << 8 | b[3];
}

at_h2 *at_h2_new(const at_h2_callbacks *cb, void *ud)
{
    at_h2 *h = calloc(1, sizeof(*h));
    int i;

    if (h == NULL)
        return NULL;
    if (cb != NULL)
        h->cb = *cb;
    h->ud = ud;
    for (i = 0; i < 2; i++)
        at_hpack_init(&h->dir[i].hp);
    return h;
}

void at_h2_del(at_h2 *h)
{
    int i;

    if (h == NULL)
        return;
    for (i = 0; i < 2; i++) {
        at_hpack_free(&h->dir[i].hp);
        free(h->dir[i].block);
    }
    free(h->arena);
    free(h->spans);
    free(h->fields);
    free(h);
}

int at_h2_failed(const at_h2 *h)
{
    return h->failed;
}

/* add_field: copy one inflated field into the arena (NUL after the name
 * and after the value), unless the block's list is already over
 * AT_H2_FIELDS_MAX.  `*size` is the list's HPACK size so far.  Returns 0,
 * or -1 when memory ran out. */
static int add_field(at_h2 *h, const char *name, size_t nlen,
                     const char *value, size_t vlen, size_t *size)
{
    size_t cost = nlen + vlen + 32;
    size_t need = h->arena_len + nlen + vlen + 2;
    struct h2_span *s;
    void *p;

    if (cost > AT_H2_FIELDS_MAX - *size)
        return 0; /* left out: over the limit */
    *size += cost;
    p = at_grow(h->arena, &h->arena_cap, need, 1, 1024);
    if (p == NULL)
        return -1;
    h->arena = p;
    if (h->nfields == h->fields_cap) {
        size_t scap = h->fields_cap, fcap = h->fields_cap;

        /* spans and fields always have room for fields_cap entries. */
        p = at_grow(h->spans, &scap, h->nfields + 1, sizeof(*h->spans), 16);
        if (p == NULL)
            return -1;
        h->spans = p;
        p = at_grow(h->fields, &fcap, h->nfields + 1, sizeof(*h->fields), 16);
        if (p == NULL)
            return -1;
        h->fields = p;
        h->fields_cap = fcap;
    }
    s = &h->spans[h->nfields++];
    s->name_off = h->arena_len;
    s->name_len = nlen;
    memcpy(h->arena + h->arena_len, name, nlen);
    h->arena_len += nlen;
    h->arena[h->arena_len++] = '\0';
    s->value_off = h->arena_len;
    s->value_len = vlen;
    if (vlen)
        memcpy(h->arena + h->arena_len, value, vlen);
    h->arena_len += vlen;
    h->arena[h->arena_len++] = '\0';
    return 0;
}

/* release_scratch: forget the block just reported; give back buffers that
 * grew large. */
static void release_scratch(at_h2 *h, struct h2_dir *d)
{
    at_hpack_trim(&d->hp, AT_H2_KEEP_MAX);
    d->block_len = 0;
    if (d->block_cap > AT_H2_KEEP_MAX) {
        free(d->block);
        d->block = NULL;
        d->block_cap = 0;
    }
    h->arena_len = 0;
    h->nfields = 0;
    if (h->arena_cap > AT_H2_KEEP_MAX) {
        free(h->arena);
        h->arena = NULL;
        h->arena_cap = 0;
    }
    if (h->fields_cap > AT_H2_KEEP_MAX / sizeof(*h->fields)) {
        free(h->spans);
        free(h->fields);
        h->spans = NULL;
        h->fields = NULL;
        h->fields_cap = 0;
    }
}

/* A block being inflated: where emit_field puts its fields. */
struct h2_emit {
    at_h2 *h;
    size_t size;  /* the list's HPACK size so far */
    int report;   /* 0: PUSH_PROMISE, decoded for the table only */
};

static int emit_field(void *ud, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    struct h2_emit *e = ud;

    return e->report ? add_field(e->h, name, nlen, value, vlen, &e->size)
                     : 0;
}

/* finish_block: inflate the complete header block of `d` and, unless it
 * came with PUSH_PROMISE, report it.  Returns 0, or -1 when the block does
 * not inflate or memory ran out. */
static int finish_block(at_h2 *h, struct h2_dir *d, int from_client)
{
    struct h2_emit e = { h, 0, d->block_report };
    at_h2_field none = { "", 0, "", 0 };
    size_t i;

    h->arena_len = 0;
    h->nfields = 0;
    if (at_hpack_decode(&d->hp, d->block, d->block_len, emit_field, &e) != 0)
        return -1;
    d->in_block = 0;
    if (d->block_report && h->cb.headers != NULL) {
        for (i = 0; i < h->nfields; i++) {
            h->fields[i].name = h->arena + h->spans[i].name_off;
            h->fields[i].name_len = h->spans[i].name_len;
            h->fields[i].value = h->arena + h->spans[i].value_off;
            h->fields[i].value_len = h->spans[i].value_len;
        }
        h->cb.headers(h->ud, d->block_stream, from_client,
                      h->nfields ? h->fields : &none, h->nfields,
                      d->block_end_stream);
    }
    release_scratch(h, d);
    return 0;
}

/* begin_frame: the 9-byte header of `d` is complete: check the frame
 * against the connection's state and set up its payload.  Returns 0, or
 * -1 for a connection error. */
static int begin_frame(struct h2_dir *d)
{
    uint8_t t;

    d->len = be24(d->hdr);
    d->type = t = d->hdr[3];
    d->flags = d->hdr[4];
    d->stream = be32(d->hdr + 5) & 0x7fffffffu;
    d->pos = 0;
    d->pad = 0;
    d->prefix = 0;
    d->fix_len = 0;
    d->end_sent = 0;

    if (!d->seen_frame) {
        /* Both sides open with a SETTINGS frame (section 3.4). */
        if (t != FT_SETTINGS || (d->flags & FL_ACK))
            return -1;
        d->seen_frame = 1;
    }
    if (d->in_block) {
        if (t != FT_CONTINUATION || d->stream != d->block_stream)
            return -1;
    } else if (t == FT_CONTINUATION) {
        return -1;
    }

    switch (t) {
    case FT_DATA:
    case FT_HEADERS:
    case FT_PUSH_PROMISE:
        if (d->stream == 0)
            return -1;
        if (d->flags & FL_PADDED)
            d->prefix += 1;
        if (t == FT_HEADERS && (d->flags & FL_PRIORITY))
            d->prefix += 5;
        if (t == FT_PUSH_PROMISE)
            d->prefix += 4;
        if (d->len < d->prefix)
            return -1;
        if (t != FT_DATA) {
            d->in_block = 1;
            d->block_report = t == FT_HEADERS;
            d->block_end_stream = t == FT_HEADERS &&
                                  (d->flags & FL_END_STREAM);
            d->block_stream = d->stream;
            d->block_len = 0;
        }
        break;
    case FT_CONTINUATION:
    case FT_RST_STREAM:
        if (d->stream == 0)
            return -1;
        if (t == FT_RST_STREAM && d->len != 4)
            return -1;
        break;
    case FT_SETTINGS:
        if (d->stream != 0 || d->len % SETTINGS_ENTRY_LEN != 0 ||
            ((d->flags & FL_ACK) && d->len != 0))
            return -1;
        break;
    case FT_GOAWAY:
        if (d->stream != 0 || d->len < 8)
            return -1;
        break;
    default:
        break;
    }
    return 0;
}

/* end_frame: the payload of the current frame of `d` is complete.
 * Returns 0, or -1 for a connection error. */
static int end_frame(at_h2 *h, struct h2_dir *d, int from_client)
{
    int rc = 0;

    switch (d->type) {
    case FT_DATA:
        if ((d->flags & FL_END_STREAM) && !d->end_sent &&
            h->cb.data != NULL)
            h->cb.data(h->ud, d->stream, from_client, "", 0, 1);
        break;
    case FT_HEADERS:
    case FT_PUSH_PROMISE:
    case FT_CONTINUATION:
        if (d->flags & FL_END_HEADERS)
            rc = finish_block(h, d, from_client);
        break;
    case FT_RST_STREAM:
        if (h->cb.reset != NULL)
            h->cb.reset(h->ud, d->stream, from_client, be32(d->fix));
        break;
    default:
        break;
    }
    d->hdr_len = 0;
    return rc;
}

/* settings_entry: one complete SETTINGS entry in d->fix, sent by the
 * side `from_client`.  Its HEADER_TABLE_SIZE bounds the encoder of the
 * other side, hence bounds the HPACK table of the other direction. */
static void settings_entry(at_h2 *h, const struct h2_dir *d, int from_client)
{
    uint32_t id = (uint32_t)d->fix[0] << 8 | d->fix[1];

    if (id == SETTINGS_HEADER_TABLE_SIZE)
        at_hpack_set_limit(&h->dir[!from_client].hp, be32(d->fix + 2));
}

/* gather: move up to `want - d->fix_len` bytes of p[0 .. n) into d->fix.
 * Returns how many were taken. */
static size_t gather(struct h2_dir *d, const char *p, size_t n, size_t want)
{
    size_t k = want - d->fix_len;

    if (k > n)
        k = n;
    memcpy(d->fix + d->fix_len, p, k);
    d->fix_len += k;
    return k;
}

/* payload: consume payload bytes of the current frame from p[0 .. n),
 * which holds no more than what is left of the frame.  Returns how many
 * bytes were consumed (at least one when n > 0), or -1 for a connection
 * error. */
static long long payload(at_h2 *h, struct h2_dir *d, int from_client,
                         const char *p, size_t n)
{
    size_t k;
    uint32_t body_end;
    void *q;

    /* The prefix: pad length, then priority or promised stream. */
    if (d->pos < d->prefix) {
        k = gather(d, p, n, d->prefix);
        if (d->fix_len == d->prefix && (d->flags & FL_PADDED)) {
            d->pad = d->fix[0];
            if ((uint64_t)d->prefix + d->pad > d->len)
                return -1;
        }
        if (d->fix_len == d->prefix)
            d->fix_len = 0;
        return (long long)k;
    }

    body_end = d->len - d->pad;
    if (d->pos >= body_end)
        return (long long)n; /* padding */
    k = body_end - d->pos;
    if (k > n)
        k = n;

    switch (d->type) {
    case FT_DATA: {
        int end = (d->flags & FL_END_STREAM) && d->pos + k == d->len;

        if (h->cb.data != NULL)
            h->cb.data(h->ud, d->stream, from_client, p, k, end);
        d->end_sent = end;
        return (long long)k;
    }
    case FT_HEADERS:
    case FT_PUSH_PROMISE:
    case FT_CONTINUATION:
        if (k > AT_H2_BLOCK_MAX - d->block_len)
            return -1;
        q = at_grow(d->block, &d->block_cap, d->block_len + k, 1, 1024);
        if (q == NULL)
            return -1;
        d->block = q;
        memcpy(d->block + d->block_len, p, k);
        d->block_len += k;
        return (long long)k;
    case FT_SETTINGS:
        k = gather(d, p, k, SETTINGS_ENTRY_LEN);
        if (d->fix_len == SETTINGS_ENTRY_LEN) {
            d->fix_len = 0;
            settings_entry(h, d, from_client);
        }
        return (long long)k;
    case FT_RST_STREAM:
        return (long long)gather(d, p, k, 4);
    case FT_GOAWAY:
        if (d->pos >= 8)
            return (long long)k; /* debug data */
        k = gather(d, p, k, 8);
        if (d->fix_len == 8 && h->cb.goaway != NULL)
            h->cb.goaway(h->ud, from_client, be32(d->fix) & 0x7fffffffu,
                         be32(d->fix + 4));
        return (long long)k;
    default:
        return (long long)k; /* skipped */
    }
}

/* feed_dir: the state machine of one direction over p[0 .. n).  Returns
 * 0, or -1 for a connection error. */
static int feed_dir(at_h2 *h, struct h2_dir *d, int from_client,
                    const char *p, size_t n)
{
    while (n > 0 || (d->hdr_len == AT_H2_FRAME_HEADER_LEN &&
                     d->pos == d->len)) {
        size_t k;

        if (from_client && d->preface_pos < AT_H2_PREFACE_LEN) {
            k = AT_H2_PREFACE_LEN - d->preface_pos;
            if (k > n)
                k = n;
            if (memcmp(p, h2_preface + d->preface_pos, k) != 0)
                return -1;
            d->preface_pos += k;
        } else if (d->hdr_len < AT_H2_FRAME_HEADER_LEN) {
            k = AT_H2_FRAME_HEADER_LEN - d->hdr_len;
            if (k > n)
                k = n;
            memcpy(d->hdr + d->hdr_len, p, k);
            d->hdr_len += k;
            if (d->hdr_len == AT_H2_FRAME_HEADER_LEN &&
                begin_frame(d) != 0)
                return -1;
        } else if (d->pos == d->len) {
            /* Payload complete (possibly empty): close the frame. */
            if (end_frame(h, d, from_client) != 0)
                return -1;
            k = 0;
        } else {
            long long r;

            k = d->len - d->pos;
            if (k > n)
                k = n;
            r = payload(h, d, from_client, p, k);
            if (r < 0)
                return -1;
            k = (size_t)r;
            d->pos += (uint32_t)k;
        }
        p += k;
        n -= k;
    }
    return 0;
}

int at_h2_feed(at_h2 *h, int from_client, const char *p, size_t n)
{
    from_client = from_client != 0;
    if (h->failed)
        return -1;
    if (n == 0)
        return 0;
    if (feed_dir(h, &h->dir[from_client], from_client, p, n) != 0) {
        h->failed = 1;
        return -1;
    }
    return 0;
}
