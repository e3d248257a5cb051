/* test_jalloc.c - the allocator of the shim's jansson (sink/jalloc.c).
 *
 * Criterion runs each test in a process of its own, so installing the
 * allocator in one test leaves the others on jansson's default.  Also run
 * under valgrind (make valgrind): blocks a thread cached must be freed when
 * it exits, or they show as lost. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/jalloc.h"

Test(jalloc, sizes_alignment_and_contents)
{
    static void *p[2100];
    size_t n;

    at_jalloc_install();
    for (n = 0; n < 2100; n++) {
        p[n] = at_jalloc_malloc(n);
        cr_assert_not_null(p[n]);
        cr_assert_eq((uintptr_t)p[n] % 16, 0, "size %zu", n);
        memset(p[n], (int)(n & 0xff), n);
    }
    for (n = 0; n < 2100; n++) {
        size_t i;

        for (i = 0; i < n; i++)
            cr_assert_eq(((unsigned char *)p[n])[i], n & 0xff, "size %zu", n);
        at_jalloc_free(p[n]);
    }
    at_jalloc_free(NULL);
    cr_assert_null(at_jalloc_malloc(SIZE_MAX - 4));
}

Test(jalloc, a_freed_block_serves_its_class)
{
    void *p, *q, *r;

    at_jalloc_install();
    p = at_jalloc_malloc(40);
    at_jalloc_free(p);
    if (!at_jalloc_caching()) {
        cr_assert_eq(at_jalloc_cached(), 0);
        return;
    }
    cr_assert_eq(at_jalloc_cached(), 64);
    q = at_jalloc_malloc(64); /* same class (33..64 bytes) */
    cr_assert_eq(q, p);
    cr_assert_eq(at_jalloc_cached(), 0);
    at_jalloc_free(q);
    r = at_jalloc_malloc(65); /* the next class: a new block */
    cr_assert_neq(r, p);
    cr_assert_eq(at_jalloc_cached(), 64);
    at_jalloc_free(r);
    cr_assert_eq(at_jalloc_cached(), 64 + 96);
    q = at_jalloc_malloc(5000); /* larger than any class: malloc's own */
    at_jalloc_free(q);
    cr_assert_eq(at_jalloc_cached(), 64 + 96);
}

Test(jalloc, a_class_keeps_at_most_its_share)
{
    enum { N = 3 * AT_JALLOC_KEEP / 32 };
    static void *p[N];
    int i;

    at_jalloc_install();
    for (i = 0; i < N; i++)
        p[i] = at_jalloc_malloc(32);
    for (i = 0; i < N; i++)
        at_jalloc_free(p[i]);
    cr_assert_eq(at_jalloc_cached(),
                 at_jalloc_caching() ? AT_JALLOC_KEEP : 0);
}

Test(jalloc, not_installed_caches_nothing)
{
    void *p = at_jalloc_malloc(100);

    at_jalloc_free(p);
    cr_assert_eq(at_jalloc_cached(), 0);
}

static void *churn(void *arg)
{
    void *p[300];
    size_t *cached = arg;
    int i;

    for (i = 0; i < 300; i++)
        p[i] = at_jalloc_malloc((size_t)(i * 7) % 600);
    for (i = 0; i < 300; i++)
        at_jalloc_free(p[i]);
    *cached = at_jalloc_cached();
    /* no pointer to a block left on this stack, which glibc keeps for its
     * next thread (and valgrind would take for a reference) */
    explicit_bzero(p, sizeof(p));
    return NULL;
}

/* Threads that cache blocks and exit: under valgrind, a block not given
 * back at the thread's exit is definitely lost. */
Test(jalloc, threads_give_their_blocks_back_at_exit)
{
    pthread_t th[4];
    size_t cached[4];
    int i;

    at_jalloc_install();
    for (i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, churn, &cached[i]), 0);
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (at_jalloc_caching())
            cr_assert_gt(cached[i], 0);
    }
    cr_assert_eq(at_jalloc_cached(), 0); /* this thread freed nothing */
}

static void *make(void *arg)
{
    json_t **out = arg;

    *out = json_pack("{s:s, s:[i, i, {s:s}]}", "made", "on another thread",
                     "list", 1, 2, "k", "v");
    return NULL;
}

/* jansson on the allocator: trees built, dumped and freed twice (the second
 * time from cached blocks) are the same; a tree made on one thread is freed
 * on another. */
Test(jalloc, jansson_trees)
{
    const char *doc =
        "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":\"Hello \\u00e9 there\"},"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
        "\"completion_tokens\":9,\"total_tokens\":21},\"x\":[1.5,null,true,"
        "false,\"a long string that needs a block of a larger class than "
        "the others, well beyond a hundred bytes of text in all\"]}";
    char *first = NULL;
    json_t *other = NULL;
    pthread_t th;
    int round;

    at_jalloc_install();
    for (round = 0; round < 2; round++) {
        json_error_t err;
        json_t *v = json_loads(doc, 0, &err);
        char *s;

        cr_assert_not_null(v, "%s", err.text);
        s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        cr_assert_not_null(s);
        if (round == 0) {
            first = strdup(s);
        } else {
            cr_assert_str_eq(s, first);
        }
        at_jalloc_free(s); /* json_dumps's text is jansson's allocation */
        json_decref(v);
        if (at_jalloc_caching())
            cr_assert_gt(at_jalloc_cached(), 0);
    }
    free(first);
    cr_assert_eq(pthread_create(&th, NULL, make, &other), 0);
    pthread_join(th, NULL);
    cr_assert_not_null(other);
    cr_assert_str_eq(json_string_value(json_object_get(other, "made")),
                     "on another thread");
    json_decref(other);
}
