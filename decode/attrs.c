/* attrs.c - a span's attributes as a flat list (see attrs.h).  Sink
 * thread. */
#include "attrs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sink/jalloc.h"
#include "sink/jw.h"

/* The arena holds any value a decoder can make (texts are cut at 64 MiB
 * each long before this). */
#define ARENA_MAX (((size_t)-1) >> 2)

void at_attrs_init(at_attrs *a)
{
    a->e = a->local;
    a->n = 0;
    a->cap = AT_ATTRS_LOCAL;
    at_buf_init(&a->arena, ARENA_MAX);
    a->held = NULL;
    a->failed = 0;
    a->marks = NULL;
    a->nmarks = 0;
    a->marks_of = (size_t)-1;
    a->linear = 0;
    memset(a->index, 0, sizeof(a->index));
}

static void drop_value(at_attr *x)
{
    if (x->kind == AT_ATTR_JSON)
        json_decref(x->v.j);
    x->kind = AT_ATTR_BOOL;
}

void at_attrs_free(at_attrs *a)
{
    size_t i;

    if (a->e == NULL)
        return;
    for (i = 0; i < a->n; i++)
        if (a->e[i].kind == AT_ATTR_JSON)
            json_decref(a->e[i].v.j);
    if (a->e != a->local)
        free(a->e);
    at_buf_free(&a->arena);
    json_decref(a->held);
    free(a->marks);
    a->marks = NULL;
    a->nmarks = 0;
    a->e = NULL;
    a->n = a->cap = 0;
    a->held = NULL;
}

void at_attrs_clear(at_attrs *a, size_t keep)
{
    at_buf arena = a->arena;
    int kept = a->e != NULL && arena.p != NULL && arena.cap <= keep;

    if (kept)
        a->arena.p = NULL;   /* not at_attrs_free's to give back */
    at_attrs_free(a);
    at_attrs_init(a);
    if (kept) {
        a->arena = arena;
        at_buf_reset(&a->arena);
    }
}

/* home: the key's first slot in the index: from its length and its last
 * eight bytes (attribute names share their beginnings, not their ends). */
static inline unsigned home(const char *key, size_t klen)
{
    uint64_t w = 0;

    if (klen >= 8)
        memcpy(&w, key + klen - 8, 8);
    else
        memcpy(&w, key, klen);
    return (unsigned)(((w ^ klen) * 0x9E3779B97F4A7C15ull) >> 58);
}

static inline int same(const at_attr *x, const char *key, size_t klen)
{
    /* (an entry of members has the empty key, and is none) */
    return x->klen == klen && !x->dead &&
           (klen != 0 || x->kind != AT_ATTR_MEMBERS) &&
           (x->key == key || memcmp(x->key, key, klen) == 0);
}

/* find_at: key's entry, or NULL; h is home(key, klen). */
static inline __attribute__((always_inline)) at_attr *
find_at(const at_attrs *a, const char *key, size_t klen, unsigned h)
{
    size_t i;

    if (__builtin_expect(a->linear, 0)) {
        for (i = 0; i < a->n; i++)
            if (same(&a->e[i], key, klen))
                return &a->e[i];
        return NULL;
    }
    for (;; h = (h + 1) & (AT_ATTRS_SLOTS - 1)) {
        unsigned k = a->index[h];

        if (k == 0)
            return NULL;
        if (same(&a->e[k - 1], key, klen))
            return &a->e[k - 1];
    }
}

static at_attr *find(const at_attrs *a, const char *key, size_t klen)
{
    return find_at(a, key, klen, home(key, klen));
}

/* index_add: entry a->n - 1 (of home h) into the index, or the index
 * given up when it would be more than 3/4 full. */
static inline void index_add(at_attrs *a, unsigned h)
{
    if (a->linear)
        return;
    if (a->n > AT_ATTRS_SLOTS * 3 / 4) {
        a->linear = 1;
        return;
    }
    for (; a->index[h] != 0; h = (h + 1) & (AT_ATTRS_SLOTS - 1))
        ;
    a->index[h] = (uint8_t)a->n;
}

static at_attr *push(at_attrs *a);

/* slot: the entry of key, its old value dropped, or a new one at the
 * end; NULL when out of memory. */
static at_attr *slot(at_attrs *a, const char *key, size_t klen)
{
    unsigned h = home(key, klen);
    at_attr *x = find_at(a, key, klen, h);

    if (x != NULL) {
        drop_value(x);
        x->plain = 0;
        return x;
    }
    if (klen > UINT32_MAX || (x = push(a)) == NULL)
        return NULL;
    index_add(a, h);
    x->key = key;
    x->klen = (uint32_t)klen;
    return x;
}

