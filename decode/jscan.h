/* jscan.h - a validating, allocation-free JSON scanner for the hot paths.
 *
 * A streamed model answer arrives as one small JSON document per token;
 * building a jansson tree for each (a malloc per value, a hash table per
 * object) costs ten times what the host spent receiving it.  This scanner
 * builds nothing: it walks the members of one object or the elements of
 * one array and hands out the raw text of each value, checked as it goes;
 * the caller decodes the few strings and integers it wants.
 *
 * It accepts a subset of what jansson accepts and nothing more: RFC 8259
 * with UTF-8 checked the way jansson checks it, "\u0000" allowed.  Where
 * jansson's answer could differ from a plain reading (a key spelled with
 * escapes, an integer beyond 64 bits, which makes at_llm_parse() read every
 * integer as a real, an exponent that may overflow, nesting past
 * AT_JS_MAX_DEPTH) the scanner reports failure, and the caller falls back
 * to the jansson path, so both paths always agree.
 *
 * Sink thread only; pure functions of their input.
 */
#ifndef AT_JSCAN_H
#define AT_JSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

#define AT_JS_MAX_DEPTH 64

/* One value of a scanned document, in document order (a member's key is
 * a token of its own, just before its value).  `next` is the index of the
 * token after this value and everything inside it. */
typedef struct at_js_tok {
    uint32_t off, len, next;
    uint8_t kind; /* AT_JS_OBJECT, ... (below) */
    uint8_t esc;  /* a string holding escapes */
    uint8_t key;  /* a member's key */
    uint8_t spare; /* 0: every byte of a token is defined (the memo moves
                      tokens 16 bytes at a time, decode/jscan.c) */
} at_js_tok;

/* A scanned document: its text and its tokens (the caller's array). */
typedef struct at_js_doc_t {
    const char *text;
    at_js_tok *tok;
    uint32_t ntok, cap;
    int full;     /* at_js_doc failed for want of tokens */
    uint32_t gen; /* the generation of the kept shape (at_js_shape) this
                     document has with the same keys, or 0 */
    struct at_jmemo *memo; /* at_js_doc_memo's memo, or NULL */
} at_js_doc_t;

/* One value: its raw text, and where its token is. */
typedef struct at_js {
    const char *p;  /* NULL: absent */
    size_t n;
    const at_js_doc_t *doc;
    uint32_t i;
} at_js;

/* A cursor over the members of an object or the elements of an array. */
typedef struct at_js_it {
    const at_js_doc_t *doc;
    uint32_t i, end;
} at_js_it;

/* at_js_doc: scan p[0..n), which must be exactly one JSON value (blanks
 * around allowed), checking all of it, into `doc` (tokens in `tok`, room
 * for `cap`), and set *out to the value.  0 when it is not one, when it
 * is beyond the scanner (see above), or when it has more than `cap`
 * values (doc->full is then set). */
int at_js_doc(const char *p, size_t n, at_js_tok *tok, uint32_t cap,
              at_js_doc_t *doc, at_js *out);

/* at_js_doc_memo: at_js_doc, taking the elements of the arrays at depth 1
 * that are byte for byte elements of the body `memo` keeps from it (see
 * decode/jmemo.h), and noting them in it.  The same document, tokens and
 * answer as at_js_doc. */
struct at_jmemo;
int at_js_doc_memo(const char *p, size_t n, at_js_tok *tok, uint32_t cap,
                   at_js_doc_t *doc, at_js *out, struct at_jmemo *memo);

/* A document kept to scan the next one against: in a stream, one chunk
 * is mostly the bytes of the one before (the same keys, ids and model; a
 * new text fragment).  Owns copies of the text and the tokens. */
typedef struct at_js_shape {
    char *text;
    size_t n, text_cap;
    at_js_tok *tok;
    uint32_t ntok, tok_cap;
    uint32_t gen; /* counts the documents kept, from 1 */
} at_js_shape;

/* at_js_shape_keep: make `sh` a copy of `doc`, whose text is n bytes.
 * 0 on allocation failure (sh is then empty: at_js_redoc refuses). */
int at_js_shape_keep(at_js_shape *sh, const at_js_doc_t *doc, size_t n);

/* at_js_shape_free: free the copies (sh itself is the caller's). */
void at_js_shape_free(at_js_shape *sh);

/* at_js_redoc: at_js_doc for a text that has the shape `sh` holds: the
 * same bytes but inside some strings and numbers (at most
 * AT_JS_MAX_CHANGES of them), each of which is checked as at_js_doc checks
 * a string or a number.  Compares rather
 * than scans: a chunk whose new bytes are one text fragment costs a
 * comparison of its bytes and the check of that one string.  Fills `doc`,
 * `tok` and *out exactly as at_js_doc(p, n, tok, cap, doc, out) would
 * (doc->gen besides: sh->gen when no key changed, so that anything read
 * from the kept document by keys and kinds reads the same here; else 0),
 * and returns 1; returns 0 (the caller then calls at_js_doc) for any
 * other text, and when `cap` is below the shape's token count. */
#define AT_JS_MAX_CHANGES 8
int at_js_redoc(const at_js_shape *sh, const char *p, size_t n,
                at_js_tok *tok, uint32_t cap, at_js_doc_t *doc, at_js *out);

