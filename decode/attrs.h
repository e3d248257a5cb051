/* attrs.h - a span's attributes as a flat list, written straight to the
 * span line.
 *
 * A jansson object costs, for each attribute, a hash of the key and a pair
 * allocation, and the whole tree a walk to write it and another to free
 * it.  Most attributes of a model call are a string or a number, written
 * once and read at most once more; here they are kept as what they are (a
 * string's bytes, an integer, a real) or, for a value a fast decoder has
 * already written as JSON text (the messages of the common shapes), as
 * that text.  A value the decoders built as a jansson tree is kept as the
 * tree.
 *
 * The order is the order of first setting; setting a key again replaces
 * its value in its place, as jansson does, so the line is the one a jansson
 * object of the same settings would give, byte for byte.
 *
 * Keys are borrowed: a key passed in must outlive the list (a string
 * literal), except through at_attrs_take, which keeps the object whose
 * keys it borrows.  Sink thread only.
 */
#ifndef AT_ATTRS_H
#define AT_ATTRS_H

#include <stddef.h>
#include <string.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"

typedef enum at_attr_kind {
    AT_ATTR_JSON = 0, /* a jansson value (owned) */
    AT_ATTR_STR,      /* valid UTF-8 bytes in the arena */
    AT_ATTR_I64,
    AT_ATTR_REAL,     /* finite */
    AT_ATTR_BOOL,
    AT_ATTR_RAW,      /* JSON text in the arena, as at_jw_value writes */
    AT_ATTR_MEMBERS   /* JSON text in the arena of whole members, each
                         ",\"key\":value" (at_attrs_close_members) */
} at_attr_kind;

typedef struct at_attr {
    const char *key;
    uint32_t klen;
    uint8_t kind;     /* at_attr_kind */
    uint8_t dead;     /* deleted: skipped by everything */
    uint8_t plain;    /* RAW messages: no part of type tool_call or
                         tool_call_response (at_attrs_msgs need not parse
                         them) */
    union {
        json_t *j;
        struct {
            size_t off, len;
        } s;
        int64_t i;
        double d;
        int b;
    } v;
} at_attr;

#define AT_ATTRS_LOCAL 40
#define AT_ATTRS_SLOTS 64   /* indexed while at most 3/4 full */

/* Where a message that may hold tool parts is in the text of a RAW
 * messages value (arena offsets); whether it may hold a
 * tool_call_response part (else only tool_call parts), and the text of
 * that part's id (quotes included), id_len 0 when it has none written the
 * fast way: each_part then reads only these messages (at_attrs_marks). */
typedef struct at_attr_mark {
    size_t off, len, id_off, id_len;
    int responses;
} at_attr_mark;

typedef struct at_attrs {
    at_attr *e;       /* local until more are needed */
    size_t n, cap;
    at_buf arena;     /* STR and RAW values */
    json_t *held;     /* objects whose keys at_attrs_take borrowed (an
                         array), or NULL */
    int failed;       /* an allocation failed: something was not set */
    at_attr_mark *marks; /* at_attrs_set_marks's, or NULL */
    size_t nmarks;
    size_t marks_of;  /* the arena offset of the value they are of */
    uint8_t linear;   /* too many entries for the index: look-ups scan */
    uint8_t index[AT_ATTRS_SLOTS]; /* open addressing by a hash of the
                         key: entry number + 1, 0 for a free slot */
    at_attr local[AT_ATTRS_LOCAL];
} at_attrs;

/* at_attrs_init: an empty list.  at_attrs_free releases it (and may be
 * called on a zeroed one); the list is then empty and usable again after
 * at_attrs_init. */
void at_attrs_init(at_attrs *a);
void at_attrs_free(at_attrs *a);

/* at_attrs_clear: empty the list for reuse, keeping the memory of its
 * values when it is at most `keep` bytes (at_attrs_free, then
 * at_attrs_init, without giving back what the next list would ask for
 * again). */
void at_attrs_clear(at_attrs *a, size_t keep);