/* push: a new entry at the end (not indexed), or NULL when out of
 * memory. */
static at_attr *push(at_attrs *a)
{
    at_attr *x;

    if (a->e == NULL)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap * 2;
        at_attr *ne = a->e == a->local ? malloc(cap * sizeof(*ne))
                                       : realloc(a->e, cap * sizeof(*ne));

        if (ne == NULL)
            return NULL;
        if (a->e == a->local)
            memcpy(ne, a->local, a->n * sizeof(*ne));
        a->e = ne;
        a->cap = cap;
    }
    x = &a->e[a->n++];
    x->key = "";
    x->klen = 0;
    x->dead = 0;
    x->plain = 0;
    x->kind = AT_ATTR_BOOL;
    x->v.b = 0;
    return x;
}

static int fail(at_attrs *a)
{
    a->failed = 1;
    return -1;
}

/* scalar: key's entry made a value of `kind`, set by the caller; NULL
 * (failed recorded) when out of memory. */
static at_attr *scalar(at_attrs *a, const char *key, size_t klen,
                        int kind)
{
    at_attr *x = slot(a, key, klen);

    if (x == NULL)
        fail(a);
    else
        x->kind = (uint8_t)kind;
    return x;
}

int at_attrs_set_json_k(at_attrs *a, const char *key, size_t klen, json_t *v)
{
    at_attr *x;

    if (v == NULL)
        return fail(a);
    if ((x = scalar(a, key, klen, AT_ATTR_JSON)) == NULL) {
        json_decref(v);
        return -1;
    }
    x->v.j = v;
    return 0;
}

/* The arena's first allocation: what a model call's strings and
 * messages mostly fit in (fewer reallocations than growing from 256). */
#define ARENA_FIRST 2048

at_buf *at_attrs_open(at_attrs *a, size_t *mark)
{
    if (a->arena.p == NULL)
        at_buf_reserve(&a->arena, ARENA_FIRST);
    *mark = a->arena.len;
    return &a->arena;
}

void at_attrs_drop(at_attrs *a, size_t mark)
{
    if (mark <= a->arena.len) {
        a->arena.len = mark;
        if (a->arena.p != NULL)
            a->arena.p[mark] = '\0';
    }
    a->arena.truncated = 0;
}

int at_attrs_close_k(at_attrs *a, const char *key, size_t klen,
                     size_t mark, int kind, int plain)
{
    size_t n = a->arena.len - mark;
    at_attr *x;

    if (at_buf_append(&a->arena, "", 1) < 0 || a->arena.truncated) {
        at_attrs_drop(a, mark);
        return fail(a);
    }
    x = slot(a, key, klen);
    if (x == NULL)
        return fail(a);
    x->kind = (uint8_t)kind;
    x->plain = (uint8_t)plain;
    x->v.s.off = mark;
    x->v.s.len = n;
    return 0;
}

int at_attrs_close_members(at_attrs *a, size_t mark)
{
    size_t n = a->arena.len - mark;
    at_attr *x;

    if (n == 0)
        return 0;
    if (at_buf_append(&a->arena, "", 1) < 0 || a->arena.truncated ||
        (x = push(a)) == NULL) {
        at_attrs_drop(a, mark);
        return fail(a);
    }
    x->kind = AT_ATTR_MEMBERS;
    x->v.s.off = mark;
    x->v.s.len = n;
    return 0;
}

/* text: n bytes into the arena (NUL after them) as value `kind` of key. */
static int text(at_attrs *a, const char *key, size_t klen, const char *s,
                size_t n, int kind, int plain)
{
    size_t mark;
    at_buf *b;

    if (a->arena.p != NULL && s >= a->arena.p &&
        s <= a->arena.p + a->arena.len) {
        /* a value the list holds: where it is after the arena grows */
        size_t at = (size_t)(s - a->arena.p);

        if (at_buf_reserve(&a->arena, n + 1) == NULL) {
            a->arena.truncated = 0;
            return fail(a);
        }
        s = a->arena.p + at;
    }
    b = at_attrs_open(a, &mark);
    at_buf_append(b, s, n);
    return at_attrs_close_k(a, key, klen, mark, kind, plain);
}

