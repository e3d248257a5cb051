/* A shared object that starts one thread which never runs again: what any
 * design with a thread of its own in the host costs before doing anything.
 * Once a second thread exists, glibc takes its multi-threaded paths for
 * good (malloc's locks, the cancellation points around every blocking
 * system call), in every thread. */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

__attribute__((constructor)) static void start(void)
{
    pthread_t t;

    if (pthread_create(&t, NULL, idle, NULL) == 0)
        pthread_detach(t);
}
