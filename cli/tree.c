/* tree.c - build the span trees and print them.  Traversals are iterative
 * (a file may hold a chain a million spans deep).  Runs in the inspector's
 * own process. */
#include "cli/tree.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DETAIL_MAX 160 /* bytes of a summary kept per span */
#define DEPTH_MAX 48   /* deeper levels stop indenting */

/* ANSI colours. */
#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_BRED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

void at_cli_tree_init(at_cli_tree *t)
{
    memset(t, 0, sizeof(*t));
    at_cli_pool_init(&t->pool);
    at_cli_arena_init(&t->arena);
    t->thcap = 64;
    t->thash = at_cli_xmalloc(t->thcap * sizeof(*t->thash));
    memset(t->thash, 0xff, t->thcap * sizeof(*t->thash));
}

void at_cli_tree_free(at_cli_tree *t)
{
    free(t->nodes);
    free(t->traces);
    free(t->thash);
    at_cli_pool_free(&t->pool);
    at_cli_arena_free(&t->arena);
    memset(t, 0, sizeof(*t));
}

size_t at_cli_tree_bytes(const at_cli_tree *t)
{
    return t->cap * sizeof(*t->nodes) + t->tcap * sizeof(*t->traces) +
           t->thcap * sizeof(*t->thash) + t->pool.arena.total +
           t->pool.cap * sizeof(char *) + t->arena.total;
}

/* ------------------------------------------------------------ building */

static void thash_grow(at_cli_tree *t)
{
    size_t cap = t->thcap * 2, i;
    uint32_t *h = at_cli_xmalloc(cap * sizeof(*h));

    memset(h, 0xff, cap * sizeof(*h));
    for (i = 0; i < t->ntraces; i++) {
        size_t j = at_cli_hash(t->traces[i].id, 32) & (cap - 1);

        while (h[j] != AT_NONE)
            j = (j + 1) & (cap - 1);
        h[j] = (uint32_t)i;
    }
    free(t->thash);
    t->thash = h;
    t->thcap = cap;
}

static uint32_t trace_index(at_cli_tree *t, const char *id)
{
    size_t j;

    if ((t->ntraces + 1) * 2 > t->thcap)
        thash_grow(t);
    j = at_cli_hash(id, 32) & (t->thcap - 1);
    while (t->thash[j] != AT_NONE) {
        if (memcmp(t->traces[t->thash[j]].id, id, 32) == 0)
            return t->thash[j];
        j = (j + 1) & (t->thcap - 1);
    }
    if (t->ntraces == t->tcap) {
        t->tcap = t->tcap ? t->tcap * 2 : 16;
        t->traces = at_cli_xrealloc(t->traces, t->tcap * sizeof(*t->traces));
    }
    at_cli_trace *tr = &t->traces[t->ntraces];
    memset(tr, 0, sizeof(*tr));
    memcpy(tr->id, id, 33);
    tr->start_ns = INT64_MAX;
    tr->end_ns = INT64_MIN;
    tr->first_root = AT_NONE;
    t->thash[j] = (uint32_t)t->ntraces;
    return (uint32_t)t->ntraces++;
}

/* url_detail: the path and query of url.full, for an HTTP span's line. */
static void url_detail(at_cli_buf *b, const char *url)
{
    const char *p = strstr(url, "://");

    p = p ? strchr(p + 3, '/') : NULL;
    if (p != NULL)
        at_cli_oneline(b, p, strlen(p), DETAIL_MAX / 2);
}

