/* log.h - diagnostics on stderr, only when AGENTTRACE_DEBUG=1.
 *
 * Any thread.  Formats into a stack buffer and writes it with one write(2)
 * to fd 2, prefixed "agenttrace: [pid] "; errno is preserved.  Never call it
 * from a hook's fast path. */
#ifndef AT_LOG_H
#define AT_LOG_H

extern int at_log_enabled;

void at_log_impl(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#define at_log(...)                \
    do {                           \
        if (at_log_enabled)        \
            at_log_impl(__VA_ARGS__); \
    } while (0)

#endif
