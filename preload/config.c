/* config.c - read AGENTTRACE_* once (see config.h).  Runs in the library
 * constructor, on the thread that loads the library. */
#include "config.h"
#include "log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

at_config at_cfg;

int64_t at_parse_size(const char *s)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k': case 'K': mul = 1024; end++; break;
    case 'm': case 'M': mul = 1024 * 1024; end++; break;
    case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end != '\0' || v > (uint64_t)INT64_MAX / mul)
        return -1;
    return (int64_t)(v * mul);
}

static int flag(const char *name, int dflt)
{
    const char *v = getenv(name);

    if (v == NULL || *v == '\0')
        return dflt;
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off"))
        return 0;
    return 1;
}

static void make_output_path(void)
{
    const char *v = getenv("AGENTTRACE_OUTPUT");
    char cwd[PATH_MAX];
    size_t n;

    if (v == NULL || *v == '\0')
        v = "agenttrace.jsonl";
    if (v[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL) {
        n = strlen(v);
        if (n >= sizeof(at_cfg.output)) {
            at_cfg.output[0] = '\0';   /* refused, as a relative one is */
            return;
        }
        memcpy(at_cfg.output, v, n);
        at_cfg.output[n] = '\0';
    } else {
        size_t c = strlen(cwd);

        if (c + 1 + strlen(v) >= sizeof(at_cfg.output)) {
            at_cfg.output[0] = '\0';
            return;
        }
        memcpy(at_cfg.output, cwd, c);
        at_cfg.output[c] = '/';
        strcpy(at_cfg.output + c + 1, v);
    }
}

void at_config_load(void)
{
    const char *v;
    int64_t n;

    memset(&at_cfg, 0, sizeof(at_cfg));
    at_cfg.debug = flag("AGENTTRACE_DEBUG", 0);
    at_log_enabled = at_cfg.debug;
    at_cfg.disabled = flag("AGENTTRACE_DISABLE", 0);
    at_cfg.capture_content = flag("AGENTTRACE_CAPTURE_CONTENT", 1);
    at_cfg.max_body = 8u << 20;
    at_cfg.ring_size = 4u << 20;
    v = getenv("AGENTTRACE_MAX_BODY");
    if (v && *v) {
        n = at_parse_size(v);
        if (n > 0)
            at_cfg.max_body = (uint64_t)n;
        else
            at_log("AGENTTRACE_MAX_BODY=%s is not a size; using %llu", v,
                   (unsigned long long)at_cfg.max_body);
    }
    v = getenv("AGENTTRACE_RING_SIZE");
    if (v && *v) {
        n = at_parse_size(v);
        if (n >= 65536 && n <= (1ll << 30))
            at_cfg.ring_size = (size_t)n;
        else
            at_log("AGENTTRACE_RING_SIZE=%s out of range [64k, 1g]", v);
    }
    v = getenv("AGENTTRACE_AGENT_NAME");
    if (v && *v) {
        strncpy(at_cfg.agent_name, v, sizeof(at_cfg.agent_name) - 1);
    }
    make_output_path();
    if (at_cfg.output[0] == '\0') {
        at_log("output path too long; tracing disabled");
        at_cfg.disabled = 1;
    }
}