void at_cli_tree_add(at_cli_tree *t, const at_cli_span *s)
{
    at_cli_node *n;
    at_cli_buf b;
    const json_t *v;

    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->nodes = at_cli_xrealloc(t->nodes, t->cap * sizeof(*t->nodes));
    }
    n = &t->nodes[t->n++];
    memset(n, 0, sizeof(*n));
    n->span_id = s->span_u64;
    n->parent_id = s->parent_u64;
    n->start_ns = s->start_ns;
    n->end_ns = s->end_ns > s->start_ns ? s->end_ns : s->start_ns;
    n->trace = trace_index(t, s->trace_id);
    n->parent = n->first_child = n->next_sibling = AT_NONE;
    n->name = at_cli_pool_get(&t->pool, s->name);
    n->model = at_cli_pool_get(&t->pool, s->model);
    n->tool = at_cli_pool_get(&t->pool, s->tool);
    n->finish = at_cli_pool_get(&t->pool, s->finish);
    n->in_tok = s->in_tok;
    n->out_tok = s->out_tok;
    n->cost = s->cost;
    n->ttfc = s->ttfc;
    n->http_status = (int16_t)s->http_status;
    n->exit_code = s->exit_code;
    n->cat = (uint8_t)s->cat;
    n->kind = (uint8_t)s->kind;
    n->status = (uint8_t)s->status;
    if (s->failed)
        n->flags |= AT_NODE_FAILED;
    if (s->has_exit)
        n->flags |= AT_NODE_HAS_EXIT;
    if (s->cat == AT_CAT_TOOL && s->status == AT_STATUS_UNSET)
        n->flags |= AT_NODE_UNSET_TOOL;

    at_cli_buf_init(&b);
    if (s->cat == AT_CAT_TOOL && s->args_text != NULL) {
        at_cli_buf_puts(&b, "args ");
        at_cli_oneline(&b, s->args_text, strlen(s->args_text), DETAIL_MAX);
    } else if (s->cat == AT_CAT_TOOL && s->attrs != NULL &&
               (v = json_object_get(s->attrs,
                                    "gen_ai.tool.call.arguments"))) {
        at_cli_buf_puts(&b, "args ");
        at_cli_json_oneline(&b, v, DETAIL_MAX);
    } else if (s->cat == AT_CAT_HTTP && s->url != NULL) {
        url_detail(&b, s->url);
    }
    if (b.len)
        n->detail = at_cli_arena_strndup(&t->arena, b.data, b.len);
    at_cli_buf_reset(&b);
    if (s->failed) {
        const char *msg = s->status_msg;

        if (s->error_type != NULL && s->http_status == 0)
            at_cli_buf_printf(&b, "%s", s->error_type);
        if (msg != NULL && *msg) {
            if (b.len)
                at_cli_buf_puts(&b, ": ");
            at_cli_oneline(&b, msg, strlen(msg), DETAIL_MAX);
        }
        if (b.len)
            n->err = at_cli_arena_strndup(&t->arena, b.data, b.len);
    }
    at_cli_buf_free(&b);

    at_cli_trace *tr = &t->traces[n->trace];
    if (n->start_ns < tr->start_ns)
        tr->start_ns = n->start_ns;
    if (n->end_ns > tr->end_ns)
        tr->end_ns = n->end_ns;
    tr->spans++;
    if (s->failed)
        tr->failed++;
}

/* Sort key for the children of one parent: (parent, start, index); ctx
 * is the node array (qsort_r). */
