/* reader.h - read a span file line by line, in constant memory (one line
 * at a time; a line may be as long as AT_CLI_MAX_LINE), from a path or
 * from stdin ("-"), optionally following a file that grows (tail -f).
 * Runs in the inspector's own process. */
#ifndef AT_CLI_READER_H
#define AT_CLI_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AT_CLI_MAX_LINE ((size_t)512 << 20)

typedef struct at_cli_reader {
    int fd;
    int is_stdin;
    int follow;       /* at EOF keep an unterminated line pending */
    int eof;          /* read(2) returned 0 at least once since last data */
    char *path;       /* owned copy; "-" for stdin */
    char *buf;
    size_t cap;
    size_t start;     /* first unconsumed byte in buf */
    size_t end;       /* bytes valid in buf */
    int skipping;     /* inside a line longer than AT_CLI_MAX_LINE */
    int dropped;      /* the last fill dropped the bytes held */
    uint64_t lineno;  /* number of the line last returned (1-based) */
    uint64_t offset;  /* file offset of buf[start] */
    uint64_t line_offset; /* file offset of the line last returned */
    ino_t ino;        /* follow: the file's identity, to see rotation */
    dev_t dev;
} at_cli_reader;

/* Result of at_cli_reader_next. */
enum {
    AT_CLI_LINE = 1,     /* a line: *line, *len, *complete set */
    AT_CLI_END = 0,      /* end of input (follow mode: nothing new yet) */
    AT_CLI_ERROR = -1,   /* read error; errno set */
    AT_CLI_TOOLONG = -2  /* a line over AT_CLI_MAX_LINE was skipped */
};

/* at_cli_reader_open: open `path` ("-" is stdin) for reading.  Returns 0,
 * or -1 with errno set (ENOENT, EACCES, EISDIR...). */
int at_cli_reader_open(at_cli_reader *r, const char *path, int follow);
void at_cli_reader_close(at_cli_reader *r);

/* at_cli_reader_next: the next line without its '\n', NUL-terminated
 * (the caller may modify it; it lives until the next call).  *complete is
 * 0 for a last line that has no '\n' (a writer cut off mid-line); in
 * follow mode such a line is not returned but kept until its end arrives.
 * Returns AT_CLI_LINE, AT_CLI_END, AT_CLI_ERROR or AT_CLI_TOOLONG. */
int at_cli_reader_next(at_cli_reader *r, char **line, size_t *len,
                       int *complete);

/* at_cli_reader_reopen_if_replaced: follow mode: when the path now names
 * another file (rotated) or the file shrank (truncated), start over from
 * its beginning.  Returns 1 when it did, 0 when not, -1 on error. */
int at_cli_reader_reopen_if_replaced(at_cli_reader *r);

#endif
