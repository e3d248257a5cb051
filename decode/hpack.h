/* hpack.h - HPACK header block decoder (RFC 7541), for one direction of
 * an HTTP/2 connection seen by a passive observer.
 *
 * A decoder holds the dynamic table the peer's encoder maintains, and
 * decodes whole header blocks: indexed fields (static table, Appendix A,
 * and dynamic table), literals with and without indexing, never-indexed
 * literals, Huffman-coded strings (Appendix B) and dynamic table size
 * updates.  Every malformed input is an error the caller turns into the
 * connection's failure: an index of 0 or past the tables, an integer too
 * large, a string running past the block, Huffman padding longer than
 * seven bits or not all ones, an EOS symbol inside a string, a size update
 * above the limit SETTINGS allowed.  After an error the table may no
 * longer be the encoder's: the decoder must not be used again.
 *
 * The table's memory: its entries (at most `max` bytes counted as HPACK
 * does, name + value + 32 each) in one buffer, plus a scratch buffer for
 * Huffman-decoded strings; both grow on demand and shrink back after a
 * large block (at_hpack_trim).  No static state: any number of decoders,
 * one thread each. */
#ifndef AT_HPACK_H
#define AT_HPACK_H

#include <stddef.h>
#include <stdint.h>

/* The largest dynamic table a peer may announce that we keep (SETTINGS
 * allows 2^32 - 1): a connection whose encoder is allowed a bigger one
 * fails when its table actually grows past this. */
#define AT_HPACK_TABLE_MAX (1u << 20)

typedef struct at_hpack_entry {
    uint32_t off;          /* in tab: the name, then the value */
    uint32_t name_len, value_len;
} at_hpack_entry;

/* The last Huffman strings decoded, by their bytes: a client's and a
 * server's encoders send the same literals block after block (a path, a
 * length, a server's name, a header never indexed), and a string whose
 * bytes were decoded before is copied from here instead. */
#define AT_HPACK_MEMO 16
#define AT_HPACK_MEMO_IN 48     /* Huffman bytes of a string kept */
typedef struct at_hpack_memo {
    uint8_t in_len;             /* 0: empty */
    uint8_t out_len;
    uint8_t in[AT_HPACK_MEMO_IN];
    char out[AT_HPACK_MEMO_IN * 8 / 5];
} at_hpack_memo;

typedef struct at_hpack {
    uint32_t limit;        /* SETTINGS_HEADER_TABLE_SIZE (default 4096) */
    uint32_t max;          /* current maximum size (<= limit) */
    uint32_t size;         /* current size, HPACK's way */
    /* entries, oldest first: ent[ent_head .. ent_head + n) */
    at_hpack_entry *ent;
    size_t ent_head, n, ent_cap;
    /* their bytes: tab[tab_head .. tab_len) */
    char *tab;
    size_t tab_head, tab_len, tab_cap;
    /* Huffman output of the field being decoded */
    char *scratch;
    size_t scratch_cap;
    at_hpack_memo memo[AT_HPACK_MEMO];
} at_hpack;

/* at_hpack_emit: one decoded field; name and value are valid until the
 * next call (not NUL-terminated).  Return nonzero to stop decoding (the
 * block then fails). */
typedef int (*at_hpack_emit)(void *ud, const char *name, size_t name_len,
                             const char *value, size_t value_len);

/* at_hpack_init: an empty table of 4096 bytes, HTTP/2's default. */
void at_hpack_init(at_hpack *d);

/* at_hpack_free: release its memory (the decoder can be initialised
 * again). */
void at_hpack_free(at_hpack *d);

/* at_hpack_set_limit: the peer's SETTINGS_HEADER_TABLE_SIZE for this
 * encoder.  A table already larger shrinks to it at once. */
void at_hpack_set_limit(at_hpack *d, uint32_t limit);

/* at_hpack_decode: decode one complete header block in[0 .. n) (in may be
 * NULL when n is 0), calling emit for each field in order.  Returns 0, or
 * -1 on malformed input, an emit that returned nonzero, or memory
 * exhausted. */
int at_hpack_decode(at_hpack *d, const uint8_t *in, size_t n,
                    at_hpack_emit emit, void *ud);

/* at_hpack_huffman: decode the Huffman string in[0 .. n) into out, which
 * has room for at least n * 8 / 5 bytes.  Returns the length, or -1 when
 * it is not a valid string. */
long at_hpack_huffman(const uint8_t *in, size_t n, char *out);

/* at_hpack_trim: give back buffers grown past `keep` bytes that hold
 * nothing now (the scratch), or more than the live table needs. */
void at_hpack_trim(at_hpack *d, size_t keep);

#endif
