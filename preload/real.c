/* real.c - find the real functions behind the hooks (see real.h).  Host
 * threads, once per symbol family. */
#include "real.h"
#include "log.h"
#include "hooks/hooks.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

struct find {
    const char *lib;
    char path[4096];
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct find *f = data;

    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, f->lib) &&
        strlen(info->dlpi_name) < sizeof(f->path)) {
        strcpy(f->path, info->dlpi_name);
        return 1;
    }
    return 0;
}

void *at_real_lookup(const char *lib, const char *name, const void *self)
{
    void *p = dlsym(RTLD_NEXT, name);
    struct find f;
    void *h;

    if (p != NULL && p != self)
        return p;
    memset(&f, 0, sizeof(f));
    f.lib = lib;
    if (!dl_iterate_phdr(find_cb, &f))
        return NULL;
    h = dlopen(f.path, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
        return NULL;
    p = dlsym(h, name);
    /* The handle stays open: the library is in use by the host anyway. */
    return p == self ? NULL : p;
}

static at_ssl_fns ssl_fns;
static _Atomic int ssl_state;   /* 0 unresolved, 1 resolving, 2 done */

#define RESOLVE(sym, self)                                                 \
    do {                                                                   \
        void *p_ = at_real_lookup("libssl.so", #sym, (const void *)(self)); \
        memcpy(&ssl_fns.sym, &p_, sizeof(p_));                             \
    } while (0)

const at_ssl_fns *at_real_ssl(void)
{
    int expect = 0;

    if (atomic_load_explicit(&ssl_state, memory_order_acquire) == 2)
        return &ssl_fns;
    if (atomic_compare_exchange_strong(&ssl_state, &expect, 1)) {
        RESOLVE(SSL_write, SSL_write);
        RESOLVE(SSL_read, SSL_read);
        RESOLVE(SSL_peek, SSL_peek);
        RESOLVE(SSL_write_ex, SSL_write_ex);
        RESOLVE(SSL_read_ex, SSL_read_ex);
        RESOLVE(SSL_peek_ex, SSL_peek_ex);
        RESOLVE(SSL_free, SSL_free);
        RESOLVE(SSL_shutdown, SSL_shutdown);
        RESOLVE(SSL_clear, SSL_clear);
        RESOLVE(SSL_get_error, NULL);
        RESOLVE(SSL_get_servername, NULL);
        RESOLVE(SSL_get_fd, NULL);
        RESOLVE(SSL_get0_alpn_selected, NULL);
        if (ssl_fns.SSL_write == NULL || ssl_fns.SSL_read == NULL)
            at_log("libssl not found among loaded objects; "
                   "OpenSSL calls cannot be forwarded");
        atomic_store_explicit(&ssl_state, 2, memory_order_release);
        return &ssl_fns;
    }
    /* Another thread is resolving: it takes microseconds. */
    while (atomic_load_explicit(&ssl_state, memory_order_acquire) != 2)
        ;
    return &ssl_fns;
}
