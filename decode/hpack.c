/* hpack.c - HPACK header block decoder (RFC 7541).  See hpack.h.
 *
 * The dynamic table is two arrays used as queues: the entries (offset and
 * lengths; the oldest at ent_head) and their bytes (the oldest at
 * tab_head).  Eviction only moves the heads; appending moves the live part
 * to the front when the end is reached, and grows the array only when the
 * live part itself does not leave room, so an encoder churning a table of
 * fixed size causes no allocation at all once it is full.
 *
 * A literal that is added to the table may name an entry that adding it
 * evicts (section 4.4): its name is copied to the scratch buffer before
 * anything is evicted.
 */
#include "buf.h"
#include "hpack.h"
#include "hpack_huffman.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY_OVERHEAD 32
#define DEFAULT_SIZE 4096u

/* Room for the Huffman output of any strings in n bytes of a block: every
 * code is at least 5 bits, so at most 8/5 n bytes (n + n/2 + n/8 >= 1.6 n). */
#define HUFFMAN_ROOM(n) ((n) + (n) / 2 + (n) / 8 + 16)

/* Appendix A, by index - 1.  Fixed arrays, not pointers: no
 * relocations for the loader to apply in every process. */
static const struct {
    char name[28];
    char value[14];
    uint8_t name_len, value_len;
} static_table[61] = {
    {":authority", "", 10, 0},
    {":method", "GET", 7, 3},
    {":method", "POST", 7, 4},
    {":path", "/", 5, 1},
    {":path", "/index.html", 5, 11},
    {":scheme", "http", 7, 4},
    {":scheme", "https", 7, 5},
    {":status", "200", 7, 3},
    {":status", "204", 7, 3},
    {":status", "206", 7, 3},
    {":status", "304", 7, 3},
    {":status", "400", 7, 3},
    {":status", "404", 7, 3},
    {":status", "500", 7, 3},
    {"accept-charset", "", 14, 0},
    {"accept-encoding", "gzip, deflate", 15, 13},
    {"accept-language", "", 15, 0},
    {"accept-ranges", "", 13, 0},
    {"accept", "", 6, 0},
    {"access-control-allow-origin", "", 27, 0},
    {"age", "", 3, 0},
    {"allow", "", 5, 0},
    {"authorization", "", 13, 0},
    {"cache-control", "", 13, 0},
    {"content-disposition", "", 19, 0},
    {"content-encoding", "", 16, 0},
    {"content-language", "", 16, 0},
    {"content-length", "", 14, 0},
    {"content-location", "", 16, 0},
    {"content-range", "", 13, 0},
    {"content-type", "", 12, 0},
    {"cookie", "", 6, 0},
    {"date", "", 4, 0},
    {"etag", "", 4, 0},
    {"expect", "", 6, 0},
    {"expires", "", 7, 0},
    {"from", "", 4, 0},
    {"host", "", 4, 0},
    {"if-match", "", 8, 0},
    {"if-modified-since", "", 17, 0},
    {"if-none-match", "", 13, 0},
    {"if-range", "", 8, 0},
    {"if-unmodified-since", "", 19, 0},
    {"last-modified", "", 13, 0},
    {"link", "", 4, 0},
    {"location", "", 8, 0},
    {"max-forwards", "", 12, 0},
    {"proxy-authenticate", "", 18, 0},
    {"proxy-authorization", "", 19, 0},
    {"range", "", 5, 0},
    {"referer", "", 7, 0},
    {"refresh", "", 7, 0},
    {"retry-after", "", 11, 0},
    {"server", "", 6, 0},
    {"set-cookie", "", 10, 0},
    {"strict-transport-security", "", 25, 0},
    {"transfer-encoding", "", 17, 0},
    {"user-agent", "", 10, 0},
    {"vary", "", 4, 0},
    {"via", "", 3, 0},
    {"www-authenticate", "", 16, 0},
};

#define STATIC_N 61

