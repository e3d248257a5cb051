/* clock.h - the two clocks of a span.  Any thread; vDSO calls, no syscall.
 *
 * Everything the hooks stamp is CLOCK_MONOTONIC; a span's wall-clock times
 * are the process's wall-clock start plus monotonic durations (SPANS.md). */
#ifndef AT_CLOCK_H
#define AT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t at_clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t at_mono_ns(void)
{
    return at_clock_ns(CLOCK_MONOTONIC);
}

#endif
