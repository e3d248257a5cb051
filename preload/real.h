/* real.h - the real functions behind the hooks.
 *
 * OpenSSL is resolved lazily, on the first hooked call, because libssl may
 * be loaded late and privately: Python's _ssl module is dlopen'ed with
 * RTLD_LOCAL, so dlsym(RTLD_NEXT, ...) finds nothing there.  Then the
 * already-loaded libssl is found with dl_iterate_phdr and opened with
 * RTLD_NOLOAD; this library never loads one itself, and never accepts its
 * own hook as the "real" function.  Any thread.
 */
#ifndef AT_REAL_H
#define AT_REAL_H

#include <stddef.h>

typedef struct ssl_st SSL;

typedef struct at_ssl_fns {
    int (*SSL_write)(SSL *, const void *, int);
    int (*SSL_read)(SSL *, void *, int);
    int (*SSL_peek)(SSL *, void *, int);
    int (*SSL_write_ex)(SSL *, const void *, size_t, size_t *);
    int (*SSL_read_ex)(SSL *, void *, size_t, size_t *);
    int (*SSL_peek_ex)(SSL *, void *, size_t, size_t *);
    void (*SSL_free)(SSL *);
    int (*SSL_shutdown)(SSL *);
    int (*SSL_clear)(SSL *);
    /* not hooked, used to describe a connection */
    int (*SSL_get_error)(const SSL *, int);
    const char *(*SSL_get_servername)(const SSL *, const int);
    int (*SSL_get_fd)(const SSL *);
    void (*SSL_get0_alpn_selected)(const SSL *, const unsigned char **,
                                   unsigned int *);
} at_ssl_fns;

/* at_real_ssl: the real OpenSSL functions; a member is NULL when it could
 * not be found (the hook then fails the call with ENOSYS rather than
 * crash).  The first call resolves; later calls cost one load. */
const at_ssl_fns *at_real_ssl(void);

/* at_real_lookup: `name` in the loaded library whose file name contains
 * `lib` (e.g. "libssl.so"), refusing `self` (the hook's own address).
 * NULL when not found. */
void *at_real_lookup(const char *lib, const char *name, const void *self);

#endif
