/* jalloc.c - per-thread caches of small blocks for the shim's jansson. */
#include "jalloc.h"
#include "preload/log.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define CACHING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHING 0
#endif
#endif
#ifndef CACHING
#define CACHING 1
#endif

/* Each block starts with a header of 32 bytes (malloc's alignment kept):
 * a magic number and the block's class, LARGE for a block of its own size;
 * and, for a block made during a guarded load (at_json_loadb), that load's
 * number and the links of its list.  A free block's first bytes link it
 * to the next free block of its class in its thread's cache. */
#define MAGIC 0x6a616c63u /* "jalc" */
#define LARGE 0xffffu
#define NCLASS 10

typedef struct hdr {
    uint32_t magic;
    uint32_t cls;
    uint64_t load;            /* the guarded load that made it, 0: none */
    struct hdr *prev, *next;  /* that load's blocks, while it runs */
} hdr;

typedef struct blk {
    struct blk *next;
} blk;

typedef struct cache {
    blk *head[NCLASS];
    uint32_t bytes[NCLASS];
    int registered;
} cache;

/* Usable bytes of each class: 32-byte steps to 256, then 384 and 512. */
static const uint32_t class_size[NCLASS] = {32, 64, 96, 128, 160, 192,
                                            224, 256, 384, 512};

/* jansson's own references to libc, renamed in the shim's copy of its
 * archive (see the Makefile).  `stdin` (json_loadf compares its FILE with
 * it) names a pointer of the shim's, never used: the shim does not call
 * json_loadf.  The others are calls, bound when first made. */
void *at_jansson_stdin;
void *at_jansson_libc_malloc(size_t n);
void at_jansson_libc_free(void *p);
int at_jansson_libc_fgetc(FILE *f);

void *at_jansson_libc_malloc(size_t n)
{
    return malloc(n);
}

void at_jansson_libc_free(void *p)
{
    free(p);
}

int at_jansson_libc_fgetc(FILE *f)
{
    return fgetc(f);
}

static __thread cache tc __attribute__((tls_model("initial-exec")));

/* The load in progress on this thread (at_json_loadb): where a failed
 * allocation jumps, and the blocks made since it began. */
typedef struct guard {
    jmp_buf out;
    hdr blocks;               /* list head: blocks.next is the first */
    uint64_t id;
} guard;

static __thread guard *loading __attribute__((tls_model("initial-exec")));
/* loads' numbers: process-wide, and a fork child's go on from its
 * parent's, so that no block's number is another load's */
static _Atomic uint64_t loads;
static pthread_key_t drain_key;
static pthread_once_t drain_once = PTHREAD_ONCE_INIT;
static int drain_ok;
static int installed;

static unsigned class_of(size_t n)
{
    if (n <= 256)
        return n ? (unsigned)((n - 1) >> 5) : 0;
    if (n <= 384)
        return 8;
    return n <= 512 ? 9 : LARGE;
}

static void drain(void *arg)
{
    cache *c = arg;
    unsigned i;

    for (i = 0; i < NCLASS; i++) {
        blk *b = c->head[i];

        while (b) {
            blk *next = b->next;

            free((hdr *)(void *)b - 1);
            b = next;
        }
        c->head[i] = NULL;
        c->bytes[i] = 0;
    }
    c->registered = 0;
}

static void make_key(void)
{
    drain_ok = pthread_key_create(&drain_key, drain) == 0;
}

/* Block h joins the list of the load in progress. */
static void track(hdr *h)
{
    guard *g = loading;

    h->load = g->id;
    h->prev = &g->blocks;
    h->next = g->blocks.next;
    if (h->next)
        h->next->prev = h;
    g->blocks.next = h;
}

static void untrack(hdr *h)
{
    h->prev->next = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->load = 0;
}

