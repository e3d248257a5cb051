/* tree.h - the spans of a file as trees, one per trace: a compact node per
 * span (ids, times, and the few facts a tree line shows; strings pooled),
 * children linked in start order, spans whose parent never arrived (or is
 * in another trace, or forms a cycle) made roots and marked.  Memory is a
 * fraction of the file's size: no JSON is kept.  Runs in the inspector's
 * own process. */
#ifndef AT_CLI_TREE_H
#define AT_CLI_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/span.h"
#include "cli/util.h"

#define AT_NONE UINT32_MAX

enum {
    AT_NODE_FAILED = 1,    /* at_cli_span.failed */
    AT_NODE_ORPHAN = 2,    /* parent_span_id names no span of its trace */
    AT_NODE_CYCLE = 4,     /* made a root to break a parent cycle */
    AT_NODE_DUP = 8,       /* a second span with an id already seen */
    AT_NODE_HAS_EXIT = 16, /* exit_code is set */
    AT_NODE_UNSET_TOOL = 32 /* a tool call that never got its result */
};

typedef struct at_cli_node {
    uint64_t span_id;
    uint64_t parent_id;  /* 0: none */
    int64_t start_ns, end_ns;
    uint32_t trace;      /* index into at_cli_tree.traces */
    uint32_t parent;     /* node index, AT_NONE for a root */
    uint32_t first_child, next_sibling; /* AT_NONE: none */
    const char *name, *model, *tool, *finish; /* pooled */
    const char *detail;  /* one-line summary (arguments, URL); or NULL */
    const char *err;     /* error message or type; or NULL */
    int64_t in_tok, out_tok; /* -1: unknown */
    int64_t exit_code;
    double cost, ttfc;   /* < 0: unknown */
    int16_t http_status;
    uint8_t cat, kind, status, flags;
} at_cli_node;

typedef struct at_cli_trace {
    char id[33];
    int64_t start_ns, end_ns;
    uint32_t first_root; /* roots linked by next_sibling, in start order */
    uint32_t spans, failed;
} at_cli_trace;

typedef struct at_cli_tree {
    at_cli_node *nodes;
    size_t n, cap;
    at_cli_trace *traces;
    size_t ntraces, tcap;
    uint32_t *thash; /* trace index by id hash; AT_NONE empty */
    size_t thcap;
    at_cli_pool pool;
    at_cli_arena arena;
    int built;
} at_cli_tree;

void at_cli_tree_init(at_cli_tree *t);
void at_cli_tree_free(at_cli_tree *t);

/* at_cli_tree_add: copy what the tree shows of s.  Never fails (exits on
 * out of memory). */
void at_cli_tree_add(at_cli_tree *t, const at_cli_span *s);

/* at_cli_tree_build: link parents and children, order children and roots
 * by start time, order traces by start time, make orphans and cycles
 * roots.  Call once, after the last _add. */
void at_cli_tree_build(at_cli_tree *t);

/* at_cli_tree_bytes: memory held, for the benchmark. */
size_t at_cli_tree_bytes(const at_cli_tree *t);

typedef struct at_cli_tree_opts {
    int color;          /* ANSI colours */
    size_t width;       /* columns of a line */
    int errors_only;    /* only failed spans and their ancestors */
    const char *trace;  /* only traces whose id starts with this */
} at_cli_tree_opts;

/* at_cli_tree_print: the trees and a footer with totals.  Returns the
 * number of traces printed. */
size_t at_cli_tree_print(const at_cli_tree *t, FILE *out,
                         const at_cli_tree_opts *o);

/* at_cli_tree_find_trace: how many traces start with prefix; *index set
 * to the first. */
size_t at_cli_tree_find_trace(const at_cli_tree *t, const char *prefix,
                              size_t *index);

#endif
