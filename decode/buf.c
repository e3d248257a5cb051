/* buf.c - bounded growable buffer (see buf.h).  Sink thread only. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void at_buf_init(at_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

int at_buf_append(at_buf *b, const void *data, size_t n)
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
    if (b->len + take > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *np;

        while (cap < b->len + take)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        np = realloc(b->p, cap + 1);
        if (np == NULL) {
            b->dropped += take;
            b->truncated = 1;
            return -1;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, take);
    b->len += take;
    b->p[b->len] = '\0';
    return 0;
}

void at_buf_reset(at_buf *b)
{
    b->len = 0;
    b->dropped = 0;
    b->truncated = 0;
    if (b->p)
        b->p[0] = '\0';
}

void at_buf_free(at_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->dropped = 0;
    b->truncated = 0;
}
