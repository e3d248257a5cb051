/* commands.h - the subcommands of `agenttrace`, each a main() of its own
 * over the arguments after its name (argv[0] is the subcommand), and the
 * option helpers they share.  Exit status: 0 done, 1 failed (bad input,
 * a failing eval case, an export that could not be delivered), 2 usage.
 * Runs in the inspector's own process. */
#ifndef AT_CLI_COMMANDS_H
#define AT_CLI_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

#include "cli/tree.h"

int at_cli_cmd_run(int argc, char **argv);
int at_cli_cmd_tree(int argc, char **argv);
int at_cli_cmd_show(int argc, char **argv);
int at_cli_cmd_stats(int argc, char **argv);
int at_cli_cmd_export(int argc, char **argv);
int at_cli_cmd_html(int argc, char **argv);
int at_cli_cmd_dataset(int argc, char **argv);
int at_cli_cmd_eval(int argc, char **argv);

/* at_cli_usage_error: "agenttrace: <msg>" and a pointer to --help on
 * stderr; returns 2. */
int at_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* at_cli_color: whether to colour output on `fp` for a --color value
 * ("auto" or NULL: a terminal and NO_COLOR unset; "always"; "never").
 * Returns 0/1, or -1 for an unknown value. */
int at_cli_color(const char *mode, FILE *fp);

/* at_cli_columns: the terminal's width for fp, else $COLUMNS, else 160. */
size_t at_cli_columns(FILE *fp);

/* at_cli_load_tree: read every span of `path` into t (built).  Prints
 * problems on stderr.  Returns 0, or 1 (nothing readable, read error). */
int at_cli_load_tree(const char *path, at_cli_tree *t, unsigned long long
                     skip_bytes);

#endif