static int cmp_order(const void *a, const void *b, void *ctx)
{
    const at_cli_node *nodes = ctx;
    const at_cli_node *x = &nodes[*(const uint32_t *)a];
    const at_cli_node *y = &nodes[*(const uint32_t *)b];
    uint32_t px = x->parent == AT_NONE ? UINT32_MAX - 1 : x->parent;
    uint32_t py = y->parent == AT_NONE ? UINT32_MAX - 1 : y->parent;

    if (px != py)
        return px < py ? -1 : 1;
    if (x->parent == AT_NONE && x->trace != y->trace)
        return x->trace < y->trace ? -1 : 1;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int cmp_start(const void *a, const void *b, void *ctx)
{
    const at_cli_node *nodes = ctx;
    const at_cli_node *x = &nodes[*(const uint32_t *)a];
    const at_cli_node *y = &nodes[*(const uint32_t *)b];

    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int cmp_trace(const void *a, const void *b, void *ctx)
{
    const at_cli_trace *traces = ctx;
    const at_cli_trace *x = &traces[*(const uint32_t *)a];
    const at_cli_trace *y = &traces[*(const uint32_t *)b];

    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return memcmp(x->id, y->id, 32);
}

/* unlink: remove node i from its parent's child list. */
static void unlink_child(at_cli_tree *t, uint32_t i)
{
    uint32_t p = t->nodes[i].parent, *link;

    link = &t->nodes[p].first_child;
    while (*link != AT_NONE && *link != i)
        link = &t->nodes[*link].next_sibling;
    if (*link == i)
        *link = t->nodes[i].next_sibling;
    t->nodes[i].next_sibling = AT_NONE;
    t->nodes[i].parent = AT_NONE;
}

/* mark_from: mark every node reachable from i in seen[]. */
static void mark_from(at_cli_tree *t, uint32_t i, unsigned char *seen,
                      uint32_t *stack)
{
    size_t sp = 0;

    stack[sp++] = i;
    while (sp > 0) {
        uint32_t k = stack[--sp], c;

        if (seen[k])
            continue;
        seen[k] = 1;
        for (c = t->nodes[k].first_child; c != AT_NONE;
             c = t->nodes[c].next_sibling)
            if (!seen[c])
                stack[sp++] = c;
    }
}

/* link_roots: the roots of each trace, in start order, into first_root. */
static void link_roots(at_cli_tree *t, const uint32_t *order, size_t n)
{
    uint32_t *tail = at_cli_xmalloc((t->ntraces ? t->ntraces : 1) *
                                    sizeof(*tail));
    size_t i;

    for (i = 0; i < t->ntraces; i++) {
        t->traces[i].first_root = AT_NONE;
        tail[i] = AT_NONE;
    }
    for (i = 0; i < n; i++) {
        uint32_t k = order[i];
        at_cli_node *nd = &t->nodes[k];

        if (nd->parent != AT_NONE)
            continue;
        nd->next_sibling = AT_NONE;
        if (tail[nd->trace] == AT_NONE)
            t->traces[nd->trace].first_root = k;
        else
            t->nodes[tail[nd->trace]].next_sibling = k;
        tail[nd->trace] = k;
    }
    free(tail);
}

void at_cli_tree_build(at_cli_tree *t)
{
    size_t n = t->n, hcap = 16, i;
    uint32_t *hash, *order, *last, *stack;
    unsigned char *seen;

    if (t->built)
        return;
    t->built = 1;
    while (hcap < n * 2)
        hcap *= 2;
    hash = at_cli_xmalloc(hcap * sizeof(*hash));
    memset(hash, 0xff, hcap * sizeof(*hash));
    for (i = 0; i < n; i++) {
        uint64_t id = t->nodes[i].span_id;
        size_t j = (size_t)(id * 0x9E3779B97F4A7C15ULL >> 20) & (hcap - 1);

        while (hash[j] != AT_NONE) {
            if (t->nodes[hash[j]].span_id == id)
                break;
            j = (j + 1) & (hcap - 1);
        }
        if (hash[j] == AT_NONE)
            hash[j] = (uint32_t)i;
        else
            t->nodes[i].flags |= AT_NODE_DUP;
    }
    for (i = 0; i < n; i++) {
        at_cli_node *nd = &t->nodes[i];
        uint64_t pid = nd->parent_id;
        size_t j;

        if (pid == 0)
            continue;
        j = (size_t)(pid * 0x9E3779B97F4A7C15ULL >> 20) & (hcap - 1);
        while (hash[j] != AT_NONE && t->nodes[hash[j]].span_id != pid)
            j = (j + 1) & (hcap - 1);
        if (hash[j] == AT_NONE || hash[j] == i ||
            t->nodes[hash[j]].trace != nd->trace)
            nd->flags |= AT_NODE_ORPHAN;
        else
            nd->parent = hash[j];
    }
    free(hash);

    /* Children in start order: sort all by (parent, start), then link. */
    order = at_cli_xmalloc((n ? n : 1) * sizeof(*order));
    for (i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, n, sizeof(*order), cmp_order, t->nodes);
    last = at_cli_xmalloc((n ? n : 1) * sizeof(*last));
    memset(last, 0xff, (n ? n : 1) * sizeof(*last));
    for (i = 0; i < n; i++) {
        uint32_t k = order[i], p = t->nodes[k].parent;

        if (p == AT_NONE)
            continue;
        if (last[p] == AT_NONE)
            t->nodes[p].first_child = k;
        else
            t->nodes[last[p]].next_sibling = k;
        last[p] = k;
    }
    free(last);

    /* Parent cycles: whatever no root reaches becomes a root. */
    seen = at_cli_xcalloc(n ? n : 1, 1);
    stack = at_cli_xmalloc((n ? 2 * n : 1) * sizeof(*stack));
    for (i = 0; i < n; i++)
        if (t->nodes[i].parent == AT_NONE)
            mark_from(t, (uint32_t)i, seen, stack);
    {
        /* The earliest-starting unreached span of each cycle is cut. */
        size_t m = 0;

        for (i = 0; i < n; i++)
            if (!seen[i])
                stack[m++] = (uint32_t)i;
        qsort_r(stack, m, sizeof(*stack), cmp_start, t->nodes);
        for (i = 0; i < m; i++) {
            uint32_t k = stack[i];

            if (seen[k])
                continue;
            unlink_child(t, k);
            t->nodes[k].flags |= AT_NODE_CYCLE;
            mark_from(t, k, seen, stack + m);
        }
    }
    free(stack);
    free(seen);
    /* Roots may have changed: sort again for their order. */
    qsort_r(order, n, sizeof(*order), cmp_order, t->nodes);
    link_roots(t, order, n);
    free(order);
}

size_t at_cli_tree_find_trace(const at_cli_tree *t, const char *prefix,
                              size_t *index)
{
    size_t i, found = 0, len = strlen(prefix);

    for (i = 0; i < t->ntraces; i++)
        if (strncasecmp(t->traces[i].id, prefix, len) == 0) {
            if (found++ == 0)
                *index = i;
        }
    return found;
}

/* ------------------------------------------------------------ printing */

typedef struct printer {
    const at_cli_tree *t;
    const at_cli_tree_opts *o;
    FILE *out;
    unsigned char *keep; /* errors_only: nodes to show; NULL: all */
    at_cli_buf line;
    /* totals over what was printed */
    uint64_t spans, llm, tools, http, procs, failed, orphans;
    int64_t in_tok, out_tok;
    double cost;
    uint64_t cost_missing;
} printer;

static const char *col(const printer *p, const char *c)
{
    return p->o->color ? c : "";
}

static int visible(const printer *p, uint32_t i)
{
    return p->keep == NULL || p->keep[i];
}

typedef struct frame {
    uint32_t node;
    uint32_t depth;
    int last;
} frame;

typedef struct walker {
    frame *stack;
    size_t sp, cap;
    uint32_t *kids;
    size_t nkids, kcap;
    unsigned char *lasts; /* lasts[d]: the ancestor at depth d was last */
    size_t lcap;
} walker;

static void push(walker *w, uint32_t node, uint32_t depth, int last)
{
    if (w->sp == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->stack = at_cli_xrealloc(w->stack, w->cap * sizeof(*w->stack));
    }
    w->stack[w->sp].node = node;
    w->stack[w->sp].depth = depth;
    w->stack[w->sp].last = last;
    w->sp++;
}

/* push_list: the visible nodes of a sibling list, in reverse, so that they
 * pop in order; the last one flagged. */
static void push_list(walker *w, const printer *p, uint32_t first,
                      uint32_t depth)
{
    uint32_t c;
    size_t k;

    w->nkids = 0;
    for (c = first; c != AT_NONE; c = p->t->nodes[c].next_sibling) {
        if (!visible(p, c))
            continue;
        if (w->nkids == w->kcap) {
            w->kcap = w->kcap ? w->kcap * 2 : 64;
            w->kids = at_cli_xrealloc(w->kids, w->kcap * sizeof(*w->kids));
        }
        w->kids[w->nkids++] = c;
    }
    for (k = w->nkids; k > 0; k--)
        push(w, w->kids[k - 1], depth, k == w->nkids);
}

static void set_last(walker *w, uint32_t depth, int last)
{
    if (depth >= w->lcap) {
        size_t cap = w->lcap ? w->lcap : 64;

        while (cap <= depth)
            cap *= 2;
        w->lasts = at_cli_xrealloc(w->lasts, cap);
        w->lcap = cap;
    }
    w->lasts[depth] = (unsigned char)last;
}

/* prefix: the tree drawing for a node at `depth` (1 = a root). */
static void prefix(printer *p, walker *w, uint32_t depth, int last)
{
    uint32_t d, shown = depth > DEPTH_MAX ? DEPTH_MAX : depth;

    at_cli_buf_puts(&p->line, col(p, C_DIM));
    for (d = 1; d < shown; d++)
        at_cli_buf_puts(&p->line, w->lasts[d] ? "   " : "\xe2\x94\x82  ");
    if (depth > DEPTH_MAX)
        at_cli_buf_printf(&p->line, "\xe2\x80\xa6(%u) ", depth);
    at_cli_buf_puts(&p->line, last ? "\xe2\x94\x94\xe2\x94\x80 "
                                   : "\xe2\x94\x9c\xe2\x94\x80 ");
    at_cli_buf_puts(&p->line, col(p, C_RESET));
}

static size_t prefix_width(uint32_t depth)
{
    uint32_t shown = depth > DEPTH_MAX ? DEPTH_MAX : depth;
    size_t w = (size_t)shown * 3;

    if (depth > DEPTH_MAX)
        w += 6;
    return w;
}

static const char *cat_color(int cat)
{
    switch (cat) {
    case AT_CAT_LLM:
        return C_CYAN;
    case AT_CAT_TOOL:
        return C_YELLOW;
    case AT_CAT_HTTP:
        return C_BLUE;
    case AT_CAT_AGENT:
        return C_BOLD;
    case AT_CAT_PROCESS:
        return C_MAGENTA;
    default:
        return "";
    }
}

static size_t label_width(const at_cli_node *n)
{
    size_t w = at_cli_utf8_width(n->name, strlen(n->name));

    if (n->flags & AT_NODE_FAILED)
        w += 2;
    return w;
}

/* details: the facts after the duration column, into b (no colour codes
 * counted in `width`: colours are added around whole fields). */
static void details(printer *p, const at_cli_node *n, at_cli_buf *b,
                    size_t width)
{
    char tmp[64];
    size_t start = b->len;
    at_cli_buf plain; /* the same text without colours, to measure */

    at_cli_buf_init(&plain);
#define FIELD(color, ...)                                                 \
    do {                                                                  \
        size_t before_ = plain.len;                                       \
        if (plain.len)                                                    \
            at_cli_buf_puts(&plain, "  ");                                \
        at_cli_buf_printf(&plain, __VA_ARGS__);                           \
        if (at_cli_utf8_width(plain.data, plain.len) > width) {           \
            plain.len = before_;                                          \
            break;                                                        \
        }                                                                 \
        if (b->len > start)                                               \
            at_cli_buf_puts(b, "  ");                                     \
        at_cli_buf_puts(b, col(p, color));                                \
        at_cli_buf_printf(b, __VA_ARGS__);                                \
        at_cli_buf_puts(b, col(p, *(color) ? C_RESET : ""));              \
    } while (0)

    if (n->err != NULL || (n->flags & AT_NODE_FAILED)) {
        if (n->http_status >= 400)
            FIELD(C_BRED, "HTTP %d", n->http_status);
        else if ((n->flags & AT_NODE_HAS_EXIT) && n->err == NULL)
            FIELD(C_BRED, "exit %lld", (long long)n->exit_code);
        if (n->err != NULL && plain.len < width) {
            at_cli_buf cut;
            size_t room = width - at_cli_utf8_width(plain.data, plain.len);

            at_cli_buf_init(&cut);
            if (room > 2) {
                at_cli_oneline(&cut, n->err, strlen(n->err), room - 2);
                if (cut.len)
                    FIELD(C_RED, "%s", cut.data);
            }
            at_cli_buf_free(&cut);
        }
    }
    switch (n->cat) {
    case AT_CAT_LLM:
        if (n->in_tok >= 0 || n->out_tok >= 0)
            FIELD("", "%lld in / %lld out", (long long)n->in_tok,
                  (long long)n->out_tok);
        if (n->cost >= 0) {
            at_cli_fmt_cost(n->cost, tmp, sizeof(tmp));
            FIELD(C_GREEN, "%s", tmp);
        }
        if (n->ttfc >= 0) {
            at_cli_fmt_seconds(n->ttfc, tmp, sizeof(tmp));
            FIELD(C_DIM, "ttfc %s", tmp);
        }
        if (n->finish != NULL) {
            int odd = strcmp(n->finish, "stop") != 0 &&
                      strcmp(n->finish, "end_turn") != 0 &&
                      strcmp(n->finish, "tool_calls") != 0 &&
                      strcmp(n->finish, "tool_use") != 0;

            FIELD(odd ? C_YELLOW : C_DIM, "finish %s", n->finish);
        }
        break;
    case AT_CAT_TOOL:
        if (n->flags & AT_NODE_UNSET_TOOL)
            FIELD(C_YELLOW, "no result");
        break;
    case AT_CAT_HTTP:
        if (n->http_status > 0 && n->http_status < 400)
            FIELD(C_DIM, "HTTP %d", n->http_status);
        break;
    case AT_CAT_AGENT:
    case AT_CAT_PROCESS:
        if ((n->flags & AT_NODE_HAS_EXIT) && !(n->flags & AT_NODE_FAILED))
            FIELD(C_DIM, "exit %lld", (long long)n->exit_code);
        break;
    default:
        break;
    }
    if (n->flags & (AT_NODE_ORPHAN | AT_NODE_CYCLE)) {
        char hex[17];

        at_cli_u64_to_hex(n->parent_id, hex);
        FIELD(C_YELLOW, "(parent %.8s %s)", hex,
              (n->flags & AT_NODE_CYCLE) ? "forms a cycle" : "missing");
    }
    if (n->detail != NULL && plain.len + 4 < width) {
        at_cli_buf cut;
        size_t room = width - at_cli_utf8_width(plain.data, plain.len);

        at_cli_buf_init(&cut);
        if (room > 4) {
            at_cli_oneline(&cut, n->detail, strlen(n->detail), room - 2);
            if (cut.len)
                FIELD(C_DIM, "%s", cut.data);
        }
        at_cli_buf_free(&cut);
    }
#undef FIELD
    at_cli_buf_free(&plain);
}

static void count(printer *p, const at_cli_node *n)
{
    p->spans++;
    if (n->flags & AT_NODE_FAILED)
        p->failed++;
    if (n->flags & (AT_NODE_ORPHAN | AT_NODE_CYCLE))
        p->orphans++;
    switch (n->cat) {
    case AT_CAT_LLM:
        p->llm++;
        if (n->in_tok > 0)
            p->in_tok += n->in_tok;
        if (n->out_tok > 0)
            p->out_tok += n->out_tok;
        if (n->cost >= 0)
            p->cost += n->cost;
        else
            p->cost_missing++;
        break;
    case AT_CAT_TOOL:
        p->tools++;
        break;
    case AT_CAT_HTTP:
        p->http++;
        break;
    case AT_CAT_AGENT:
    case AT_CAT_PROCESS:
        p->procs++;
        break;
    default:
        break;
    }
}

static void print_node(printer *p, walker *w, const frame *f,
                       size_t label_col)
{
    const at_cli_node *n = &p->t->nodes[f->node];
    char dur[32];
    size_t used, pad;
    int failed = (n->flags & AT_NODE_FAILED) != 0;

    at_cli_buf_reset(&p->line);
    prefix(p, w, f->depth, f->last);
    used = prefix_width(f->depth) + label_width(n);
    if (failed)
        at_cli_buf_printf(&p->line, "%s\xe2\x9c\x97 ", col(p, C_BRED));
    at_cli_buf_puts(&p->line,
                    col(p, failed ? C_BRED : cat_color(n->cat)));
    at_cli_buf_puts(&p->line, n->name);
    at_cli_buf_puts(&p->line, col(p, C_RESET));
    pad = used < label_col ? label_col - used : 0;
    while (pad--)
        at_cli_buf_putc(&p->line, ' ');
    at_cli_fmt_duration(n->end_ns - n->start_ns, dur, sizeof(dur));
    at_cli_buf_printf(&p->line, "  %9s", dur);
    used = (used > label_col ? used : label_col) + 11;
    if (used + 2 < p->o->width) {
        size_t before = p->line.len;

        at_cli_buf_puts(&p->line, "  ");
        details(p, n, &p->line, p->o->width - used - 2);
        if (p->line.len == before + 2)
            p->line.len = before;
    }
    at_cli_buf_putc(&p->line, '\n');
    fwrite(p->line.data, 1, p->line.len, p->out);
    count(p, n);
}

/* walk_trace: print one trace's tree (print != 0), or only measure the
 * widest label (print == 0, returned). */
static size_t walk_trace(printer *p, walker *w, uint32_t ti, int print,
                         size_t label_col)
{
    const at_cli_trace *tr = &p->t->traces[ti];
    size_t widest = 0;

    w->sp = 0;
    push_list(w, p, tr->first_root, 1);
    while (w->sp > 0) {
        frame f = w->stack[--w->sp];
        const at_cli_node *n = &p->t->nodes[f.node];

        set_last(w, f.depth, f.last);
        if (print) {
            print_node(p, w, &f, label_col);
        } else {
            size_t lw = prefix_width(f.depth) + label_width(n);

            if (lw > widest)
                widest = lw;
        }
        push_list(w, p, n->first_child, f.depth + 1);
    }
    return widest;
}

static void trace_header(printer *p, const at_cli_trace *tr)
{
    char when[48], dur[32];

    at_cli_fmt_time(tr->start_ns, when, sizeof(when));
    at_cli_fmt_duration(tr->end_ns - tr->start_ns, dur, sizeof(dur));
    fprintf(p->out, "%strace %s%s  %s  %s  %u span%s", col(p, C_BOLD),
            tr->id, col(p, C_RESET), when, dur, tr->spans,
            tr->spans == 1 ? "" : "s");
    if (tr->failed)
        fprintf(p->out, "  %s\xe2\x9c\x97 %u failed%s", col(p, C_BRED),
                tr->failed, col(p, C_RESET));
    fputc('\n', p->out);
}

/* mark_failed_paths: keep[] = failed spans and their ancestors. */
static unsigned char *mark_failed_paths(const at_cli_tree *t)
{
    unsigned char *keep = at_cli_xcalloc(t->n ? t->n : 1, 1);
    size_t i;

    for (i = 0; i < t->n; i++) {
        uint32_t k = (uint32_t)i;

        if (!(t->nodes[i].flags & AT_NODE_FAILED))
            continue;
        while (k != AT_NONE && !keep[k]) {
            keep[k] = 1;
            k = t->nodes[k].parent;
        }
    }
    return keep;
}

size_t at_cli_tree_print(const at_cli_tree *t, FILE *out,
                         const at_cli_tree_opts *o)
{
    printer p;
    walker w;
    uint32_t *order;
    size_t i, printed = 0, prefix_len = o->trace ? strlen(o->trace) : 0;
    char cost[32];

    memset(&p, 0, sizeof(p));
    memset(&w, 0, sizeof(w));
    p.t = t;
    p.o = o;
    p.out = out;
    at_cli_buf_init(&p.line);
    if (o->errors_only)
        p.keep = mark_failed_paths(t);
    order = at_cli_xmalloc((t->ntraces ? t->ntraces : 1) * sizeof(*order));
    for (i = 0; i < t->ntraces; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, t->ntraces, sizeof(*order), cmp_trace, t->traces);
    for (i = 0; i < t->ntraces; i++) {
        const at_cli_trace *tr = &t->traces[order[i]];
        size_t label_col;

        if (o->trace && strncasecmp(tr->id, o->trace, prefix_len) != 0)
            continue;
        if (o->errors_only && tr->failed == 0)
            continue;
        if (printed++)
            fputc('\n', out);
        trace_header(&p, tr);
        label_col = walk_trace(&p, &w, order[i], 0, 0);
        if (label_col > o->width / 2)
            label_col = o->width / 2;
        walk_trace(&p, &w, order[i], 1, label_col);
    }
    if (printed) {
        fputc('\n', out);
        fprintf(out, "%s%zu trace%s, %llu span%s: %llu model call%s, "
                     "%llu tool call%s, %llu HTTP call%s, %llu process%s",
                col(&p, C_BOLD), printed, printed == 1 ? "" : "s",
                (unsigned long long)p.spans, p.spans == 1 ? "" : "s",
                (unsigned long long)p.llm, p.llm == 1 ? "" : "s",
                (unsigned long long)p.tools, p.tools == 1 ? "" : "s",
                (unsigned long long)p.http, p.http == 1 ? "" : "s",
                (unsigned long long)p.procs, p.procs == 1 ? "" : "es");
        fprintf(out, "%s\n", col(&p, C_RESET));
        fprintf(out, "tokens %lld in / %lld out", (long long)p.in_tok,
                (long long)p.out_tok);
        if (p.llm > p.cost_missing) {
            at_cli_fmt_cost(p.cost, cost, sizeof(cost));
            fprintf(out, "  cost %s%s", cost,
                    p.cost_missing ? " (some models unpriced)" : "");
        }
        if (p.failed)
            fprintf(out, "  %s%llu failed%s", col(&p, C_BRED),
                    (unsigned long long)p.failed, col(&p, C_RESET));
        else
            fprintf(out, "  0 failed");
        if (p.orphans)
            fprintf(out, "  %s%llu without parent%s", col(&p, C_YELLOW),
                    (unsigned long long)p.orphans, col(&p, C_RESET));
        fputc('\n', out);
    }
    free(order);
    free(p.keep);
    free(w.stack);
    free(w.kids);
    free(w.lasts);
    at_cli_buf_free(&p.line);
    return printed;
}
