/* jmemo.c - the elements of the last request bodies (see jmemo.h). */
#include "jmemo.h"

#include <stdlib.h>
#include <string.h>

long at_jm_scan_hits, at_jm_write_hits;

/* Elements of the last body tried in order, then entries of one hash,
 * before a match is given up. */
#define RESYNC 4
#define CHAIN_TRIES 16

/* The hash of an element's first AT_JM_MIN_ELEM bytes. */
static uint32_t head_hash(const char *p)
{
    uint64_t h = 0x9E3779B97F4A7C15ull, w;
    int i;

    for (i = 0; i < AT_JM_MIN_ELEM; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    return (uint32_t)h;
}

/* at_grow (decode/buf.h) for a 32-bit count */
static void *room32(void *p, uint32_t *cap, size_t want, size_t size)
{
    size_t c = *cap;

    p = at_grow(p, &c, want, size, 64);
    *cap = (uint32_t)c;
    return p;
}

static int same(const at_jmemo *m, const at_jm_ent *e, const char *p,
                const char *end)
{
    return e->len <= (size_t)(end - p) &&
           memcmp(p, m->text + e->text, e->len) == 0;
}

/* the entries' hash index, made again for nent entries */
static int rehash(at_jmemo *m)
{
    uint32_t nh = m->nhead ? m->nhead : 64, i;

    while (nh < 2 * m->nent)
        nh *= 2;
    if (nh != m->nhead) {
        uint32_t *h = realloc(m->head, nh * sizeof(*h));

        if (h == NULL)
            return 0;
        m->head = h;
        m->nhead = nh;
    }
    memset(m->head, 0, m->nhead * sizeof(*m->head));
    /* a chain starts with the newest entry, as add() makes it */
    for (i = 0; i < m->nent; i++) {
        at_jm_ent *e = &m->ent[i];
        uint32_t h = head_hash(m->text + e->text) & (m->nhead - 1);

        e->chain = m->head[h];
        m->head[h] = i + 1;
    }
    return 1;
}

/* drop everything kept (on a failed allocation); a body being scanned
 * is not kept either (its elements' entries are gone) */
static void reset(at_jmemo *m)
{
    m->lost = 1;
    m->ncur = 0;
    m->nent = 0;
    m->text_len = 0;
    m->tok_len = 0;
    m->out_len = 0;
    m->nlast = 0;
    m->cursor = 0;
    if (m->head != NULL)
        memset(m->head, 0, m->nhead * sizeof(*m->head));
}

void at_jm_begin(at_jmemo *m)
{
    m->ncur = 0;
    m->hint = 0;
    m->doc = NULL;
    m->lost = 0;
    m->cursor = 0;
}

long at_jm_match(at_jmemo *m, const char *p, const char *end)
{
    uint32_t i;
    int tries = 0;

    if (m->nent == 0 || end - p < AT_JM_MIN_ELEM)
        return -1;
    /* first the element after the last one matched in the last body, or
     * one of the few after it (a conversation holds the last one's
     * messages in their order; an agent that keeps a window of them drops
     * the oldest few) */
    for (i = m->cursor; i < m->nlast && i < m->cursor + RESYNC; i++)
        if (same(m, &m->ent[m->last[i]], p, end)) {
            m->cursor = i + 1;
            return m->last[i];
        }
    for (i = m->head[head_hash(p) & (m->nhead - 1)];
         i != 0 && tries < CHAIN_TRIES; i = m->ent[i - 1].chain, tries++) {
        const at_jm_ent *e = &m->ent[i - 1];

        if (same(m, e, p, end)) {
            if (e->gen == m->gen && e->gen != 0) /* of the last body: go
                                                    on from there */
                m->cursor = e->pos + 1;
            return (long)i - 1;
        }
    }
    return -1;
}

/* a new entry for the element at p (its tokens t, the first one t0 in
 * the body), or -1 */
static long add(at_jmemo *m, const char *p, uint32_t len,
                const at_js_tok *t, uint32_t ntok, uint32_t t0)
{
    at_jm_ent *e;
    at_js_tok *d;
    uint32_t k, base = t[0].off, h;
    void *r;

    if (m->text_len + len > AT_JM_MAX_TEXT ||
        m->tok_len + ntok > AT_JM_MAX_TOKENS)
        return -1;
    if ((r = room32(m->ent, &m->ent_cap, m->nent + 1, sizeof(*m->ent))) ==
        NULL)
        return -1;
    m->ent = r;
    if ((r = at_grow(m->text, &m->text_cap, m->text_len + len, 1,
                     16384)) == NULL)
        return -1;
    m->text = r;
    if ((r = at_grow(m->tok, &m->tok_cap, m->tok_len + ntok,
                     sizeof(*m->tok), 1024)) == NULL)
        return -1;
    m->tok = r;
    e = &m->ent[m->nent];
    memset(e, 0, sizeof(*e));
    e->text = (uint32_t)m->text_len;
    e->len = len;
    e->tok = (uint32_t)m->tok_len;
    e->ntok = ntok;
    e->pos = UINT32_MAX;
    memcpy(m->text + m->text_len, p, len);
    d = m->tok + m->tok_len;
    for (k = 0; k < ntok; k++) {
        d[k] = t[k];
        d[k].off -= base;
        d[k].next -= t0;
    }
    m->text_len += len;
    m->tok_len += ntok;
    m->nent++;
    if (m->nent * 2 > m->nhead) {
        if (!rehash(m)) {
            reset(m);
            return -1;
        }
    } else {
        h = head_hash(p) & (m->nhead - 1);
        e->chain = m->head[h];
        m->head[h] = m->nent;
    }
    return (long)m->nent - 1;
}

void at_jm_note(at_jmemo *m, long e, uint32_t first_tok, const char *p,
                uint32_t len, const at_js_tok *t, uint32_t ntok)
{
    at_jm_at *c;

    if (m->lost)
        return;
    if (e < 0 && (e = add(m, p, len, t, ntok, first_tok)) < 0)
        return; /* not kept: written as any other */
    c = room32(m->cur, &m->cur_cap, m->ncur + 1, sizeof(*c));
    if (c == NULL) {
        m->lost = 1;
        return;
    }
    m->cur = c;
    m->cur[m->ncur].tok = first_tok;
    m->cur[m->ncur].ent = (uint32_t)e;
    m->ncur++;
}

at_jm_ent *at_jm_element(at_jmemo *m, at_js v)
{
    uint32_t lo = 0, hi = m->ncur;

    if (m->doc == NULL || v.doc != m->doc || m->lost)
        return NULL;
    /* the writers ask in order */
    if (m->hint < m->ncur && m->cur[m->hint].tok == v.i)
        return &m->ent[m->cur[m->hint++].ent];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (m->cur[mid].tok < v.i)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= m->ncur || m->cur[lo].tok != v.i)
        return NULL;
    m->hint = lo + 1;
    return &m->ent[m->cur[lo].ent];
}