void at_hpack_init(at_hpack *d)
{
    memset(d, 0, sizeof(*d));
    d->limit = DEFAULT_SIZE;
    d->max = DEFAULT_SIZE;
}

void at_hpack_free(at_hpack *d)
{
    free(d->ent);
    free(d->tab);
    free(d->scratch);
    at_hpack_init(d);
}

static void evict_one(at_hpack *d)
{
    const at_hpack_entry *e = &d->ent[d->ent_head];

    d->size -= e->name_len + e->value_len + ENTRY_OVERHEAD;
    d->ent_head++;
    if (--d->n == 0) {
        d->ent_head = 0;
        d->tab_head = d->tab_len = 0;
    } else {
        d->tab_head = d->ent[d->ent_head].off;
    }
}

/* evict_to: drop the oldest entries until the table's size is at most
 * `room`. */
static void evict_to(at_hpack *d, uint32_t room)
{
    while (d->size > room && d->n > 0)
        evict_one(d);
}

void at_hpack_set_limit(at_hpack *d, uint32_t limit)
{
    d->limit = limit;
    if (d->max > limit) {
        d->max = limit;
        evict_to(d, limit);
    }
}

/* grow: make *buf hold at least `need` elements of `size` bytes. */
static int grow(void *buf, size_t *cap, size_t need, size_t size)
{
    void *p = at_grow(*(void **)buf, cap, need, size, 16);

    if (p == NULL)
        return -1;
    *(void **)buf = p;
    return 0;
}

/* rebase: move the table's live bytes to the start of `to` (the table's
 * own buffer, or a new one) and its entries' offsets with them. */
static void rebase(at_hpack *d, char *to)
{
    size_t i;

    memmove(to, d->tab + d->tab_head, d->tab_len - d->tab_head);
    for (i = d->ent_head; i < d->ent_head + d->n; i++)
        d->ent[i].off -= (uint32_t)d->tab_head;
    d->tab_len -= d->tab_head;
    d->tab_head = 0;
}

/* insert: add name: value as the newest entry (section 4.4).  Neither
 * may point into the table. */
static int insert(at_hpack *d, const char *name, size_t nlen,
                  const char *value, size_t vlen)
{
    size_t bytes = nlen + vlen;
    at_hpack_entry *e;

    if (bytes + ENTRY_OVERHEAD > d->max) {
        evict_to(d, 0); /* too large for the table: it empties it */
        return 0;
    }
    evict_to(d, d->max - (uint32_t)(bytes + ENTRY_OVERHEAD));
    if (d->size + bytes + ENTRY_OVERHEAD > AT_HPACK_TABLE_MAX)
        return -1; /* a table larger than we keep: give up, never guess */
    if (d->ent_head + d->n == d->ent_cap && d->ent_head > 0) {
        memmove(d->ent, d->ent + d->ent_head, d->n * sizeof(*d->ent));
        d->ent_head = 0;
    }
    if (grow(&d->ent, &d->ent_cap, d->ent_head + d->n + 1, sizeof(*d->ent)))
        return -1;
    if (d->tab_len + bytes > d->tab_cap && d->tab_head > 0) {
        rebase(d, d->tab);
    }
    if (grow(&d->tab, &d->tab_cap, d->tab_len + bytes, 1))
        return -1;
    e = &d->ent[d->ent_head + d->n++];
    e->off = (uint32_t)d->tab_len;
    e->name_len = (uint32_t)nlen;
    e->value_len = (uint32_t)vlen;
    if (nlen)
        memcpy(d->tab + d->tab_len, name, nlen);
    if (vlen)
        memcpy(d->tab + d->tab_len + nlen, value, vlen);
    d->tab_len += bytes;
    if (d->n == 1)
        d->tab_head = e->off;
    d->size += (uint32_t)(bytes + ENTRY_OVERHEAD);
    return 0;
}

/* lookup: entry `idx` of the index space (1-61 static, then the dynamic
 * table newest first).  Returns 0, or -1 for 0 or an index past both. */
