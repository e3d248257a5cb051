/* writer.h - the JSONL file: one write(2) per span line, O_APPEND.
 *
 * The file is opened for each batch and closed after it, so the shim holds
 * no descriptor that a host could close (or inherit) between batches; with
 * O_APPEND and one write per line, many processes can share one file
 * without interleaving.  Sink thread, or the exiting thread. */
#ifndef AT_WRITER_H
#define AT_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct at_writer_stats {
    uint64_t lines;        /* lines written whole */
    uint64_t failed;       /* lines lost: open or write failed */
    int last_errno;
} at_writer_stats;

/* at_writer_write: append `n` bytes of complete lines at `lines` to the
 * file `path` (created 0600), one write(2) per line.  Returns the number of
 * lines lost (0 when all were written).  errno is preserved. */
int at_writer_write(const char *path, const char *lines, size_t n,
                    at_writer_stats *st);

/* at_writer_write_line: the same for `n` bytes that are one line (its
 * '\n' last), not searched for line ends: an idle process's span, whose
 * writer calls nothing in libc (preload/sys.h). */
int at_writer_write_line(const char *path, const char *line, size_t n,
                         at_writer_stats *st);

#endif
