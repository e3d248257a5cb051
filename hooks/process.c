/* process.c - hooks on the process's start and end.
 *
 * __libc_start_main: glibc registers the dynamic linker's finaliser after
 * every preloaded constructor has run, so an exit handler registered in our
 * constructor would run after all destructors.  Wrapping main lets us
 * register it from inside main, where it runs first and sees the exit
 * status.  _exit and _Exit end a process without exit handlers (dash's
 * `exit`, Python's os._exit in forked workers): the process span is
 * written there too, except in a vfork child, which shares its parent's
 * memory and is recognised by its pid differing from ours.
 *
 * fork: the shim's fork handlers are registered before a process's first
 * fork (preload/shim.c), not in every process; this is where a process
 * forks.  (daemon() and _Fork() do not come through here: see README,
 * Limits.)
 */
#include "hooks/hooks.h"
#include "preload/real.h"
#include "preload/shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define AT_EXPORT __attribute__((visibility("default")))

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void),
                        void (*)(void), void (*)(void), void *);

static main_fn real_main;

static int at_main(int argc, char **argv, char **envp)
{
    at_shim_main_started();
    return real_main(argc, argv, envp);
}

AT_EXPORT int __libc_start_main(main_fn main, int argc, char **argv,
                                void (*init)(void), void (*fini)(void),
                                void (*rtld_fini)(void), void *stack_end)
{
    start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");

    if (real == NULL)  /* cannot happen: libc is loaded; still, run main */
        exit(main(argc, argv, environ));
    real_main = main;
    return real(at_main, argc, argv, init, fini, rtld_fini, stack_end);
}

AT_EXPORT pid_t fork(void)
{
    typedef pid_t (*fork_fn)(void);
    static fork_fn real_fork;
    fork_fn f = __atomic_load_n(&real_fork, __ATOMIC_ACQUIRE);
    int saved = errno;

    if (f == NULL) {
        f = (fork_fn)dlsym(RTLD_NEXT, "fork");
        if (f == NULL) {  /* cannot happen: libc is loaded */
            errno = ENOSYS;
            return -1;
        }
        __atomic_store_n(&real_fork, f, __ATOMIC_RELEASE);
    }
    at_shim_before_fork();
    errno = saved;
    return f();
}

AT_EXPORT void _exit(int status)
{
    void (*real)(int) = (void (*)(int))dlsym(RTLD_NEXT, "_exit");

    at_shim_exiting(status);
    if (real)
        real(status);
    for (;;)
        ;  /* not reached: libc's _exit always exists */
}

AT_EXPORT void _Exit(int status)
{
    void (*real)(int) = (void (*)(int))dlsym(RTLD_NEXT, "_Exit");

    at_shim_exiting(status);
    if (real)
        real(status);
    for (;;)
        ;
}
