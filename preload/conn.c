/* conn.c - the lock-free connection table (see conn.h).  Host threads and
 * the sink thread. */
#include "conn.h"
#include "layout.h"
#include "sys.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define KEY_EMPTY 0u
#define KEY_DELETED 1u

AT_LARGE_BSS at_conn_slot at_conn_table[AT_CONN_SLOTS];
/* the end of the data the file holds: the zero memory after the page it
 * ends in is anonymous (the dynamic loader maps it so) */
extern char _edata[] __attribute__((visibility("hidden")));
static _Atomic uint64_t next_id = 1;

static inline unsigned hash(uintptr_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;

    return (unsigned)(h >> 40) & (AT_CONN_SLOTS - 1);
}

int at_conn_find(uintptr_t key)
{
    unsigned i = hash(key), n;

    for (n = 0; n < AT_CONN_SLOTS; n++, i = (i + 1) & (AT_CONN_SLOTS - 1)) {
        uintptr_t k = atomic_load_explicit(&at_conn_table[i].key,
                                           memory_order_acquire);
        if (k == key)
            return (int)i;
        if (k == KEY_EMPTY)
            return -1;
    }
    return -1;
}

int at_conn_claim(uintptr_t key, int *is_new)
{
    unsigned i, n;
    int found = at_conn_find(key);

    *is_new = 0;
    if (found >= 0)
        return found;
    i = hash(key);
    for (n = 0; n < AT_CONN_SLOTS; n++, i = (i + 1) & (AT_CONN_SLOTS - 1)) {
        at_conn_slot *s = &at_conn_table[i];
        uintptr_t k = atomic_load_explicit(&s->key, memory_order_relaxed);

        if (k != KEY_EMPTY && k != KEY_DELETED)
            continue;
        /* Reset the slot before publishing the key, so a reader that finds
         * the key sees id 0 ("being claimed") or the new id. */
        atomic_store_explicit(&s->id, 0, memory_order_relaxed);
        if (!atomic_compare_exchange_strong_explicit(
                &s->key, &k, key, memory_order_acq_rel, memory_order_relaxed))
            continue;
        atomic_store_explicit(&s->off[0], 0, memory_order_relaxed);
        atomic_store_explicit(&s->off[1], 0, memory_order_relaxed);
        atomic_store_explicit(&s->skip_in_until, 0, memory_order_relaxed);
        atomic_store_explicit(&s->advice_id, 0, memory_order_relaxed);
        atomic_store_explicit(
            &s->id, atomic_fetch_add_explicit(&next_id, 1,
                                              memory_order_relaxed),
            memory_order_release);
        *is_new = 1;
        return (int)i;
    }
    return -1;
}

void at_conn_release(int i)
{
    at_conn_slot *s = &at_conn_table[i];

    atomic_store_explicit(&s->id, 0, memory_order_relaxed);
    atomic_store_explicit(&s->key, KEY_DELETED, memory_order_release);
}

void at_conn_advise(int i, uint64_t id, uint64_t until)
{
    at_conn_slot *s = &at_conn_table[i];

    if (atomic_load_explicit(&s->id, memory_order_acquire) != id)
        return;
    atomic_store_explicit(&s->skip_in_until, until, memory_order_relaxed);
    atomic_store_explicit(&s->advice_id, id, memory_order_release);
}

/* A fork child's table is its parent's: writing 64 KiB of zeros over it
 * faulted in (or copied) all 16 pages, ~200 us in every child of a
 * forking shell on a virtual machine.  MADV_DONTNEED on private anonymous
 * memory drops the child's pages; they read as zeros again, and only the
 * ones used are faulted back in.  The table is not page-aligned (that
 * would align all of .lbss, and move the process's identity to a page of
 * its own): the pages it shares at either end are zeroed by hand. */
void at_conn_reset(void)
{
    const uintptr_t pg = 4096;
    uintptr_t t = (uintptr_t)at_conn_table, end = t + sizeof(at_conn_table);
    uintptr_t lo = (t + pg - 1) & ~(pg - 1), hi = end & ~(pg - 1);
    uintptr_t anon = ((uintptr_t)_edata + pg - 1) & ~(pg - 1);

    if (lo >= anon && lo < hi &&
        at_sys3(SYS_madvise, lo, hi - lo, MADV_DONTNEED) == 0) {
        memset(at_conn_table, 0, lo - t);
        memset((void *)hi, 0, end - hi);
        return;
    }
    memset(at_conn_table, 0, sizeof(at_conn_table));
}
