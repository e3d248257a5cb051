/* ring.h - the capture ring: host threads push, the sink thread pops.
 *
 * A bounded multi-producer, single-consumer queue of variable-size records
 * in fixed-size cells (after Vyukov's bounded queue, extended so that one
 * record may claim several consecutive cells).  Pushing never blocks, never
 * allocates and takes no lock: a producer claims cells with one CAS, copies
 * its bytes and publishes each cell with a release store.  When the ring is
 * full the push fails and the caller drops the record.
 *
 * Memory comes from an anonymous mapping that starts zero-filled, and the
 * cell sequence numbers are stored relative to the cell's index so that
 * zero means "free for the first lap": creating a ring touches no page, so a
 * process pays resident memory only for the cells it actually uses.
 */
#ifndef AT_RING_H
#define AT_RING_H

#include <stddef.h>
#include <stdint.h>

/* Record kinds. */
enum {
    AT_REC_OPEN = 1,  /* payload: struct at_open_info */
    AT_REC_OUT,       /* bytes the host sent; `arg` = stream offset */
    AT_REC_IN,        /* bytes the host received; `arg` = stream offset */
    AT_REC_EOF,       /* the peer ended the stream cleanly */
    AT_REC_ERR,       /* the stream failed; `arg` = errno seen */
    AT_REC_CLOSE,     /* the host ended the connection */
    AT_REC_SKIPPED    /* the hook skipped input bytes up to offset `arg` as
                         the sink asked; the time is when that happened */
};

/* Transports. */
enum { AT_TRANSPORT_OPENSSL = 1, AT_TRANSPORT_SOCKET, AT_TRANSPORT_LIBCURL };

typedef struct at_rec_hdr {
    uint64_t conn;      /* connection id: unique in the process, never 0 */
    uint64_t t_ns;      /* CLOCK_MONOTONIC when the call returned */
    uint64_t arg;       /* see the kinds above */
    uint32_t len;       /* payload bytes following the header */
    uint16_t slot;      /* the connection's slot in the connection table */
    uint8_t kind;
    uint8_t transport;
} at_rec_hdr;

/* Payload of AT_REC_OPEN. */
typedef struct at_open_info {
    uint16_t port;      /* peer port, 0 when unknown */
    uint8_t family;     /* AF_INET, AF_INET6 or 0 */
    uint8_t tls;        /* the bytes are TLS plaintext (https) */
    uint8_t alpn_len;
    char alpn[24];      /* negotiated ALPN protocol, not NUL-terminated */
    char addr[46];      /* peer address as text, "" when unknown */
    char sni[256];      /* TLS server name, "" when none */
} at_open_info;

#define AT_RING_CELL 512u             /* bytes per cell, sequence included */
#define AT_RING_MAX_PAYLOAD 65536u    /* larger captures are split */

typedef struct at_ring at_ring;

/* at_ring_new: a ring of `bytes` (rounded to a power of two number of
 * cells, at least 64).  Returns NULL when the mapping fails.  Any thread. */
at_ring *at_ring_new(size_t bytes);

/* at_ring_prefault: on the ring's first lap, make the pages ahead of the
 * producers present (writable), an eighth of the ring at a time and
 * without changing a byte, so that the host's threads do not take a page
 * fault each time they reach a fresh one (a 4 MiB ring has 1,024 pages; a
 * fault costs microseconds, ten or more on a virtual machine; one system
 * call for 64 pages costs a fraction of one fault each).  Memory follows
 * use as before: at most an eighth of the ring more.  Safe while producers
 * run; nothing on a kernel without MADV_POPULATE_WRITE (Linux < 5.14).
 * Consumer only: as it starts, and after each batch. */
void at_ring_prefault(at_ring *r);

/* at_ring_del: unmap.  Only when no producer or consumer can touch it. */
void at_ring_del(at_ring *r);

/* at_ring_push: append one record: header `h` (h->len is the payload size,
 * at most AT_RING_MAX_PAYLOAD) and its payload.  Returns 0; 1 when the
 * record crossed an eighth of the ring (the consumer should be woken if it
 * sleeps, so that a burst cannot fill the ring while it does); or -1 when
 * the ring is full (nothing was written).  Lock-free, async-signal-safe. */
int at_ring_push(at_ring *r, const at_rec_hdr *h, const void *payload);

/* at_ring_pop: take the oldest published record.  Copies its header to *h
 * and its payload to `buf` (which must hold AT_RING_MAX_PAYLOAD bytes).
 * Returns 1 when a record was taken, 0 when the ring is empty or the oldest
 * record is still being written.  Single consumer only. */
int at_ring_pop(at_ring *r, at_rec_hdr *h, void *buf);

/* at_ring_peek: the oldest published record, left in the ring: its header
 * copied to *h, and its payload returned: in place when the record lies in
 * one cell (no copy), else copied to `buf` (which must hold
 * AT_RING_MAX_PAYLOAD bytes).  NULL when the ring is empty or the oldest
 * record is still being written.  The payload stays valid, and may be
 * written to, until at_ring_release(r, h), which must come before the next
 * peek.  Single consumer only. */
void *at_ring_peek(at_ring *r, at_rec_hdr *h, void *buf);

/* at_ring_release: free the cells of the record at_ring_peek returned. */
void at_ring_release(at_ring *r, const at_rec_hdr *h);

/* at_ring_empty: 1 when no published record is waiting.  Consumer only. */
int at_ring_empty(at_ring *r);

/* at_ring_dropped: records refused because the ring was full. */
uint64_t at_ring_dropped(const at_ring *r);

#endif
