/* buf.c - bounded growable buffer (see buf.h).  Sink thread, or the
 * exiting thread over fixed storage. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void at_buf_init(at_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void at_buf_init_fixed(at_buf *b, char *mem, size_t size)
{
    memset(b, 0, sizeof(*b));
    b->p = mem;
    b->cap = b->max = size - 1;
    b->fixed = 1;
    mem[0] = '\0';
}

/* Make the allocation hold at least `need` bytes (need <= max).
 * 0, or -1 when it cannot. */
static int grow(at_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    char *np;

    if (b->fixed)                /* cannot happen: cap == max */
        return -1;
    while (cap < need)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    np = realloc(b->p, cap + 1);
    if (np == NULL)
        return -1;
    if (b->p == NULL)
        np[0] = '\0';
    b->p = np;
    b->cap = cap;
    return 0;
}

char *at_buf_reserve_slow(at_buf *b, size_t n)
{
    if (b->len > b->max || n > b->max - b->len)
        return NULL;
    if (b->p == NULL || n > b->cap - b->len) {
        if (grow(b, b->len + n) < 0)
            return NULL;
    }
    return b->p + b->len;
}

int at_buf_append_slow(at_buf *b, const void *data, size_t n)
{
    size_t room = b->max > b->len ? b->max - b->len : 0;
    size_t take = n < room ? n : room;

    if (take < n) {
        b->dropped += n - take;
        b->truncated = 1;
    }
    if (take == 0) {
        if (b->p == NULL) {
            /* keep the "always NUL-terminated" promise for empty buffers */
            b->p = malloc(1);
            if (b->p == NULL)
                return -1;
            b->p[0] = '\0';
        }
        return 0;
    }
    if ((b->p == NULL || b->len + take > b->cap) &&
        grow(b, b->len + take) < 0) {
        b->dropped += take;
        b->truncated = 1;
        return b->fixed ? 0 : -1;
    }
    memcpy(b->p + b->len, data, take);
    b->len += take;
    b->p[b->len] = '\0';
    return 0;
}

void at_buf_free(at_buf *b)
{
    if (!b->fixed) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    } else {
        b->p[0] = '\0';
    }
    b->len = 0;
    b->dropped = 0;
    b->truncated = 0;
}

void *at_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t c = *cap ? *cap : first;
    void *q;

    if (need <= *cap)
        return p;
    while (c < need)
        c *= 2;
    q = realloc(p, c * elem);
    if (q != NULL)
        *cap = c;
    return q;
}
