/* jalloc.h - the allocator of the shim's own jansson.
 *
 * A span's attributes and a body's JSON are jansson trees of a hundred or
 * so small blocks, built and freed within one exchange.  glibc's per-thread
 * cache keeps seven blocks of a size, so most of them go through its
 * arena; here each thread keeps up to AT_JALLOC_KEEP bytes of blocks per
 * size class of its own and reuses them (a push or a pop: no lock, no
 * search).  Blocks above the largest class, and whatever a full class
 * would exceed its share with, go to malloc and free.
 *
 * The shim links a private copy of jansson (see the Makefile), so
 * installing these with json_set_alloc_funcs changes nothing for a host
 * that uses jansson itself.  They must be installed before jansson
 * allocates anything (at_shim_activate does, before it starts the sink
 * thread, jansson's only user): at_jalloc_free reads a header
 * at_jalloc_malloc wrote.
 *
 * A thread's cached blocks are returned to free when it exits.  Built with
 * AddressSanitizer, nothing is cached (use after free stays detectable).
 * Thread-safe: a block may be freed on another thread than the one that
 * allocated it (it then joins that thread's cache). */
#ifndef AT_JALLOC_H
#define AT_JALLOC_H

#include <jansson.h>
#include <stddef.h>

/* Bytes of free blocks one thread keeps per size class. */
#define AT_JALLOC_KEEP (32u * 1024u)

void *at_jalloc_malloc(size_t n);
void at_jalloc_free(void *p);

/* at_jalloc_install: make jansson allocate with the two above. */
void at_jalloc_install(void);

/* at_json_loadb: json_loadb, but an allocation failing during the load
 * ends it (NULL, err->text "out of memory") with every block it had
 * freed, where jansson's lexer could otherwise abort the process (see
 * jalloc.c).  Guarded once at_jalloc_install ran; else json_loadb. */
json_t *at_json_loadb(const char *p, size_t n, size_t flags,
                      json_error_t *err);

/* at_jalloc_release: give back the calling thread's cached blocks. */
void at_jalloc_release(void);

/* at_jalloc_cached: bytes of free blocks the calling thread holds;
 * at_jalloc_caching: 0 when built not to cache (tests). */
size_t at_jalloc_cached(void);
int at_jalloc_caching(void);

#endif
