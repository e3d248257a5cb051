/* reader.c - line reader over read(2) with its own buffer, so that a
 * partial last line can be held back while following a growing file.
 * Runs in the inspector's own process. */
#include "cli/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/util.h"

#define READ_CHUNK ((size_t)256 << 10)

int at_cli_reader_open(at_cli_reader *r, const char *path, int follow)
{
    struct stat st;

    memset(r, 0, sizeof(*r));
    r->fd = -1;
    r->follow = follow;
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
        r->is_stdin = 1;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0)
            return -1;
        if (fstat(r->fd, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                close(r->fd);
                r->fd = -1;
                errno = EISDIR;
                return -1;
            }
            r->ino = st.st_ino;
            r->dev = st.st_dev;
        }
    }
    r->path = at_cli_xstrdup(path);
    r->cap = READ_CHUNK;
    r->buf = at_cli_xmalloc(r->cap + 1);
    return 0;
}

void at_cli_reader_close(at_cli_reader *r)
{
    if (r->fd >= 0 && !r->is_stdin)
        close(r->fd);
    r->fd = -1;
    free(r->buf);
    free(r->path);
    r->buf = NULL;
    r->path = NULL;
}

/* fill: read more bytes after buf[end], moving the pending bytes to the
 * front and growing the buffer when it is full.  Returns bytes read, 0 at
 * EOF, -1 on error. */
static ssize_t fill(at_cli_reader *r)
{
    ssize_t n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= AT_CLI_MAX_LINE) {
            /* Drop what we hold of an over-long line. */
            r->offset += r->end;
            r->end = 0;
            r->skipping = 1;
            r->dropped = 1;
        } else {
            r->cap *= 2;
            r->buf = at_cli_xrealloc(r->buf, r->cap + 1);
        }
    }
    do {
        n = read(r->fd, r->buf + r->end, r->cap - r->end);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        r->end += (size_t)n;
        r->eof = 0;
    } else if (n == 0) {
        r->eof = 1;
    }
    return n;
}

int at_cli_reader_next(at_cli_reader *r, char **line, size_t *len,
                       int *complete)
{
    size_t scanned = 0; /* bytes after start known to hold no '\n' */

    for (;;) {
        char *nl = memchr(r->buf + r->start + scanned, '\n',
                          r->end - r->start - scanned);
        ssize_t n;

        if (nl != NULL) {
            size_t l = (size_t)(nl - (r->buf + r->start));
            int skipped = r->skipping;

            r->lineno++;
            r->line_offset = r->offset;
            *line = r->buf + r->start;
            *len = l;
            (*line)[l] = '\0';
            *complete = 1;
            r->start += l + 1;
            r->offset += l + 1;
            if (skipped) {
                r->skipping = 0;
                return AT_CLI_TOOLONG;
            }
            return AT_CLI_LINE;
        }
        scanned = r->end - r->start;
        r->dropped = 0;
        n = fill(r);
        if (r->dropped)
            scanned = 0;
        if (n < 0)
            return AT_CLI_ERROR;
        if (n == 0) {
            size_t l = r->end - r->start;

            if (l == 0 && !r->skipping)
                return AT_CLI_END;
            if (r->follow)
                return AT_CLI_END;
            /* A last line without '\n'. */
            r->lineno++;
            r->line_offset = r->offset;
            *line = r->buf + r->start;
            *len = l;
            (*line)[l] = '\0';
            *complete = 0;
            r->start = r->end;
            r->offset += l;
            if (r->skipping) {
                r->skipping = 0;
                return AT_CLI_TOOLONG;
            }
            return AT_CLI_LINE;
        }
    }
}

int at_cli_reader_reopen_if_replaced(at_cli_reader *r)
{
    struct stat st, cur;
    int fd;

    if (r->is_stdin)
        return 0;
    if (stat(r->path, &st) != 0)
        return 0; /* gone for now: keep reading what we have */
    if (fstat(r->fd, &cur) != 0)
        return -1;
    if (st.st_ino == r->ino && st.st_dev == r->dev &&
        (uint64_t)cur.st_size >= r->offset + (r->end - r->start))
        return 0;
    if (st.st_ino == r->ino && st.st_dev == r->dev) {
        /* Truncated in place: start over. */
        if (lseek(r->fd, 0, SEEK_SET) < 0)
            return -1;
    } else {
        fd = open(r->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return 0;
        close(r->fd);
        r->fd = fd;
        r->ino = st.st_ino;
        r->dev = st.st_dev;
    }
    r->start = r->end = 0;
    r->offset = 0;
    r->skipping = 0;
    return 1;
}
