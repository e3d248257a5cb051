/* ring.c - the lock-free capture ring (see ring.h).
 *
 * at_ring_push runs on host threads (hot path), at_ring_pop on the sink
 * thread.  Position p lives in cell p & mask.  A cell's stored sequence is
 * kept relative to its index (stored = seq - index), so that the zero page
 * of a fresh mapping reads as "cell i is free for position i":
 *
 *   seq == p        the cell is free for a producer claiming position p
 *   seq == p + 1    the cell holds published data for position p
 *
 * A record that spans several cells is published continuation cells first
 * and first cell last, so a consumer that sees the first cell published can
 * read the whole record.  The consumer frees cells in order, so a producer
 * that finds the last cell of its claim free knows all of them are.
 */
#include "ring.h"
#include "sys.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define CELL_DATA (AT_RING_CELL - sizeof(uint64_t))

typedef struct cell {
    _Atomic uint64_t seq;
    unsigned char data[CELL_DATA];
} cell;

struct at_ring {
    _Alignas(64) _Atomic uint64_t head;   /* next position to claim */
    _Alignas(64) uint64_t tail;           /* consumer's next position */
    _Atomic uint64_t dropped;
    uint64_t mask;
    size_t map_len;
    cell *cells;
    size_t populated;    /* bytes of the mapping made present (consumer) */
};

_Static_assert(sizeof(cell) == AT_RING_CELL, "cell size");
_Static_assert(sizeof(at_rec_hdr) == 32, "record header size");

static inline uint64_t seq_load(at_ring *r, uint64_t pos)
{
    cell *c = &r->cells[pos & r->mask];

    return atomic_load_explicit(&c->seq, memory_order_acquire) +
           (pos & r->mask);
}

static inline void seq_store(at_ring *r, uint64_t pos, uint64_t seq)
{
    cell *c = &r->cells[pos & r->mask];

    atomic_store_explicit(&c->seq, seq - (pos & r->mask),
                          memory_order_release);
}

at_ring *at_ring_new(size_t bytes)
{
    size_t ncells = 64;
    size_t len;
    void *m;
    at_ring *r;

    while (ncells * AT_RING_CELL < bytes)
        ncells *= 2;
    len = sizeof(at_ring) + 64 + ncells * AT_RING_CELL;
    m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    r = m;
    r->mask = ncells - 1;
    r->map_len = len;
    r->cells = (cell *)(((uintptr_t)(r + 1) + 63) & ~(uintptr_t)63);
    return r;
}

void at_ring_prefault(at_ring *r)
{
#ifdef MADV_POPULATE_WRITE
    size_t end = (r->map_len + 4095) & ~(size_t)4095, ahead, at, want;
    uint64_t head;

    if (r->populated >= end)
        return;
    head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head > r->mask) {
        r->populated = end; /* a lap done: every page has been written */
        return;
    }
    ahead = (r->mask + 1) / 8 * AT_RING_CELL;
    at = (size_t)((char *)&r->cells[head] - (char *)r);
    if (r->populated >= at + ahead / 2)
        return; /* still half an eighth ahead: no call yet */
    want = (at + ahead + 4095) & ~(size_t)4095;
    if (want > end)
        want = end;
    if (at_sys3(SYS_madvise, (char *)r + r->populated, want - r->populated,
                MADV_POPULATE_WRITE) != 0)
        want = end; /* not supported (or no memory): let faults do it */
    r->populated = want;
#else
    (void)r;
#endif
}

void at_ring_del(at_ring *r)
{
    if (r)
        munmap(r, r->map_len);
}

uint64_t at_ring_dropped(const at_ring *r)
{
    return atomic_load_explicit(&((at_ring *)r)->dropped,
                                memory_order_relaxed);
}

/* put: record h and its payload into the cells of the claim at `pos`: the
 * header and what fits of the payload in the first cell, the rest of the
 * payload in the cells after it. */
static void put(at_ring *r, uint64_t pos, const at_rec_hdr *h,
                const void *payload)
{
    const unsigned char *s = payload;
    size_t n = h->len, k = CELL_DATA - sizeof(*h);
    unsigned char *d = r->cells[pos & r->mask].data;

    memcpy(d, h, sizeof(*h));
    d += sizeof(*h);
    while (n > 0) {
        if (k > n)
            k = n;
        memcpy(d, s, k);
        s += k;
        n -= k;
        d = r->cells[++pos & r->mask].data;
        k = CELL_DATA;
    }
}

/* get_payload: the payload of the record at `pos` (its header read) out of
 * the cells after the first, into buf. */
static void get_payload(at_ring *r, uint64_t pos, size_t n, void *buf)
{
    unsigned char *d = buf;
    size_t k = CELL_DATA - sizeof(at_rec_hdr);
    const unsigned char *s = r->cells[pos & r->mask].data + sizeof(at_rec_hdr);

    while (n > 0) {
        if (k > n)
            k = n;
        memcpy(d, s, k);
        d += k;
        n -= k;
        s = r->cells[++pos & r->mask].data;
        k = CELL_DATA;
    }
}

int at_ring_push(at_ring *r, const at_rec_hdr *h, const void *payload)
{
    size_t total = sizeof(*h) + h->len;
    uint64_t ncells = (total + CELL_DATA - 1) / CELL_DATA;
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t i;

    if (h->len > AT_RING_MAX_PAYLOAD || ncells > r->mask + 1)
        goto full;
    for (;;) {
        uint64_t last = pos + ncells - 1;
        int64_t diff = (int64_t)(seq_load(r, last) - last);

        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(
                    &r->head, &pos, pos + ncells, memory_order_relaxed,
                    memory_order_relaxed))
                break;
        } else if (diff < 0) {
            goto full;  /* the consumer is a lap behind */
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
    put(r, pos, h, payload);
    for (i = ncells; i-- > 0;)
        seq_store(r, pos + i, pos + i + 1);
    {
        uint64_t eighth = (r->mask + 1) / 8;

        return (pos / eighth != (pos + ncells) / eighth) ? 1 : 0;
    }
full:
    atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
    return -1;
}

int at_ring_empty(at_ring *r)
{
    return seq_load(r, r->tail) != r->tail + 1;
}

void *at_ring_peek(at_ring *r, at_rec_hdr *h, void *buf)
{
    uint64_t pos = r->tail;
    cell *c = &r->cells[pos & r->mask];

    if (seq_load(r, pos) != pos + 1)
        return NULL;
    memcpy(h, c->data, sizeof(*h));
    if (sizeof(*h) + h->len <= CELL_DATA)
        return c->data + sizeof(*h);   /* read in place */
    /* The first cell is published last, so the others are ready. */
    get_payload(r, pos, h->len, buf);
    return buf;
}

void at_ring_release(at_ring *r, const at_rec_hdr *h)
{
    uint64_t pos = r->tail, i;
    uint64_t ncells = (sizeof(*h) + h->len + CELL_DATA - 1) / CELL_DATA;

    for (i = 0; i < ncells; i++)
        seq_store(r, pos + i, pos + i + r->mask + 1);
    r->tail = pos + ncells;
}

int at_ring_pop(at_ring *r, at_rec_hdr *h, void *buf)
{
    void *p = at_ring_peek(r, h, buf);

    if (p == NULL)
        return 0;
    if (p != buf && h->len)
        memcpy(buf, p, h->len);
    at_ring_release(r, h);
    return 1;
}
