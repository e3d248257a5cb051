/* config.h - the shim's configuration, read once from the environment.
 *
 * at_config_load runs in the library constructor, before the host's main;
 * afterwards the struct is only read, from any thread.
 *
 *   AGENTTRACE_OUTPUT           span file (default ./agenttrace.jsonl), made
 *                               absolute and exported to child processes
 *   AGENTTRACE_DISABLE          1: pass everything through, write nothing
 *   AGENTTRACE_DEBUG            1: diagnostics on stderr, "agenttrace: ..."
 *   AGENTTRACE_CAPTURE_CONTENT  0: leave prompts, outputs, tool arguments
 *                               and results, and HTTP bodies out
 *   AGENTTRACE_MAX_BODY         per-message capture limit in bytes (default
 *                               8 MiB; suffixes k, m accepted)
 *   AGENTTRACE_AGENT_NAME       gen_ai.agent.name of the process span
 *   AGENTTRACE_RING_SIZE        capture ring size in bytes (default 4 MiB)
 */
#ifndef AT_CONFIG_H
#define AT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct at_config {
    int disabled;
    int debug;
    int capture_content;
    uint64_t max_body;
    size_t ring_size;
    char output[4096];
    char agent_name[256];   /* "" when not set */
} at_config;

extern at_config at_cfg;

/* at_config_load: fill at_cfg from the environment and export the absolute
 * output path.  Never fails: a bad value falls back to its default (with a
 * diagnostic when debugging). */
void at_config_load(void);

/* at_parse_size: "8388608", "64k", "8m", "1g" -> bytes; -1 when invalid. */
int64_t at_parse_size(const char *s);

#endif