void *at_jalloc_malloc(size_t n)
{
    unsigned cls = class_of(n);
    hdr *h;

    if (cls != LARGE && tc.head[cls]) {
        blk *b = tc.head[cls];

        tc.head[cls] = b->next;
        tc.bytes[cls] -= class_size[cls];
        h = (hdr *)(void *)b - 1;
        if (loading)
            track(h);
        return b;
    }
    if (n > SIZE_MAX - sizeof(hdr))
        h = NULL;
    else
        h = malloc(sizeof(hdr) + (cls == LARGE ? n : class_size[cls]));
    if (h == NULL) {
        if (loading)
            longjmp(loading->out, 1);   /* see at_json_loadb */
        return NULL;
    }
    h->magic = MAGIC;
    h->cls = cls;
    h->load = 0;
    if (loading)
        track(h);
    return h + 1;
}

void at_jalloc_free(void *p)
{
    hdr *h;
    unsigned cls;

    if (p == NULL)
        return;
    h = (hdr *)p - 1;
    if (h->magic != MAGIC) {
        /* not one of ours: jansson had it before the install */
        free(p);
        return;
    }
    if (h->load) {
        /* made by a load: still on its list while that load runs */
        if (loading && h->load == loading->id)
            untrack(h);
        h->load = 0;
    }
    cls = h->cls;
    if (CACHING && cls < NCLASS && installed &&
        tc.bytes[cls] + class_size[cls] <= AT_JALLOC_KEEP) {
        blk *b = p;

        if (!tc.registered) {
            /* a non-NULL value: drain runs when the thread exits (the key
             * is made on the first thread that caches: a process that
             * never decodes JSON pays nothing for it) */
            pthread_once(&drain_once, make_key);
            if (!drain_ok || pthread_setspecific(drain_key, &tc) != 0) {
                free(h);
                return;
            }
            tc.registered = 1;
        }
        b->next = tc.head[cls];
        tc.head[cls] = b;
        tc.bytes[cls] += class_size[cls];
        return;
    }
    free(h);
}

/* jansson's lexer does not check that its token buffer grew (load.c,
 * lex_save): when that allocation fails it goes on with a token cut
 * short, and then builds a wrong tree, fails an assert (abort: the host
 * killed) or reads and writes past the buffer.  So a load runs guarded:
 * the first allocation that fails jumps back here, out of jansson, which
 * holds no lock and no state but the blocks it was given; those are all
 * on the load's list and are freed, and the load fails as any invalid
 * document does.  A block is on a list only while its load runs. */
json_t *at_json_loadb(const char *p, size_t n, size_t flags,
                      json_error_t *err)
{
    guard g;
    json_t *v;
    hdr *h;

    if (!installed || loading)
        return json_loadb(p, n, flags, err);   /* not ours to guard */
    memset(&g.blocks, 0, sizeof(g.blocks));
    g.id = atomic_fetch_add_explicit(&loads, 1, memory_order_relaxed) + 1;
    if (setjmp(g.out) != 0) {
        loading = NULL;
        while ((h = g.blocks.next) != NULL) {
            g.blocks.next = h->next;
            h->load = 0;
            at_jalloc_free(h + 1);
        }
        if (err) {
            memset(err, 0, sizeof(*err));
            snprintf(err->text, sizeof(err->text), "out of memory");
        }
        at_log("out of memory reading a JSON document of %zu bytes", n);
        return NULL;
    }
    loading = &g;
    v = json_loadb(p, n, flags, err);
    loading = NULL;
    /* the blocks now belong to the tree */
    for (h = g.blocks.next; h != NULL; h = h->next)
        h->load = 0;
    return v;
}

void at_jalloc_release(void)
{
    drain(&tc);
}

void at_jalloc_install(void)
{
    installed = 1;
    json_set_alloc_funcs(at_jalloc_malloc, at_jalloc_free);
}

size_t at_jalloc_cached(void)
{
    size_t n = 0;
    unsigned i;

    for (i = 0; i < NCLASS; i++)
        n += tc.bytes[i];
    return n;
}

int at_jalloc_caching(void)
{
    return CACHING;
}
