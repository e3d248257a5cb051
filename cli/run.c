/* run.c - `agenttrace run [--output FILE] -- CMD ARGS...`: run CMD under
 * the shim (LD_PRELOAD of libagenttrace.so, found next to this binary, in
 * ../lib, through $AGENTTRACE_LIB or in the install path), wait for it,
 * then print the tree of the spans it appended, on stderr like strace so
 * that CMD's own output stays clean.  Exits with CMD's status.  Runs in
 * the inspector's own process. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/util.h"

#ifndef AT_CLI_LIBDIR
#define AT_CLI_LIBDIR "/usr/local/lib"
#endif

#define SHIM "libagenttrace.so"

static const char run_help[] =
    "usage: agenttrace run [--output FILE] [--color WHEN] -- CMD [ARGS...]\n"
    "\n"
    "Run CMD under libagenttrace (LD_PRELOAD), wait for it, then print on\n"
    "stderr the tree of the spans it wrote: every model call, tool call,\n"
    "HTTP call and process of the run.  CMD's output is left alone.  Exits\n"
    "with CMD's exit status (128+N when killed by signal N).\n"
    "\n"
    "  --output FILE   the span file (default: $AGENTTRACE_OUTPUT, else\n"
    "                  ./agenttrace.jsonl); spans are appended, and only\n"
    "                  this run's are shown\n"
    "  --color WHEN    auto (default: when stderr is a terminal), always,\n"
    "                  never\n"
    "  --quiet         print no tree, only run\n"
    "\n"
    "The shim is looked for in $AGENTTRACE_LIB, next to this program, in\n"
    "../lib and ../lib/agenttrace beside it, and in " AT_CLI_LIBDIR ".\n";

static int usable(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, R_OK) == 0;
}

/* find_shim: the shim's absolute path into out, or -1 (with the places
 * tried in `tried`). */
static int find_shim(char *out, size_t n, at_cli_buf *tried)
{
    const char *env = getenv("AGENTTRACE_LIB");
    char exe[PATH_MAX], cand[PATH_MAX + 64];
    const char *rel[] = {"", "/../lib", "/../lib/agenttrace"};
    ssize_t len;
    size_t i;

    if (env != NULL && *env) {
        if (usable(env) && realpath(env, out) != NULL)
            return 0;
        at_cli_buf_printf(tried, "$AGENTTRACE_LIB=%s (not a readable file)",
                          env);
        return -1;
    }
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        dirname(exe);
        for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            snprintf(cand, sizeof(cand), "%s%s/" SHIM, exe, rel[i]);
            if (usable(cand) && realpath(cand, out) != NULL)
                return 0;
            at_cli_buf_printf(tried, "%s%s", tried->len ? ", " : "", cand);
        }
    }
    snprintf(cand, sizeof(cand), "%s/" SHIM, AT_CLI_LIBDIR);
    if (usable(cand) && realpath(cand, out) != NULL)
        return 0;
    at_cli_buf_printf(tried, "%s%s", tried->len ? ", " : "", cand);
    (void)n;
    return -1;
}

int at_cli_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *output = NULL, *color = NULL, *old;
    char shim[PATH_MAX], outabs[PATH_MAX + 256];
    at_cli_buf tried, preload;
    struct sigaction ign, old_int, old_quit;
    struct stat st;
    off_t before = 0;
    pid_t pid;
    int c, status, rc, quiet = 0, fd, col;
    at_cli_tree t;
    at_cli_tree_opts to;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+ho:c:q", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'c':
            color = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(run_help, stdout);
            return 0;
        default:
            return at_cli_usage_error("run", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return at_cli_usage_error("run", "expected: run -- CMD [ARGS...]");
    if ((col = at_cli_color(color, stderr)) < 0)
        return at_cli_usage_error("run", "bad --color '%s'", color);
    at_cli_buf_init(&tried);
    if (find_shim(shim, sizeof(shim), &tried) < 0) {
        at_cli_err("run: cannot find " SHIM " (looked in %s); build it "
                   "with make, or set AGENTTRACE_LIB",
                   tried.data ? tried.data : "nowhere");
        at_cli_buf_free(&tried);
        return 1;
    }
    at_cli_buf_free(&tried);
    if (output == NULL)
        output = getenv("AGENTTRACE_OUTPUT");
    if (output == NULL || *output == '\0')
        output = "agenttrace.jsonl";
    /* Create the file now (0600, as the shim would) to know where this
     * run's spans begin, and hand the shim an absolute path. */
    fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        at_cli_err("run: %s: %s", output, strerror(errno));
        return 1;
    }
    if (fstat(fd, &st) == 0)
        before = st.st_size;
    close(fd);
    if (realpath(output, outabs) == NULL) {
        at_cli_err("run: %s: %s", output, strerror(errno));
        return 1;
    }

    at_cli_buf_init(&preload);
    at_cli_buf_puts(&preload, shim);
    old = getenv("LD_PRELOAD");
    if (old != NULL && *old) {
        at_cli_buf_putc(&preload, ' ');
        at_cli_buf_puts(&preload, old);
    }
    /* Like system(3): while CMD runs, ^C and ^\ are for it, not for us. */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        at_cli_err("run: fork: %s", strerror(errno));
        at_cli_buf_free(&preload);
        return 1;
    }
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        setenv("LD_PRELOAD", preload.data, 1);
        setenv("AGENTTRACE_OUTPUT", outabs, 1);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "agenttrace: run: %s: %s\n", argv[optind],
                strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    at_cli_buf_free(&preload);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            at_cli_err("run: waitpid: %s", strerror(errno));
            return 1;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (WIFEXITED(status))
        rc = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        rc = 128 + WTERMSIG(status);
    else
        rc = 1;
    if (rc == 127 || rc == 126) {
        /* The command could not be started: nothing to show. */
        if (stat(outabs, &st) == 0 && st.st_size == before)
            return rc;
    }
    if (quiet)
        return rc;
    at_cli_tree_init(&t);
    fflush(stdout);
    if (at_cli_load_tree(outabs, &t, (unsigned long long)before) == 0) {
        memset(&to, 0, sizeof(to));
        to.color = col;
        to.width = at_cli_columns(stderr);
        fprintf(stderr, "\n%s== agenttrace: %zu span%s in %s%s\n",
                col ? "\033[1m" : "", t.n, t.n == 1 ? "" : "s", outabs,
                col ? "\033[0m" : "");
        if (t.n > 0)
            at_cli_tree_print(&t, stderr, &to);
        else
            fprintf(stderr, "(no spans: was the command dynamically linked? "
                            "AGENTTRACE_DEBUG=1 shows what the shim does)\n");
    }
    at_cli_tree_free(&t);
    return rc;
}