/* Every function that takes a key has a _k form that takes its length;
 * the plain form is inline, so that a literal key's length is counted
 * when compiling. */

/* Setters.  Each replaces the value of a key already set (in its place)
 * or appends it.  Returns 0, or -1 when nothing was set (allocation
 * failure, a NULL value, a real that is not finite); a failed set leaves
 * an earlier value of the key as it was. */

/* at_attrs_set_json: steals the reference to v (freed on failure). */
int at_attrs_set_json_k(at_attrs *a, const char *key, size_t klen,
                        json_t *v);
static inline int at_attrs_set_json(at_attrs *a, const char *key, json_t *v)
{
    return at_attrs_set_json_k(a, key, strlen(key), v);
}
/* at_attrs_set_strn: n bytes (which may be a value the list holds);
 * invalid UTF-8 sets "\uFFFD" instead (as the sink's strings always have
 * been). */
int at_attrs_set_strn_k(at_attrs *a, const char *key, size_t klen,
                        const char *s, size_t n);
static inline int at_attrs_set_strn(at_attrs *a, const char *key,
                                    const char *s, size_t n)
{
    return at_attrs_set_strn_k(a, key, strlen(key), s, n);
}
int at_attrs_set_str_k(at_attrs *a, const char *key, size_t klen,
                       const char *s);
static inline int at_attrs_set_str(at_attrs *a, const char *key,
                                   const char *s)
{
    return at_attrs_set_str_k(a, key, strlen(key), s);
}
/* at_attrs_set_utf8: n bytes known to be valid UTF-8 (a scanned JSON
 * string: the scanner checked it), not checked again. */
int at_attrs_set_utf8_k(at_attrs *a, const char *key, size_t klen,
                        const char *s, size_t n);
static inline int at_attrs_set_utf8(at_attrs *a, const char *key,
                                    const char *s, size_t n)
{
    return at_attrs_set_utf8_k(a, key, strlen(key), s, n);
}
int at_attrs_set_i64_k(at_attrs *a, const char *key, size_t klen, int64_t v);
int at_attrs_set_real_k(at_attrs *a, const char *key, size_t klen, double v);
int at_attrs_set_bool_k(at_attrs *a, const char *key, size_t klen, int v);
static inline int at_attrs_set_i64(at_attrs *a, const char *key, int64_t v)
{
    return at_attrs_set_i64_k(a, key, strlen(key), v);
}
static inline int at_attrs_set_real(at_attrs *a, const char *key, double v)
{
    return at_attrs_set_real_k(a, key, strlen(key), v);
}
static inline int at_attrs_set_bool(at_attrs *a, const char *key, int v)
{
    return at_attrs_set_bool_k(a, key, strlen(key), v);
}
/* at_attrs_set_raw: n bytes of JSON text that at_jw_value wrote (so the
 * line reads as if the value were written there); `plain` as in
 * at_attr. */
int at_attrs_set_raw_k(at_attrs *a, const char *key, size_t klen,
                       const char *text, size_t n, int plain);
static inline int at_attrs_set_raw(at_attrs *a, const char *key,
                                   const char *text, size_t n, int plain)
{
    return at_attrs_set_raw_k(a, key, strlen(key), text, n, plain);
}

/* Writing a value in place: at_attrs_open gives the arena (and in *mark
 * where the value starts) for the caller to append to; nothing else may
 * touch the list until at_attrs_close makes what was appended since mark
 * key's value, of `kind` (AT_ATTR_STR: bytes known to be valid UTF-8, as
 * at_attrs_set_utf8; AT_ATTR_RAW: JSON text, as at_attrs_set_raw), or
 * at_attrs_drop forgets it.  at_attrs_close returns as the setters do (on
 * failure, what was appended is dropped). */
at_buf *at_attrs_open(at_attrs *a, size_t *mark);
int at_attrs_close_k(at_attrs *a, const char *key, size_t klen,
                     size_t mark, int kind, int plain);
