/* log.c - debug diagnostics (see log.h).  Any thread. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

int at_log_enabled;

void at_log_impl(const char *fmt, ...)
{
    char buf[1024];
    int saved = errno;
    int n = snprintf(buf, sizeof(buf), "agenttrace: [%d] ", (int)getpid());
    va_list ap;

    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(buf))
        n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    if (write(2, buf, (size_t)n) < 0) {
        /* nothing to do: diagnostics are best effort */
    }
    errno = saved;
}