static int lookup(const at_hpack *d, uint32_t idx, const char **name,
                  size_t *nlen, const char **value, size_t *vlen)
{
    const at_hpack_entry *e;

    if (idx == 0)
        return -1;
    if (idx <= STATIC_N) {
        *name = static_table[idx - 1].name;
        *nlen = static_table[idx - 1].name_len;
        *value = static_table[idx - 1].value;
        *vlen = static_table[idx - 1].value_len;
        return 0;
    }
    idx -= STATIC_N;
    if (idx > d->n)
        return -1;
    e = &d->ent[d->ent_head + d->n - idx];
    *name = d->tab + e->off;
    *nlen = e->name_len;
    *value = d->tab + e->off + e->name_len;
    *vlen = e->value_len;
    return 0;
}

/* get_int: an integer with an `nbits`-bit prefix (section 5.1), at most
 * four continuation bytes (values below 2^28 + 2^nbits, more than any
 * index, length or table size here can be).  Returns 0 or -1. */
static int get_int(const uint8_t **pp, const uint8_t *end, unsigned nbits,
                   uint32_t *out)
{
    const uint8_t *p = *pp;
    uint32_t mask = (1u << nbits) - 1, v = *p++ & mask;
    unsigned shift = 0;

    if (v == mask) {
        for (;;) {
            uint8_t b;

            if (p == end || shift > 21)
                return -1;
            b = *p++;
            v += (uint32_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
    }
    *pp = p;
    *out = v;
    return 0;
}

long at_hpack_huffman(const uint8_t *in, size_t n, char *out)
{
    uint64_t acc = 0;
    unsigned bits = 0, len, sym;
    size_t i = 0;
    long o = 0;

    for (;;) {
        unsigned e;

        while (bits <= 56 && i < n) {
            acc |= (uint64_t)in[i++] << (56 - bits);
            bits += 8;
        }
        if (bits == 0)
            break;
        e = hpack_fast[acc >> 56];
        if (e != 0 && (e >> 9) <= bits) {
            len = e >> 9;
            sym = e & 0x1ff;
        } else {
            uint32_t c = 0;

            /* codes longer than 8 bits (there are none of 9) */
            for (len = 10; len <= 30 && len <= bits; len++) {
                c = (uint32_t)(acc >> (64 - len));
                if (c - hpack_first[len] < hpack_count[len])
                    break;
            }
            if (len > 30 || len > bits)
                break; /* the rest is padding, or wrong */
            sym = hpack_sym[hpack_index[len] + c - hpack_first[len]];
        }
        if (sym == 256)
            return -1; /* EOS inside a string (section 5.2) */
        out[o++] = (char)sym;
        acc <<= len;
        bits -= len;
    }
    /* Padding: fewer than 8 bits, all ones, the last of the input. */
    if (i < n || bits > 7)
        return -1;
    if (bits && (acc >> (64 - bits)) != (1u << bits) - 1)
        return -1;
    return o;
}

/* huffman_memo: at_hpack_huffman, the output copied from the memo when
 * the same bytes were decoded lately (the memo keeps what it decodes) */
static long huffman_memo(at_hpack *d, const uint8_t *in, size_t n, char *out)
{
    at_hpack_memo *m;
    long o;

    if (n == 0 || n > AT_HPACK_MEMO_IN)
        return at_hpack_huffman(in, n, out);
    /* the slot: from the length and three of the bytes, mixed */
    m = &d->memo[(((uint32_t)n * 0x9E3779B1u) ^ (in[0] * 0x85EBCA6Bu) ^
                  (in[n / 2] * 0xC2B2AE35u) ^ (in[n - 1] * 0x27D4EB2Fu)) >>
                 28 & (AT_HPACK_MEMO - 1)];
    if (m->in_len == n && memcmp(m->in, in, n) == 0) {
        memcpy(out, m->out, m->out_len);
        return m->out_len;
    }
    o = at_hpack_huffman(in, n, out);
    if (o >= 0 && (size_t)o <= sizeof(m->out)) {
        m->in_len = (uint8_t)n;
        m->out_len = (uint8_t)o;
        memcpy(m->in, in, n);
        memcpy(m->out, out, (size_t)o);
    }
    return o;
}

/* get_string: a string literal (section 5.2), raw or Huffman-decoded into
 * scratch + *used (which advances).  Returns 0 or -1. */
static int get_string(at_hpack *d, const uint8_t **pp, const uint8_t *end,
                      size_t *used, const char **s, size_t *slen)
{
    const uint8_t *p = *pp;
    int huff = (*p & 0x80) != 0;
    uint32_t len;
    long o;

    if (get_int(&p, end, 7, &len) != 0 || len > (size_t)(end - p))
        return -1;
    if (!huff) {
        *s = (const char *)p;
        *slen = len;
    } else {
        /* at_hpack_decode made room for the block's worst case */
        o = huffman_memo(d, p, len, d->scratch + *used);
        if (o < 0)
            return -1;
        *s = d->scratch + *used;
        *slen = (size_t)o;
        *used += (size_t)o;
    }
    *pp = p + len;
    return 0;
}

int at_hpack_decode(at_hpack *d, const uint8_t *in, size_t n,
                    at_hpack_emit emit, void *ud)
{
    const uint8_t *p, *end;
    int fields = 0;

    if (n == 0)
        return 0; /* an empty block (and `in` may then be NULL) */
    p = in;
    end = in + n;
    if (grow(&d->scratch, &d->scratch_cap, HUFFMAN_ROOM(n), 1))
        return -1;
    while (p < end) {
        uint8_t b = *p;
        const char *name, *value;
        size_t nlen, vlen, used = 0;
        uint32_t idx;
        int index_it = 0;

        if (b & 0x80) { /* indexed field (6.1) */
            if (get_int(&p, end, 7, &idx) != 0 ||
                lookup(d, idx, &name, &nlen, &value, &vlen) != 0)
                return -1;
        } else if ((b & 0xe0) == 0x20) { /* table size update (6.3) */
            if (fields || get_int(&p, end, 5, &idx) != 0 || idx > d->limit)
                return -1;
            d->max = idx;
            evict_to(d, idx);
            continue;
        } else { /* literal (6.2): with indexing, without, never */
            unsigned nbits = (b & 0xc0) == 0x40 ? 6 : 4;

            index_it = nbits == 6;
            if (get_int(&p, end, nbits, &idx) != 0)
                return -1;
            if (idx != 0) {
                const char *v0;
                size_t v0len;

                if (lookup(d, idx, &name, &nlen, &v0, &v0len) != 0)
                    return -1;
                if (index_it && idx > STATIC_N) {
                    /* the entry may be evicted by this very insertion */
                    if (grow(&d->scratch, &d->scratch_cap,
                             nlen + HUFFMAN_ROOM(n), 1))
                        return -1;
                    memcpy(d->scratch, name, nlen);
                    name = d->scratch;
                    used = nlen;
                }
            } else if (p == end ||
                       get_string(d, &p, end, &used, &name, &nlen) != 0) {
                return -1;
            }
            if (p == end || get_string(d, &p, end, &used, &value, &vlen) != 0)
                return -1;
            if (index_it && insert(d, name, nlen, value, vlen) != 0)
                return -1;
        }
        fields++;
        if (emit != NULL && emit(ud, name, nlen, value, vlen) != 0)
            return -1;
    }
    return 0;
}

void at_hpack_trim(at_hpack *d, size_t keep)
{
    if (d->scratch_cap > keep) {
        free(d->scratch);
        d->scratch = NULL;
        d->scratch_cap = 0;
    }
    if (d->tab_cap > keep && d->tab_len - d->tab_head <= keep / 2) {
        char *t = malloc(keep);

        if (t == NULL)
            return;
        rebase(d, t);
        free(d->tab);
        d->tab = t;
        d->tab_cap = keep;
    }
}
