/* salvage.c - facts from the two ends of an oversized body (salvage.h).
 * Sink thread only. */
#include "salvage.h"
#include "sink/jalloc.h"

#include <string.h>

void at_salvage_tail(at_buf *tail, const char *p, size_t n)
{
    if (n >= AT_SALVAGE_TAIL) {
        at_buf_reset(tail);
        at_buf_append(tail, p + n - AT_SALVAGE_TAIL, AT_SALVAGE_TAIL);
        return;
    }
    if (tail->len + n > 2 * AT_SALVAGE_TAIL) {
        size_t keep = AT_SALVAGE_TAIL - n;

        memmove(tail->p, tail->p + tail->len - keep, keep);
        tail->len = keep;
    }
    at_buf_append(tail, p, n);
}

/* Length of the JSON value at s (a string, number, literal, object or
 * array), or 0 when it does not end inside the n bytes. */
static size_t value_len(const char *s, size_t n)
{
    size_t i = 0;
    int depth = 0, in_str = 0;

    if (n == 0)
        return 0;
    if (s[0] != '"' && s[0] != '{' && s[0] != '[') {
        while (i < n && strchr(",}] \t\r\n", s[i]) == NULL)
            i++;
        return i < n ? i : 0;
    }
    for (; i < n; i++) {
        char c = s[i];

        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            if (!in_str && depth == 0)
                return i + 1;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return i + 1;
    }
    return 0;
}

/* The value after `"key"` followed by a colon, searching forward (first
 * match) or backward (last match). */
static json_t *find(const char *s, size_t n, const char *key, int last)
{
    size_t kl = strlen(key), i;
    json_t *found = NULL;

    if (s == NULL || n < kl + 3)
        return NULL;
    for (i = 0; i + kl + 2 < n; i++) {
        size_t j, vl;
        json_t *v;

        if (s[i] != '"' || strncmp(s + i + 1, key, kl) || s[i + 1 + kl] != '"')
            continue;
        /* a key, not text that looks like one inside a string */
        if (i > 0) {
            size_t b = i;

            while (b > 0 && strchr(" \t\r\n", s[b - 1]))
                b--;
            if (b > 0 && s[b - 1] != '{' && s[b - 1] != ',')
                continue;
        }
        j = i + kl + 2;
        while (j < n && strchr(" \t\r\n", s[j]))
            j++;
        if (j >= n || s[j] != ':')
            continue;
        j++;
        while (j < n && strchr(" \t\r\n", s[j]))
            j++;
        vl = value_len(s + j, n - j);
        if (vl == 0)
            continue;
        v = at_json_loadb(s + j, vl, JSON_DECODE_ANY, NULL);
        if (v == NULL)
            continue;
        json_decref(found);
        found = v;
        if (!last)
            break;
    }
    return found;
}

static int listed(const char *const *list, const char *k)
{
    for (; list && *list; list++)
        if (!strcmp(*list, k))
            return 1;
    return 0;
}

json_t *at_salvage(const char *head, size_t hlen, const char *tail,
                   size_t tlen, const char *const *keys,
                   const char *const *from_tail)
{
    json_t *o = json_object();

    for (; o && *keys; keys++) {
        json_t *v = listed(from_tail, *keys) ? NULL
                                             : find(head, hlen, *keys, 0);

        if (v == NULL)
            v = find(tail, tlen, *keys, 1);

        if (v)
            json_object_set_new_nocheck(o, *keys, v);
    }
    return o;
}
