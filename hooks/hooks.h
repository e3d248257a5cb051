/* hooks.h - the interposed symbols, declared once for the hooks and for
 * real.c (which must recognise them to refuse them). */
#ifndef AT_HOOKS_H
#define AT_HOOKS_H

#include <stddef.h>

typedef struct ssl_st SSL;

int SSL_write(SSL *ssl, const void *buf, int num);
int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written);
int SSL_read(SSL *ssl, void *buf, int num);
int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *nread);
int SSL_peek(SSL *ssl, void *buf, int num);
int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *nread);
int SSL_shutdown(SSL *ssl);
int SSL_clear(SSL *ssl);
void SSL_free(SSL *ssl);

int __libc_start_main(int (*main)(int, char **, char **), int argc,
                      char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);
void _exit(int status) __attribute__((noreturn));
void _Exit(int status) __attribute__((noreturn));

#endif
