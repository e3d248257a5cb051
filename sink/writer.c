/* writer.c - append span lines to the output file (see writer.h). */
#include "writer.h"
#include "preload/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The file is opened, written and closed with raw system calls: not
 * through the shim's own hooks (which would look the descriptor up), and
 * with no libc binding paid by a process whose only line is its process
 * span (preload/sys.h).  errno is left alone. */

static int write_lines(const char *path, const char *lines, size_t n,
                       int one, at_writer_stats *st)
{
    int fd, lost = 0;
    const char *p = lines, *end = lines + n;

    if (n == 0)
        return 0;
    fd = (int)at_sys4(SYS_openat, AT_FDCWD, path,
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                      0600);
    while (p < end) {
        const char *nl = one ? NULL : memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        long w;

        if (fd >= 0) {
            do
                w = at_sys3(SYS_write, fd, p, len);
            while (w == -EINTR);
        } else {
            w = fd;
        }
        if (w == (ssize_t)len) {
            st->lines++;
        } else {
            /* A short write leaves a partial line; readers skip lines that
             * are not JSON.  Nothing here can make the disk bigger. */
            st->failed++;
            st->last_errno = w < 0 ? (int)-w : ENOSPC;
            lost++;
        }
        p += len;
    }
    if (fd >= 0)
        at_sys1(SYS_close, fd);
    return lost;
}

int at_writer_write(const char *path, const char *lines, size_t n,
                    at_writer_stats *st)
{
    return write_lines(path, lines, n, 0, st);
}

int at_writer_write_line(const char *path, const char *line, size_t n,
                         at_writer_stats *st)
{
    return write_lines(path, line, n, 1, st);
}
