/* main.c - `agenttrace`: dispatch to a subcommand.  Runs in the
 * inspector's own process. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/util.h"

static const char usage[] =
    "usage: agenttrace COMMAND [ARGS...]\n"
    "\n"
    "Read the spans libagenttrace writes (JSONL; FILE '-' is stdin).\n"
    "\n"
    "  run [--output FILE] -- CMD ARGS...   run CMD under the shim, then show"
    " its tree\n"
    "  tree FILE [--trace ID] [--errors]    one tree per trace, with totals\n"
    "  show FILE SPAN_ID                    one span in full: transcript,"
    " usage, timing\n"
    "  stats FILE [--json]                  per model and per tool: calls,"
    " errors,\n"
    "                                       tokens, cost, latency"
    " percentiles\n"
    "  export otlp FILE [--endpoint URL]    OTLP/JSON to stdout, or POSTed to"
    " URL/v1/traces\n"
    "  html FILE > run.html                 a self-contained waterfall page\n"
    "  dataset add FILE SPAN_ID --label T --out cases.jsonl\n"
    "                                       turn a model call into an eval"
    " case\n"
    "  eval cases.jsonl --endpoint URL      replay the cases, score them, exit"
    " 1 on failure\n"
    "\n"
    "'agenttrace COMMAND --help' tells more.  Version " AT_CLI_VERSION ".\n";

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", at_cli_cmd_run},       {"tree", at_cli_cmd_tree},
        {"show", at_cli_cmd_show},     {"stats", at_cli_cmd_stats},
        {"export", at_cli_cmd_export}, {"html", at_cli_cmd_html},
        {"dataset", at_cli_cmd_dataset}, {"eval", at_cli_cmd_eval},
    };
    size_t i;

    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("agenttrace %s\n", AT_CLI_VERSION);
        return 0;
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    at_cli_err("unknown command '%s' (see agenttrace --help)", argv[1]);
    return 2;
}
