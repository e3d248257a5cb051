/* writer.c - append span lines to the output file (see writer.h). */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The file is opened, written and closed with raw system calls: not
 * through the shim's own hooks (which would look the descriptor up), and
 * with no lazy binding of open/write/close paid by a process whose only
 * line is its process span. */

int at_writer_write(const char *path, const char *lines, size_t n,
                    at_writer_stats *st)
{
    int saved = errno, fd, lost = 0;
    const char *p = lines, *end = lines + n;

    if (n == 0)
        return 0;
    fd = (int)syscall(SYS_openat, AT_FDCWD, path,
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                      0600);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        ssize_t w = -1;

        if (fd >= 0) {
            do
                w = syscall(SYS_write, fd, p, len);
            while (w < 0 && errno == EINTR);
        }
        if (w == (ssize_t)len) {
            st->lines++;
        } else {
            /* A short write leaves a partial line; readers skip lines that
             * are not JSON.  Nothing here can make the disk bigger. */
            st->failed++;
            st->last_errno = fd < 0 || w < 0 ? errno : ENOSPC;
            lost++;
        }
        p += len;
    }
    if (fd >= 0)
        syscall(SYS_close, fd);
    errno = saved;
    return lost;
}