int at_attrs_set_utf8_k(at_attrs *a, const char *key, size_t klen,
                        const char *s, size_t n)
{
    return text(a, key, klen, s, n, AT_ATTR_STR, 0);
}

int at_attrs_set_strn_k(at_attrs *a, const char *key, size_t klen,
                        const char *s, size_t n)
{
    if (s == NULL)
        return fail(a);
    if (!at_jw_utf8_ok(s, n))
        return text(a, key, klen, "\xEF\xBF\xBD", 3, AT_ATTR_STR, 0);
    return text(a, key, klen, s, n, AT_ATTR_STR, 0);
}

int at_attrs_set_str_k(at_attrs *a, const char *key, size_t klen,
                       const char *s)
{
    if (s == NULL)
        return fail(a);
    return at_attrs_set_strn_k(a, key, klen, s, strlen(s));
}

int at_attrs_set_raw_k(at_attrs *a, const char *key, size_t klen,
                       const char *t, size_t n, int plain)
{
    return text(a, key, klen, t, n, AT_ATTR_RAW, plain);
}

int at_attrs_set_i64_k(at_attrs *a, const char *key, size_t klen, int64_t v)
{
    at_attr *x = scalar(a, key, klen, AT_ATTR_I64);

    if (x == NULL)
        return -1;
    x->v.i = v;
    return 0;
}

int at_attrs_set_real_k(at_attrs *a, const char *key, size_t klen, double v)
{
    at_attr *x;

    if (!isfinite(v) || (x = scalar(a, key, klen, AT_ATTR_REAL)) == NULL)
        return -1;
    x->v.d = v;
    return 0;
}

int at_attrs_set_bool_k(at_attrs *a, const char *key, size_t klen, int v)
{
    at_attr *x = scalar(a, key, klen, AT_ATTR_BOOL);

    if (x == NULL)
        return -1;
    x->v.b = v != 0;
    return 0;
}

int at_attrs_take(at_attrs *a, json_t *obj)
{
    void *it;

    if (!json_is_object(obj)) {
        json_decref(obj);
        return -1;
    }
    if (json_object_size(obj) == 0) {
        json_decref(obj);
        return 0;
    }
    if (a->held == NULL && (a->held = json_array()) == NULL) {
        json_decref(obj);
        return fail(a);
    }
    /* the keys stay where they are, in obj, which the list keeps */
    if (json_array_append_new(a->held, obj) < 0)
        return fail(a);
    for (it = json_object_iter(obj); it != NULL;
         it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        at_attr *x = slot(a, k, json_object_iter_key_len(it));

        if (x == NULL)
            return fail(a);
        x->kind = AT_ATTR_JSON;
        x->v.j = json_incref(v);
    }
    return 0;
}

void at_attrs_del_k(at_attrs *a, const char *key, size_t klen)
{
    at_attr *x = find(a, key, klen);

    if (x != NULL) {
        drop_value(x);
        x->dead = 1;
    }
}

const at_attr *at_attrs_find_k(const at_attrs *a, const char *key, size_t klen)
{
    return find(a, key, klen);
}

const char *at_attrs_str_k(const at_attrs *a, const char *key, size_t klen,
                           size_t *n)
{
    const at_attr *x = find(a, key, klen);

    if (x == NULL)
        return NULL;
    if (x->kind == AT_ATTR_STR) {
        if (n)
            *n = x->v.s.len;
        return a->arena.p + x->v.s.off;
    }
    if (x->kind == AT_ATTR_JSON && json_is_string(x->v.j)) {
        if (n)
            *n = json_string_length(x->v.j);
        return json_string_value(x->v.j);
    }
    return NULL;
}

int at_attrs_count_k(const at_attrs *a, const char *key, size_t klen,
                     int64_t *out)
{
    const at_attr *x = find(a, key, klen);

    if (x == NULL)
        return 0;
    if (x->kind == AT_ATTR_I64) {
        *out = x->v.i;
        return 1;
    }
    if (x->kind == AT_ATTR_JSON && json_is_integer(x->v.j)) {
        *out = (int64_t)json_integer_value(x->v.j);
        return 1;
    }
    return 0;
}