/* at_js_redoc in two steps, for a caller that reads only some tokens (a
 * stream decoder that knows where its values are in the kept shape):
 * at_js_rescan compares (1 when at_js_redoc would take the text; `pt`
 * then says which strings and numbers changed), at_js_patch_toks writes tokens
 * [from, to) as at_js_redoc would, at_js_patch_doc the document around
 * them (tokens outside the ranges written are left as they were: read
 * only those written).  `pt` refers to `sh` and the text, which must
 * outlive it unchanged. */
typedef struct at_js_patch {
    const at_js_shape *sh;
    const char *text;
    uint32_t gen; /* as doc->gen */
    int nch;
    struct {
        uint32_t at;  /* the string's end in the shape's text */
        uint32_t tok; /* its token */
        long delta;   /* from `at` on, offsets move by this */
        uint8_t esc;  /* its new text holds escapes */
    } ch[AT_JS_MAX_CHANGES];
} at_js_patch;

int at_js_rescan(const at_js_shape *sh, const char *p, size_t n,
                 at_js_patch *pt);
void at_js_patch_toks(const at_js_patch *pt, uint32_t from, uint32_t to,
                      at_js_tok *tok);
void at_js_patch_doc(const at_js_patch *pt, at_js_tok *tok, uint32_t cap,
                     at_js_doc_t *doc);

/* at_js_patch_leaf: at_js_patch_toks(pt, k, k + 1, tok) for a token with
 * nothing inside it (not an object or array), inline. */
static inline void at_js_patch_leaf(const at_js_patch *pt, uint32_t k,
                                    at_js_tok *tok)
{
    const at_js_tok *o = &pt->sh->tok[k];
    long d = 0;
    int c = 0;

    tok[k] = *o;
    while (c < pt->nch && pt->ch[c].at <= o->off)
        d = pt->ch[c++].delta;
    tok[k].off = (uint32_t)((long)o->off + d);
    if (c < pt->nch && pt->ch[c].tok == k) {
        tok[k].len = (uint32_t)((long)o->len + pt->ch[c].delta - d);
        tok[k].esc = pt->ch[c].esc;
    }
}

/* at_js_obj/at_js_arr: start iterating `v` when it is an object/array.
 * 0 if not (absent values included). */
int at_js_obj(at_js v, at_js_it *it);
int at_js_arr(at_js v, at_js_it *it);

/* at_js_next_member: the next member of an object: its key (the raw text
 * between the quotes; a document with a key holding escapes is refused by
 * at_js_doc) and its value.  1, or 0 at the end. */
int at_js_next_member(at_js_it *it, at_js *key, at_js *val);

/* at_js_next: the next element of an array.  1, or 0 at the end. */
int at_js_next(at_js_it *it, at_js *val);

/* AT_JS_KEY: whether key `k` is the string literal `lit`. */
#define AT_JS_KEY(k, lit) \
    ((k).n == sizeof(lit) - 1 && memcmp((k).p, lit, sizeof(lit) - 1) == 0)

/* at_js_key_is: whether key `k` is `s`. */
int at_js_key_is(at_js key, const char *s);

/* Value kinds, from the first byte (absent values are AT_JS_NONE). */
enum {
    AT_JS_NONE = 0,
    AT_JS_OBJECT,
    AT_JS_ARRAY,
    AT_JS_STRING,
    AT_JS_NUMBER,
    AT_JS_BOOL,
    AT_JS_NULL
};
int at_js_kind(at_js v);

/* at_js_int: the value of an integer (no fraction, no exponent) in *out.
 * 0 when v is not one. */
int at_js_int(at_js v, int64_t *out);

/* at_js_str_len: the decoded length of string value v (checked by the
 * scanner), 0 for an empty or non-string value. */
size_t at_js_str_len(at_js v);

/* at_js_str_empty: at_js_str_len(v) == 0 without decoding: every escape
 * decodes to at least one byte, so only "" (and any non-string) is. */
static inline int at_js_str_empty(at_js v)
{
    return v.p == NULL || v.n <= 2 || v.p[0] != '"';
}

/* at_js_bare: for a string value without escapes (a type name, as the
 * stream decoders compare them with AT_JS_KEY), its text between the
 * quotes in *in: 1; else 0 (not a string, or escapes). */
static inline int at_js_bare(at_js v, at_js *in)
{
    if (v.p == NULL || v.n < 2 || v.p[0] != '"' ||
        (v.doc != NULL ? v.doc->tok[v.i].esc
                       : memchr(v.p, '\\', v.n) != NULL))
        return 0;
    in->p = v.p + 1;
    in->n = v.n - 2;
    in->doc = NULL;
    in->i = 0;
    return 1;
}

/* at_js_str_eq: whether string value v decodes to exactly `s`. */
int at_js_str_eq(at_js v, const char *s);

/* at_js_str_append: append the decoded bytes of string value v to b.
 * Returns the number of decoded bytes (0 for non-strings). */
size_t at_js_str_append(at_js v, at_buf *b);

/* at_js_str_dup: a new NUL-terminated copy of the decoded string (cut at
 * an embedded NUL, as strdup of jansson's value would be), or NULL on
 * allocation failure or a non-string value. */
char *at_js_str_dup(at_js v);

#endif
