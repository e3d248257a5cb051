/* buf.h - a growable byte buffer with a hard upper bound.
 *
 * Runs on the sink thread only (it calls malloc), or on the exiting thread
 * over fixed storage (at_buf_init_fixed), which never allocates.  A buffer
 * never grows past its `max`: bytes beyond it are counted in `dropped` and
 * `truncated` is set, so a hostile or huge body can never make the shim's
 * memory unbounded; what it holds is then always the first `max` bytes of
 * everything appended.  The contents are always followed by a NUL byte (not
 * counted in `len`), so a buffer can be handed to string functions and to
 * JSON parsers directly.
 */
#ifndef AT_BUF_H
#define AT_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct at_buf {
    char *p;          /* NULL until the first append; NUL-terminated after */
    size_t len;       /* bytes held */
    size_t cap;       /* bytes allocated, not counting the NUL */
    size_t max;       /* never hold more than this */
    uint64_t dropped; /* bytes refused because of `max` or allocation failure */
    int truncated;    /* set once anything was dropped */
    int fixed;        /* p is the caller's storage: never realloc'ed or freed */
} at_buf;

/* at_buf_init: an empty buffer that will hold at most `max` bytes. Never
 * fails; allocates nothing. */
void at_buf_init(at_buf *b, size_t max);

/* at_buf_init_fixed: an empty buffer over the caller's `mem` of `size`
 * bytes (size >= 1): it holds at most size - 1 bytes and the NUL, and never
 * allocates.  The caller keeps `mem` alive while the buffer is used;
 * at_buf_free only empties the buffer. */
void at_buf_init_fixed(at_buf *b, char *mem, size_t size);

/* at_buf_append_slow: at_buf_append when the bytes do not fit the current
 * allocation (or there is none yet).  Same contract. */
int at_buf_append_slow(at_buf *b, const void *data, size_t n);

/* at_buf_append: append `n` bytes of `data`.  Bytes past `max` are dropped
 * and counted.  Returns 0, or -1 when memory could not be allocated (the
 * bytes are then counted as dropped too and `truncated` is set).  Inline:
 * the common case (the bytes fit what is allocated, which never exceeds
 * `max`) is a copy. */
static inline int at_buf_append(at_buf *b, const void *data, size_t n)
{
    if (__builtin_expect(b->p != NULL && n <= b->cap - b->len &&
                         b->cap <= b->max, 1)) {
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
    }
    return at_buf_append_slow(b, data, n);
}

/* at_buf_reserve: room for `n` more bytes: where to write them, or NULL
 * (nothing changed) when they would pass `max` or memory is short.  Write
 * at most n bytes there, then at_buf_commit the count written; nothing
 * else may touch the buffer in between.  A caller falls back to
 * at_buf_append on NULL, which keeps what fits. */
char *at_buf_reserve_slow(at_buf *b, size_t n);
static inline char *at_buf_reserve(at_buf *b, size_t n)
{
    if (__builtin_expect(b->p != NULL && n <= b->cap - b->len &&
                         b->cap <= b->max, 1))
        return b->p + b->len;
    return at_buf_reserve_slow(b, n);
}

/* at_buf_commit: `k` (<= the n reserved) bytes were written at the place
 * at_buf_reserve returned; they become part of the contents. */
static inline void at_buf_commit(at_buf *b, size_t k)
{
    b->len += k;
    b->p[b->len] = '\0';
}

/* at_buf_reset: forget the contents, keep the allocation and `max`. */
static inline void at_buf_reset(at_buf *b)
{
    b->len = 0;
    b->dropped = 0;
    b->truncated = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* at_buf_free: release the allocation; the buffer is empty afterwards and
 * may be reused. */
void at_buf_free(at_buf *b);

/* at_grow: array p, of *cap elements of `elem` bytes, with room for
 * `need` (its capacity doubled, from `first`, until it holds them): the
 * array, moved or not, with *cap updated; NULL when memory ran out (p and
 * *cap are then as they were). */
void *at_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
