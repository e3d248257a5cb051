/* ids.h - trace and span ids, and their hex form.
 *
 * Ids are random (getrandom at seeding) and never zero.  Span ids are a
 * bijective mix of a random base plus a counter, so they never repeat within
 * a process, and two processes collide only by chance.  Any thread. */
#ifndef AT_IDS_H
#define AT_IDS_H

#include <stddef.h>
#include <stdint.h>

/* at_ids_seed: (re)seed from the kernel's random source, mixed with the pid
 * and the clock; call again in a forked child. */
void at_ids_seed(void);

/* at_ids_span: a new span id, never 0. */
uint64_t at_ids_span(void);

/* at_ids_trace: a new 16-byte trace id, never all zero. */
void at_ids_trace(unsigned char out[16]);

/* at_hex: `n` bytes as 2n lowercase hex digits plus NUL into `out`. */
void at_hex(char *out, const unsigned char *in, size_t n);

/* at_hex64: a span id as 16 hex digits plus NUL. */
void at_hex64(char out[17], uint64_t v);

/* at_unhex: parse exactly 2n hex digits into n bytes; 0, or -1 if `s` is
 * not that. */
int at_unhex(const char *s, unsigned char *out, size_t n);

/* at_unhex64: parse 16 hex digits; 0, or -1. */
int at_unhex64(const char *s, uint64_t *v);

#endif
