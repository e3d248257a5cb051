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
 *   AGENTTRACE_LIBCURL          layer: capture every libcurl transfer through
 *                               libcurl's debug callback (a span then starts
 *                               with the transfer: name resolution, connect
 *                               and TLS handshake included); auto (default):
 *                               only when the OpenSSL and socket hooks
 *                               cannot see libcurl's bytes (hooks/curl.c)
 */
#ifndef AT_CONFIG_H
#define AT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct at_config {
    int disabled;
    int debug;
    int capture_content;
    int libcurl_layer;      /* AGENTTRACE_LIBCURL=layer */
    uint64_t max_body;
    size_t ring_size;
    int output_in_env;      /* AGENTTRACE_OUTPUT already names `output` */
    /* The span file's absolute path: output_short, or for a longer one a
     * buffer among the large tables.  Every process writes it at start:
     * kept short, it shares the page the loader writes anyway with the
     * rest of the start's small state (preload/layout.h). */
    const char *output;
    char agent_name[256];   /* "" when not set */
    char output_short[512];
} at_config;

extern at_config at_cfg;

/* at_config_load: fill at_cfg from the environment (one pass over it).
 * The constructor exports the absolute output path unless output_in_env.
 * Never fails: a bad value falls back to its default (with a diagnostic
 * when debugging). */
void at_config_load(void);

/* at_config_env: the value at_config_load found for a variable that
 * identity.c reads at start-up, AT_ENV_CONTEXT (AGENTTRACE_CONTEXT),
 * AT_ENV_TRACEPARENT (AGENTTRACE_TRACEPARENT) or AT_ENV_W3C_TRACEPARENT
 * (TRACEPARENT): what getenv() returned then, NULL when unset.  It points
 * into the environment, so it is for the constructor only. */
enum { AT_ENV_CONTEXT, AT_ENV_TRACEPARENT, AT_ENV_W3C_TRACEPARENT };
const char *at_config_env(int which);

/* at_config_export_context: put `entry` ("AGENTTRACE_CONTEXT=...", a
 * buffer that lives as long as the process) in the environment, as
 * putenv() would.  Constructor, after at_config_load and before anything
 * changes the environment (it uses where the scan found the variable). */
void at_config_export_context(char *entry);

/* at_parse_size: "8388608", "64k", "8m", "1g" -> bytes; -1 when invalid. */
int64_t at_parse_size(const char *s);

#endif
