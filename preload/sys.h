/* sys.h - system calls and clock reads without libc, for the paths every
 * traced process runs (start-up, fork, exit) whether or not it ever calls
 * a model.
 *
 * Why not libc: each libc function this library calls costs a process a
 * lazy binding (~600 instructions) and, the first time, a page fault on
 * the libc code page it lives on (10-16 us measured on a virtual machine,
 * preload/layout.h); syscall() and clock_gettime() were two of those for a
 * process that used neither.  The vDSO's clock costs two more faults (its
 * data pages) for two reads, where one system call is ~1 us.
 *
 * at_sys* return what the kernel returns: >= 0, or -errno.  errno is never
 * touched.  Other architectures than x86-64 and AArch64 go through
 * syscall() and save errno around it.
 *
 * at_clock_sys_ns: the clock by system call, for the start-up and exit of
 * a process that may never read it again; everything else stamps with the
 * vDSO (preload/clock.h).  Both read the same clocks. */
#ifndef AT_SYS_H
#define AT_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#if defined(__x86_64__)

static inline long at_sys6(long n, long a, long b, long c, long d, long e,
                           long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                       "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#elif defined(__aarch64__)

static inline long at_sys6(long n, long a, long b, long c, long d, long e,
                           long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;

    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

#else

#include <errno.h>
#include <unistd.h>

static inline long at_sys6(long n, long a, long b, long c, long d, long e,
                           long f)
{
    int saved = errno;
    long r = syscall(n, a, b, c, d, e, f);

    if (r == -1)
        r = -errno;
    errno = saved;
    return r;
}

#endif

#define at_sys0(n) at_sys6((n), 0, 0, 0, 0, 0, 0)
#define at_sys1(n, a) at_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define at_sys2(n, a, b) at_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define at_sys3(n, a, b, c) \
    at_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define at_sys4(n, a, b, c, d) \
    at_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline uint64_t at_clock_sys_ns(clockid_t id)
{
    struct timespec ts = {0, 0};

    at_sys2(SYS_clock_gettime, id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* at_strlen, at_memcpy: strlen and memcpy for the short strings of the
 * start-up and exit paths (the span file's path, the command line, the
 * process span's names).  A call to libc's costs every process a lazy
 * binding (~800 instructions) the first time this library makes it, more
 * than these strings cost to walk.  The empty asm keeps the compiler from
 * turning the loops back into calls to libc. */
static inline size_t at_strlen(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0') {
        n++;
        __asm__("" : "+r"(n));
    }
    return n;
}

static inline void at_memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;

    for (; n >= 8; n -= 8, d += 8, s += 8) {
        uint64_t w;

        __builtin_memcpy(&w, s, 8);
        __builtin_memcpy(d, &w, 8);
        __asm__("" : "+r"(d));
    }
    for (; n > 0; n--) {
        *d++ = *s++;
        __asm__("" : "+r"(d));
    }
}

#endif
