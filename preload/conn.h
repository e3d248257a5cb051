/* conn.h - the table of connections the hooks are capturing.
 *
 * Host threads look connections up here on every hooked call, so the table
 * is a fixed array in .bss with open addressing and no locks.  A connection
 * is keyed by the value that identifies it to the host (an SSL pointer, a
 * file descriptor) and gets a process-unique id when it is claimed; keys are
 * reused after SSL_free or close, ids never are.
 *
 * The sink thread writes back into a slot to tell the hooks to stop copying:
 * either all bytes of the connection from now on (AT_CONN_IGNORE) or the
 * input bytes below an offset (a body it does not want).  Such advice names
 * the connection id, so advice that arrives after the key was reused for
 * another connection is ignored.
 */
#ifndef AT_CONN_H
#define AT_CONN_H

#include <stdatomic.h>
#include <stdint.h>

#define AT_CONN_SLOTS 1024u   /* power of two */
#define AT_CONN_IGNORE UINT64_MAX

typedef struct at_conn_slot {
    _Atomic uintptr_t key;          /* 0 empty, 1 deleted, else the key */
    _Atomic uint64_t id;            /* 0 while being claimed */
    _Atomic uint64_t off[2];        /* bytes seen: [0] out, [1] in */
    _Atomic uint64_t advice_id;     /* connection the advice is for */
    _Atomic uint64_t skip_in_until; /* don't copy input below this offset;
                                       AT_CONN_IGNORE: copy nothing */
    uint64_t pad[2];
} at_conn_slot;

extern at_conn_slot at_conn_table[AT_CONN_SLOTS];

/* at_conn_find: the slot holding `key`, or -1.  Lock-free; any thread. */
int at_conn_find(uintptr_t key);

/* at_conn_claim: the slot holding `key`, claiming a free one (with a new id)
 * when there is none; *is_new tells which.  Returns -1 when the table is
 * full.  Lock-free. */
int at_conn_claim(uintptr_t key, int *is_new);

/* at_conn_release: free slot `i` (the host ended the connection). */
void at_conn_release(int i);

/* at_conn_advise: sink thread: tell the hooks not to copy the input of
 * connection `id` in slot `i` below offset `until` (AT_CONN_IGNORE: nothing
 * more of the connection, either direction). */
void at_conn_advise(int i, uint64_t id, uint64_t until);

/* at_conn_reset: forget every connection (the child after fork). */
void at_conn_reset(void);

#endif
