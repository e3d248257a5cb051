/* hooks.h - the interposed symbols, declared once for the hooks and for
 * real.c (which must recognise them to refuse them). */
#ifndef AT_HOOKS_H
#define AT_HOOKS_H

#include <stddef.h>
#include <sys/types.h>

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
typedef struct ssl_ctx_st SSL_CTX;
typedef void (*at_ssl_msg_cb)(int write_p, int version, int content_type,
                              const void *buf, size_t len, SSL *ssl,
                              void *arg);
void SSL_CTX_set_msg_callback(SSL_CTX *ctx, at_ssl_msg_cb cb);

/* curl.c: whether a TLS message trace that `caller` (a return address) is
 * installing is one libcurl installs only because the curl hooks made its
 * transfer verbose: inside a libcurl transfer on this thread, called from
 * libcurl itself, in a process whose application never asked libcurl for
 * verbosity. */
int at_curl_trace_unwanted(const void *caller);

int __libc_start_main(int (*main)(int, char **, char **), int argc,
                      char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);
void _exit(int status) __attribute__((noreturn));

/* socket.c: read, write, send, recv, ... have libc's prototypes; these
 * fortified variants have none in a public header. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
struct sockaddr;
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen,
                       int flags, struct sockaddr *from,
                       unsigned int *fromlen);
void _Exit(int status) __attribute__((noreturn));

#endif
