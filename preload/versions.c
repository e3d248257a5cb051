/* versions.c - which of libc's symbol versions the shim needs.
 *
 * Every version a library needs from libc is checked when a process loads
 * it: the dynamic linker finds the version among libc's definitions, about
 * 250 instructions each, in every process, whether it ever calls a model
 * or not.  The shim's code and the static archives it carries (jansson,
 * zlib, brotli, zstd) used to need eight: GLIBC_2.2.5, 2.3, 2.3.2, 2.3.4,
 * 2.4, 2.14, 2.17 and 2.34.  They now need two, GLIBC_2.2.5 and, for
 * memcpy, GLIBC_2.14 (memcpy@GLIBC_2.2.5 is memmove, and a jump before
 * every copy cost a curl request more than the version saves a process):
 *
 * - Functions libc also defines at GLIBC_2.2.5 (the same function: libdl,
 *   libpthread and librt moved into libc in 2.34 and 2.17, and kept their
 *   first versions): the link renames the shim's references to
 *   __wrap_NAME (-Wl,--wrap, Makefile), a jump here to NAME@GLIBC_2.2.5.
 *   A jump keeps the return address, so dlsym(RTLD_NEXT) still sees its
 *   caller in the shim.
 * - Functions with no such version (__register_atfork, newlocale,
 *   strtod_l): renamed the same way, to a wrapper that looks the function
 *   up the first time it is called.  None is on the start path: fork
 *   handlers are registered at a process's first fork or first capture,
 *   and the locale is made on the sink thread.
 * - The archives' hardening (Debian builds them with -fstack-protector and
 *   _FORTIFY_SOURCE): the checks they call are defined here, for the shim
 *   alone, and end the process as glibc's do when one fails.
 *
 * This file is compiled without link-time optimisation: its top-level
 * assembler must stay in its own object (Makefile).
 */
#include <dlfcn.h>
#include <locale.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

/* __wrap_NAME: jump to NAME@GLIBC_2.2.5 (at_v1_NAME is this file's name
 * for that versioned reference) */
#define AT_V1_JUMP(name)                                                    \
    __asm__(".pushsection .text\n"                                          \
            ".globl __wrap_" #name "\n"                                     \
            ".hidden __wrap_" #name "\n"                                    \
            ".type __wrap_" #name ", @function\n"                           \
            ".p2align 4\n"                                                  \
            "__wrap_" #name ":\n"                                           \
            "\tjmp at_v1_" #name "@PLT\n"                                   \
            ".size __wrap_" #name ", .-__wrap_" #name "\n"                  \
            ".symver at_v1_" #name ", " #name "@GLIBC_2.2.5\n"              \
            ".popsection\n")

AT_V1_JUMP(clock_gettime);
AT_V1_JUMP(dlsym);
AT_V1_JUMP(dlopen);
AT_V1_JUMP(dladdr);
AT_V1_JUMP(pthread_create);
AT_V1_JUMP(pthread_once);
AT_V1_JUMP(pthread_key_create);
AT_V1_JUMP(pthread_setspecific);
AT_V1_JUMP(pthread_attr_setstacksize);

/* ---- looked up when first called ---------------------------------------- */

/* The function `name` of the objects after the shim (libc's), or NULL.
 * Two threads looking it up at once find the same address. */
static void *next_fn(_Atomic(void *) *cache, const char *name)
{
    void *f = atomic_load_explicit(cache, memory_order_acquire);

    if (f == NULL) {
        f = dlsym(RTLD_NEXT, name);
        atomic_store_explicit(cache, f, memory_order_release);
    }
    return f;
}

int __wrap___register_atfork(void (*prepare)(void), void (*parent)(void),
                             void (*child)(void), void *dso);
int __wrap___register_atfork(void (*prepare)(void), void (*parent)(void),
                             void (*child)(void), void *dso)
{
    static _Atomic(void *) cache;
    int (*f)(void (*)(void), void (*)(void), void (*)(void), void *);

    *(void **)&f = next_fn(&cache, "__register_atfork");
    return f ? f(prepare, parent, child, dso) : -1;
}

locale_t __wrap_newlocale(int mask, const char *name, locale_t base);
locale_t __wrap_newlocale(int mask, const char *name, locale_t base)
{
    static _Atomic(void *) cache;
    locale_t (*f)(int, const char *, locale_t);

    *(void **)&f = next_fn(&cache, "newlocale");
    return f ? f(mask, name, base) : (locale_t)0;
}

double __wrap_strtod_l(const char *s, char **end, locale_t loc);
double __wrap_strtod_l(const char *s, char **end, locale_t loc)
{
    static _Atomic(void *) cache;
    double (*f)(const char *, char **, locale_t);

    /* the shim calls it only with a locale newlocale made, so found */
    *(void **)&f = next_fn(&cache, "strtod_l");
    if (f == NULL) {
        if (end)
            *end = (char *)s;
        return 0.0;
    }
    return f(s, end, loc);
}

/* ---- the archives' hardening checks ------------------------------------- */

/* Say why on standard error (no allocation, no stdio: the process's state
 * is not to be trusted) and abort, as glibc does. */
static __attribute__((noreturn, cold)) void fail(const char *why)
{
    static const char pre[] = "*** ";
    static const char post[] = " ***: terminated (libagenttrace)\n";

    (void)!syscall(SYS_write, 2, pre, sizeof(pre) - 1);
    (void)!syscall(SYS_write, 2, why, strlen(why));
    (void)!syscall(SYS_write, 2, post, sizeof(post) - 1);
    abort();
}

__attribute__((visibility("hidden"), noreturn)) void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
    fail("stack smashing detected");
}

__attribute__((visibility("hidden"))) int
__vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                const char *format, va_list ap);
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                    const char *format, va_list ap)
{
    (void)flag;
    if (slen < maxlen)
        fail("buffer overflow detected");
    return vsnprintf(s, maxlen, format, ap);
}

__attribute__((visibility("hidden"))) int
__snprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
               const char *format, ...);
int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                   const char *format, ...)
{
    va_list ap;
    int r;

    va_start(ap, format);
    r = __vsnprintf_chk(s, maxlen, flag, slen, format, ap);
    va_end(ap);
    return r;
}

__attribute__((visibility("hidden"))) char *
__strncpy_chk(char *dest, const char *src, size_t len, size_t destlen);
char *__strncpy_chk(char *dest, const char *src, size_t len, size_t destlen)
{
    if (destlen < len)
        fail("buffer overflow detected");
    return strncpy(dest, src, len);
}