static inline int at_attrs_close(at_attrs *a, const char *key, size_t mark,
                                 int kind, int plain)
{
    return at_attrs_close_k(a, key, strlen(key), mark, kind, plain);
}
void at_attrs_drop(at_attrs *a, size_t mark);

/* at_attrs_close_members: what was appended since mark (at_attrs_open) is
 * members of the object, each written ",\"key\":value" as at_attrs_write
 * would write it, in their place among the others.  For the attributes a
 * span always has, which nothing sets again, reads or deletes: their keys
 * are not looked up (at_attrs_find and the setters do not see them; a key
 * set again would be written twice).  Returns as the setters do. */
int at_attrs_close_members(at_attrs *a, size_t mark);

/* at_attrs_set_marks: `marks` (malloc'ed, n of them; taken, freed on
 * failure) say which messages of RAW value `key` may hold tool parts: all
 * others hold none.  at_attrs_marks: those of entry x, when they were set
 * for its present value: 1, and *marks, *n; else 0 (any message may hold
 * some). */
void at_attrs_set_marks_k(at_attrs *a, const char *key, size_t klen,
                          at_attr_mark *marks, size_t n);
static inline void at_attrs_set_marks(at_attrs *a, const char *key,
                                      at_attr_mark *marks, size_t n)
{
    at_attrs_set_marks_k(a, key, strlen(key), marks, n);
}
int at_attrs_marks(const at_attrs *a, const at_attr *x,
                   const at_attr_mark **marks, size_t *n);

/* at_attrs_take: move every member of object `obj` into the list, in its
 * order, as JSON values (they replace values of keys already set); steals
 * the reference to obj.  -1 when obj is not an object (it is freed). */
int at_attrs_take(at_attrs *a, json_t *obj);

/* at_attrs_del: delete key (nothing when it is not set). */
void at_attrs_del_k(at_attrs *a, const char *key, size_t klen);
static inline void at_attrs_del(at_attrs *a, const char *key)
{
    at_attrs_del_k(a, key, strlen(key));
}

/* at_attrs_find: the live entry of key, or NULL. */
const at_attr *at_attrs_find_k(const at_attrs *a, const char *key,
                               size_t klen);
static inline const at_attr *at_attrs_find(const at_attrs *a,
                                           const char *key)
{
    return at_attrs_find_k(a, key, strlen(key));
}

/* at_attrs_str: the string value of key (STR, or a JSON string), its
 * length in *n when n is not NULL; NULL when not set or not a string.
 * The text is NUL-terminated and valid until the list changes. */
const char *at_attrs_str_k(const at_attrs *a, const char *key, size_t klen,
                           size_t *n);
static inline const char *at_attrs_str(const at_attrs *a, const char *key,
                                       size_t *n)
{
    return at_attrs_str_k(a, key, strlen(key), n);
}

/* at_attrs_count: 1 and *out when key holds an integer (I64 or a JSON
 * integer), else 0. */
int at_attrs_count_k(const at_attrs *a, const char *key, size_t klen,
                     int64_t *out);
static inline int at_attrs_count(const at_attrs *a, const char *key,
                                 int64_t *out)
{
    return at_attrs_count_k(a, key, strlen(key), out);
}

/* at_attrs_value: key's value as a new jansson value (RAW text parsed),
 * or NULL when not set or on failure. */
json_t *at_attrs_value_k(const at_attrs *a, const char *key, size_t klen);
static inline json_t *at_attrs_value(const at_attrs *a, const char *key)
{
    return at_attrs_value_k(a, key, strlen(key));
}

/* at_attrs_write: the list as a JSON object, at_jw_json's way.  Returns
 * 0, or -1 when a JSON value could not be written (see at_jw_json). */
int at_attrs_write(at_buf *b, const at_attrs *a);

/* at_attrs_to_json: a new jansson object of the list (tests, and
 * callers of the jansson API); NULL on failure. */
json_t *at_attrs_to_json(const at_attrs *a);

#endif