static json_t *value_of(const at_attrs *a, const at_attr *x)
{
    const char *p = a->arena.p;

    switch (x->kind) {
    case AT_ATTR_JSON:
        return json_incref(x->v.j);
    case AT_ATTR_STR:
        return json_stringn_nocheck(p + x->v.s.off, x->v.s.len);
    case AT_ATTR_I64:
        return json_integer((json_int_t)x->v.i);
    case AT_ATTR_REAL:
        return json_real(x->v.d);
    case AT_ATTR_BOOL:
        return json_boolean(x->v.b);
    case AT_ATTR_RAW:
        return at_json_loadb(p + x->v.s.off, x->v.s.len,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    default:
        return NULL;
    }
}

void at_attrs_set_marks_k(at_attrs *a, const char *key, size_t klen,
                          at_attr_mark *marks, size_t n)
{
    const at_attr *x = find(a, key, klen);

    free(a->marks);
    a->marks = NULL;
    a->nmarks = 0;
    a->marks_of = (size_t)-1;
    if (x == NULL || x->kind != AT_ATTR_RAW) {
        free(marks);
        return;
    }
    a->marks = marks;
    a->nmarks = n;
    a->marks_of = x->v.s.off;
}

int at_attrs_marks(const at_attrs *a, const at_attr *x,
                   const at_attr_mark **marks, size_t *n)
{
    /* a value's arena offset is its own: a later value of the key (or of
     * another) is appended after it, never where it was */
    if (x == NULL || x->kind != AT_ATTR_RAW || x->dead ||
        x->v.s.off != a->marks_of)
        return 0;
    *marks = a->marks;
    *n = a->nmarks;
    return 1;
}

json_t *at_attrs_value_k(const at_attrs *a, const char *key, size_t klen)
{
    const at_attr *x = find(a, key, klen);

    return x ? value_of(a, x) : NULL;
}

int at_attrs_write(at_buf *b, const at_attrs *a)
{
    size_t i;
    int first = 1;

    AT_JW_LIT(b, "{");
    for (i = 0; i < a->n; i++) {
        const at_attr *x = &a->e[i];
        const char *p = a->arena.p;
        int rc = 0;

        if (x->dead)
            continue;
        if (x->kind == AT_ATTR_MEMBERS) {
            /* without its first comma when it comes first */
            at_buf_append(b, p + x->v.s.off + first, x->v.s.len - first);
            first = 0;
            continue;
        }
        at_jw_jkey(b, x->key, x->klen, first);
        first = 0;
        switch (x->kind) {
        case AT_ATTR_JSON:
            rc = at_jw_value(b, x->v.j);
            break;
        case AT_ATTR_STR:
            at_jw_jstr(b, p + x->v.s.off, x->v.s.len);
            break;
        case AT_ATTR_I64:
            at_jw_i64(b, x->v.i);
            break;
        case AT_ATTR_REAL:
            rc = at_jw_real(b, x->v.d);
            break;
        case AT_ATTR_BOOL:
            if (x->v.b)
                AT_JW_LIT(b, "true");
            else
                AT_JW_LIT(b, "false");
            break;
        case AT_ATTR_RAW:
            at_buf_append(b, p + x->v.s.off, x->v.s.len);
            break;
        default:
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    AT_JW_LIT(b, "}");
    return 0;
}

/* members_to_json: the members of entry x set in o, in their order */
static int members_to_json(const at_attrs *a, const at_attr *x, json_t *o)
{
    at_buf t;
    json_t *m;
    const char *k;
    json_t *v;
    int rc = 0;

    /* "{" and the members without their first comma, "}" */
    at_buf_init(&t, x->v.s.len + 2);
    at_buf_append(&t, "{", 1);
    at_buf_append(&t, a->arena.p + x->v.s.off + 1, x->v.s.len - 1);
    at_buf_append(&t, "}", 1);
    m = t.truncated || t.p == NULL
            ? NULL
            : at_json_loadb(t.p, t.len, JSON_ALLOW_NUL, NULL);
    at_buf_free(&t);
    if (m == NULL)
        return -1;
    json_object_foreach(m, k, v) {
        if (json_object_set(o, k, v) < 0) {
            rc = -1;
            break;
        }
    }
    json_decref(m);
    return rc;
}

json_t *at_attrs_to_json(const at_attrs *a)
{
    json_t *o = json_object();
    size_t i;

    if (o == NULL)
        return NULL;
    for (i = 0; i < a->n; i++) {
        const at_attr *x = &a->e[i];

        if (x->dead)
            continue;
        if (x->kind == AT_ATTR_MEMBERS) {
            if (members_to_json(a, x, o) < 0) {
                json_decref(o);
                return NULL;
            }
            continue;
        }
        if (json_object_setn_new_nocheck(o, x->key, x->klen,
                                         value_of(a, x)) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
