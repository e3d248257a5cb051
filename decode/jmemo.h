/* jmemo.h - the elements of the last request bodies, kept so that the
 * next body's identical elements are neither scanned nor written again.
 *
 * An agent's requests carry the conversation so far: each one holds the
 * last one's messages and a few more (or, where the agent keeps a window,
 * all but the first few of them), the same system prompt and the same tool
 * definitions.  The elements of the arrays directly inside a body
 * (`messages`, `contents`, `tools`, ...) that are byte for byte elements
 * kept from the last bodies take their tokens from the memo
 * (at_js_doc_memo, decode/jscan.c) and their written message from it
 * (at_jf_messages, decode/jfast.c) instead of being scanned and written
 * again.  Identical bytes make the same tokens (a container's text ends at
 * its closing bracket, so a scan reads exactly those bytes) and the same
 * message (the writers read nothing but the element), so the document and
 * the span are the ones a fresh scan makes; the tests hold the two ways to
 * the same tokens and the same bytes.
 *
 * An element is kept once, however many bodies hold it: its text, its
 * tokens (relative to it) and what a writer wrote for it.  What a body
 * pays for its new elements: a hash of each one's first bytes and a copy
 * of its text and tokens; for its old ones, a comparison of their bytes
 * and a copy of their tokens (and of their message).  The elements of the
 * last AT_JM_GENS bodies are kept (two agents' conversations in one
 * process alternate), at most AT_JM_MAX_TEXT bytes of them.
 *
 * Sink thread only (one memo per thread). */
#ifndef AT_JMEMO_H
#define AT_JMEMO_H

#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "jscan.h"

/* Elements shorter than this are scanned: their first bytes are the
 * lookup's key, and a short one costs little to scan. */
#define AT_JM_MIN_ELEM 64
/* Bodies outside these bounds are not looked up: a small one is cheap to
 * scan (and has kept shapes, decode/llm.c); a huge one's elements would
 * be more memory than the shim should hold at rest. */
#define AT_JM_MIN_BODY 2048
#define AT_JM_MAX_BODY (1u << 20)
/* The bodies whose elements are kept, and how much of them at most: the
 * texts, and the messages written for them, each up to AT_JM_MAX_TEXT
 * (a body's new elements are not kept beyond it: they are scanned as any
 * other), the tokens up to AT_JM_MAX_TOKENS. */
#define AT_JM_GENS 4
#define AT_JM_MAX_TEXT (1u << 20)
#define AT_JM_MAX_TOKENS (1u << 16) /* 1 MiB of them */

/* A writer of messages (at_jf_msg_fn), as what identifies one. */
typedef void (*at_jm_fn)(void);

/* An element kept: its text, its tokens (offsets from its start, `next`
 * from its first token), what writer `fn` wrote for it when fn is not
 * NULL (out_len bytes at `out` in the memo's messages, without a comma
 * before them; the writer's answer and tool flag; its mark, offsets from
 * the message's start). */
typedef struct at_jm_ent {
    uint32_t text, len;
    uint32_t tok, ntok;
    uint32_t chain;     /* the next entry of its hash + 1, or 0 */
    uint32_t gen;       /* the last body that held it */
    uint32_t pos;       /* its place in that body's elements */
    at_jm_fn fn;
    uint32_t out, out_len;
    int8_t r;
    uint8_t tools;
    at_attr_mark mk;
} at_jm_ent;

/* An element of the body being decoded: its first token, its entry. */
typedef struct at_jm_at {
    uint32_t tok, ent;
} at_jm_at;

typedef struct at_jmemo {
    at_jm_ent *ent;
    uint32_t nent, ent_cap;
    char *text;          /* the entries' texts */
    size_t text_len, text_cap;
    at_js_tok *tok;      /* their tokens */
    size_t tok_len, tok_cap;
    char *out;           /* their messages */
    size_t out_len, out_cap;
    uint32_t *head;      /* hash of the first bytes -> entry + 1 */
    uint32_t nhead;      /* a power of two, or 0 */
    uint32_t gen;        /* bodies committed */
    /* the elements of the last body, in order: where a match is looked
     * for first */
    uint32_t *last;
    uint32_t nlast, last_cap, cursor;
    /* the body being decoded */
    at_jm_at *cur;
    uint32_t ncur, cur_cap, hint;
    const at_js_doc_t *doc; /* its document, once scanned */
    int lost;            /* an allocation failed: it is not kept */
} at_jmemo;

/* Counters for tests: elements taken from the memo by the scanner and by
 * the messages writer. */
extern long at_jm_scan_hits, at_jm_write_hits;

/* at_jm_begin: a body is about to be scanned (again, after a scan that
 * ran out of tokens). */
void at_jm_begin(at_jmemo *m);

/* at_jm_match: the entry whose text is at p (before end), or -1. */
long at_jm_match(at_jmemo *m, const char *p, const char *end);

/* at_jm_toks: entry e's tokens. */
static inline const at_js_tok *at_jm_toks(const at_jmemo *m,
                                          const at_jm_ent *e)
{
    return m->tok + e->tok;
}

/* at_jm_note: the scanner met an element of the body: entry e (a match)
 * or, e < 0, a new one (its text `len` bytes at p, its tokens `ntok` from
 * `t`, the body's); first_tok: its first token in the body. */
void at_jm_note(at_jmemo *m, long e, uint32_t first_tok, const char *p,
                uint32_t len, const at_js_tok *t, uint32_t ntok);

/* at_jm_scanned: the body's scan succeeded into `doc`. */
static inline void at_jm_scanned(at_jmemo *m, const at_js_doc_t *doc)
{
    m->doc = doc;
}

/* at_jm_element: the entry of value v (of the scanned body), or NULL when
 * v is not an element the memo holds. */
at_jm_ent *at_jm_element(at_jmemo *m, at_js v);

/* at_jm_out: the message entry e holds. */
static inline const char *at_jm_out(const at_jmemo *m, const at_jm_ent *e)
{
    return m->out + e->out;
}

/* at_jm_write: keep what writer fn wrote for entry e: n bytes at p
 * (without a comma before them), its answer r, its tool flag and its mark
 * (offsets from p's). */
void at_jm_write(at_jmemo *m, at_jm_ent *e, at_jm_fn fn, const char *p,
                 size_t n, int r, int tools, const at_attr_mark *mk);

/* at_jm_commit: the body given to at_jm_scanned is decoded: its elements
 * become the last body's.  A body that was not scanned leaves the memo as
 * it was. */
void at_jm_commit(at_jmemo *m);

/* at_jm_free: release everything (m itself is the caller's). */
void at_jm_free(at_jmemo *m);

#endif