void at_jm_write(at_jmemo *m, at_jm_ent *e, at_jm_fn fn, const char *p,
                 size_t n, int r, int tools, const at_attr_mark *mk)
{
    char *o;

    if (n > AT_JM_MAX_TEXT - m->out_len ||
        (o = at_grow(m->out, &m->out_cap, m->out_len + n, 1, 16384)) == NULL)
        return; /* not kept: written again next time */
    m->out = o;
    memcpy(m->out + m->out_len, p, n);
    e->fn = fn;
    e->out = (uint32_t)m->out_len;
    e->out_len = (uint32_t)n;
    e->r = (int8_t)r;
    e->tools = (uint8_t)tools;
    e->mk = *mk;
    m->out_len += n;
}

/* compact: only the entries of the last AT_JM_GENS bodies are kept; the
 * others' room is given back to them.  0 when memory ran out (the memo
 * is then empty). */
static int compact(at_jmemo *m)
{
    uint32_t live = m->gen >= AT_JM_GENS ? m->gen - AT_JM_GENS + 1 : 0;
    uint32_t i, n = 0, *map;
    size_t text = 0, tok = 0, out = 0;
    char *nt, *no;
    at_js_tok *nk;

    for (i = 0; i < m->nent; i++)
        if (m->ent[i].gen >= live && m->ent[i].gen != 0) {
            text += m->ent[i].len;
            tok += m->ent[i].ntok;
            out += m->ent[i].fn != NULL ? m->ent[i].out_len : 0;
        }
    /* worth it when half of the room is dead */
    if (2 * text + 65536 > m->text_len && 2 * tok + 4096 > m->tok_len &&
        2 * out + 65536 > m->out_len)
        return 1;
    map = malloc((m->nent ? m->nent : 1) * sizeof(*map));
    nt = malloc(text ? text : 1);
    nk = malloc((tok ? tok : 1) * sizeof(*nk));
    no = malloc(out ? out : 1);
    if (map == NULL || nt == NULL || nk == NULL || no == NULL) {
        free(map);
        free(nt);
        free(nk);
        free(no);
        reset(m);
        return 0;
    }
    text = tok = out = 0;
    for (i = 0; i < m->nent; i++) {
        at_jm_ent e = m->ent[i];

        map[i] = UINT32_MAX;
        if (e.gen < live || e.gen == 0)
            continue;
        memcpy(nt + text, m->text + e.text, e.len);
        memcpy(nk + tok, m->tok + e.tok, e.ntok * sizeof(*nk));
        e.text = (uint32_t)text;
        e.tok = (uint32_t)tok;
        text += e.len;
        tok += e.ntok;
        if (e.fn != NULL) {
            memcpy(no + out, m->out + e.out, e.out_len);
            e.out = (uint32_t)out;
            out += e.out_len;
        }
        map[i] = n;
        m->ent[n++] = e;
    }
    for (i = 0; i < m->nlast; i++)
        m->last[i] = map[m->last[i]]; /* the last body's are alive */
    free(map);
    free(m->text);
    free(m->tok);
    free(m->out);
    m->text = nt;
    m->text_cap = text ? text : 1;
    m->text_len = text;
    m->tok = nk;
    m->tok_cap = tok ? tok : 1;
    m->tok_len = tok;
    m->out = no;
    m->out_cap = out ? out : 1;
    m->out_len = out;
    m->nent = n;
    if (!rehash(m)) {
        reset(m);
        return 0;
    }
    return 1;
}

void at_jm_commit(at_jmemo *m)
{
    uint32_t i;
    /* a body without elements to keep leaves the last one's as they are
     * (the next may go on with that conversation) */
    uint32_t *l = m->doc != NULL && !m->lost && m->ncur > 0
                      ? room32(m->last, &m->last_cap, m->ncur, sizeof(*l))
                      : NULL;

    if (l == NULL) {
        m->doc = NULL;
        m->ncur = 0;
        return;
    }
    m->last = l;
    m->doc = NULL;
    if (++m->gen == 0) {        /* after 4 billion bodies: start again */
        reset(m);
        m->gen = 1;
        m->ncur = 0;
        return;
    }
    for (i = 0; i < m->ncur; i++) {
        at_jm_ent *e = &m->ent[m->cur[i].ent];

        e->gen = m->gen;
        e->pos = i;
        m->last[i] = m->cur[i].ent;
    }
    m->nlast = m->ncur;
    m->ncur = 0;
    m->cursor = 0;
    compact(m);
}

void at_jm_free(at_jmemo *m)
{
    free(m->ent);
    free(m->text);
    free(m->tok);
    free(m->out);
    free(m->head);
    free(m->last);
    free(m->cur);
    memset(m, 0, sizeof(*m));
}
