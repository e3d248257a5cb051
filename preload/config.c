/* config.c - read AGENTTRACE_* once (see config.h).  Runs in the library
 * constructor, on the thread that loads the library.
 *
 * Every process the shim is preloaded into pays for this, model calls or
 * not, so it is one pass over the environment for all the variables the
 * start-up reads, and no stdio. */
#include "config.h"
#include "layout.h"
#include "log.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

at_config at_cfg;

/* The variables, by their name after "AGENTTRACE_" (TRACEPARENT has none);
 * the order of the ENV_* indexes and of AT_ENV_* (config.h). */
enum {
    ENV_CONTEXT = AT_ENV_CONTEXT,
    ENV_TRACEPARENT = AT_ENV_TRACEPARENT,
    ENV_W3C_TRACEPARENT = AT_ENV_W3C_TRACEPARENT,
    ENV_OUTPUT,
    ENV_DISABLE,
    ENV_DEBUG,
    ENV_CAPTURE_CONTENT,
    ENV_MAX_BODY,
    ENV_RING_SIZE,
    ENV_AGENT_NAME,
    ENV_LIBCURL,
    ENV_COUNT
};
static const char env_suffix[ENV_COUNT][16] = {
    "CONTEXT", "TRACEPARENT", "", "OUTPUT", "DISABLE", "DEBUG",
    "CAPTURE_CONTENT", "MAX_BODY", "RING_SIZE", "AGENT_NAME",
    "LIBCURL"};
static const char *env_val[ENV_COUNT];
static char **ctx_slot;     /* where AGENTTRACE_CONTEXT's value was found */
static size_t env_count;    /* entries in the environment */

/* If `e` ("NAME=value") is `name`, its value, else NULL. */
static const char *env_match(const char *e, const char *name)
{
    while (*name && *e == *name) {
        e++;
        name++;
    }
    return *name == '\0' && *e == '=' ? e + 1 : NULL;
}

/* Fill env_val in one pass; the first definition of a name wins, as with
 * getenv(). */
static void scan_env(void)
{
    char **ep;
    int k;

    for (k = 0; k < ENV_COUNT; k++)
        env_val[k] = NULL;
    ctx_slot = NULL;
    env_count = 0;
    if (environ == NULL)
        return;
    for (ep = environ; *ep; ep++) {
        const char *e = *ep, *v;

        if (e[0] == 'A') {
            for (k = 1; k < 11 && e[k] == "AGENTTRACE_"[k]; k++)
                ;
            if (k < 11)
                continue;
            for (k = 0; k < ENV_COUNT; k++)
                if (env_suffix[k][0] && env_val[k] == NULL &&
                    (v = env_match(e + 11, env_suffix[k])) != NULL) {
                    env_val[k] = v;
                    if (k == ENV_CONTEXT)
                        ctx_slot = ep;
                    break;
                }
        } else if (e[0] == 'T' && env_val[ENV_W3C_TRACEPARENT] == NULL) {
            env_val[ENV_W3C_TRACEPARENT] = env_match(e, "TRACEPARENT");
        }
    }
    env_count = (size_t)(ep - environ);
}

/* What putenv() would do, without its libc page and binding for a process
 * that never needs them: the inherited AGENTTRACE_CONTEXT's slot takes
 * `entry` (a traced child, the common case), else the environment grows
 * into an array of this library's.  glibc's setenv() and putenv() copy an
 * environment they did not allocate before changing its size, and free
 * only their own, so the host can go on changing it as it likes. */
void at_config_export_context(char *entry)
{
    AT_LARGE_BSS static char *grown[128]; /* a root process's only */
    size_t i;

    if (ctx_slot != NULL) {
        *ctx_slot = entry;
        return;
    }
    if (environ == NULL || env_count + 2 > sizeof(grown) / sizeof(grown[0])) {
        int saved = errno;

        putenv(entry);
        errno = saved;
        return;
    }
    for (i = 0; i < env_count; i++)
        grown[i] = environ[i];
    grown[env_count] = entry;
    grown[env_count + 1] = NULL;
    environ = grown;
}

const char *at_config_env(int which)
{
    return which >= 0 && which < ENV_COUNT ? env_val[which] : NULL;
}

int64_t at_parse_size(const char *s)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;
    int saved;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    saved = errno;      /* ERANGE: refused below; the host's is kept */
    v = strtoull(s, &end, 10);
    errno = saved;
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

/* s equals `lower` (lower case), ASCII letters in any case */
static int eq_nocase(const char *s, const char *lower)
{
    for (; *lower; s++, lower++) {
        char c = *s;

        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != *lower)
            return 0;
    }
    return *s == '\0';
}

static int flag(int which, int dflt)
{
    const char *v = env_val[which];

    if (v == NULL || *v == '\0')
        return dflt;
    if ((v[0] == '0' && v[1] == '\0') || eq_nocase(v, "false") ||
        eq_nocase(v, "no") || eq_nocase(v, "off"))
        return 0;
    return 1;
}

/* the path as given when absolute, else joined to the working directory;
 * "" when longer than PATH_MAX (refused) */
static void make_output_path(void)
{
    AT_LARGE_BSS static char output_long[PATH_MAX];
    const char *v = env_val[ENV_OUTPUT];
    char cwd[PATH_MAX];
    size_t c = 0, r, need;
    char *out;

    at_cfg.output = at_cfg.output_short;
    if (v == NULL || *v == '\0')
        v = "agenttrace.jsonl";
    if (v[0] != '/') {
        int saved = errno;

        if (getcwd(cwd, sizeof(cwd)) != NULL)
            c = at_strlen(cwd);
        errno = saved;
    }
    r = at_strlen(v);
    need = (c > 0 ? c + 1 : 0) + r + 1;    /* with '/' and the NUL */
    if (need > sizeof(output_long))
        return;                 /* output_short is "": refused */
    out = need <= sizeof(at_cfg.output_short) ? at_cfg.output_short
                                              : output_long;
    if (c > 0) {
        at_memcpy(out, cwd, c);
        out[c++] = '/';
    } else {
        /* already in the environment as it is: nothing to export */
        at_cfg.output_in_env = v == env_val[ENV_OUTPUT];
    }
    at_memcpy(out + c, v, r + 1);
    at_cfg.output = out;
}

void at_config_load(void)
{
    const char *v;
    int64_t n;
    size_t k;

    /* the defaults; the strings are emptied, not their whole arrays */
    memset(&at_cfg, 0, offsetof(at_config, agent_name));
    at_cfg.output = at_cfg.output_short;
    at_cfg.output_short[0] = '\0';
    at_cfg.agent_name[0] = '\0';
    scan_env();
    at_cfg.debug = flag(ENV_DEBUG, 0);
    at_log_enabled = at_cfg.debug;
    at_cfg.disabled = flag(ENV_DISABLE, 0);
    at_cfg.capture_content = flag(ENV_CAPTURE_CONTENT, 1);
    at_cfg.max_body = 8u << 20;
    at_cfg.ring_size = 4u << 20;
    v = env_val[ENV_MAX_BODY];
    if (v && *v) {
        n = at_parse_size(v);
        if (n > 0)
            at_cfg.max_body = (uint64_t)n;
        else
            at_log("AGENTTRACE_MAX_BODY=%s is not a size; using %llu", v,
                   (unsigned long long)at_cfg.max_body);
    }
    v = env_val[ENV_RING_SIZE];
    if (v && *v) {
        n = at_parse_size(v);
        if (n >= 65536 && n <= (1ll << 30))
            at_cfg.ring_size = (size_t)n;
        else
            at_log("AGENTTRACE_RING_SIZE=%s out of range [64k, 1g]", v);
    }
    v = env_val[ENV_AGENT_NAME];
    if (v) {
        for (k = 0; k < sizeof(at_cfg.agent_name) - 1 && v[k]; k++)
            at_cfg.agent_name[k] = v[k];
        at_cfg.agent_name[k] = '\0';
    }
    v = env_val[ENV_LIBCURL];
    if (v && *v) {
        if (eq_nocase(v, "layer"))
            at_cfg.libcurl_layer = 1;
        else if (!eq_nocase(v, "auto"))
            at_log("AGENTTRACE_LIBCURL=%s is neither auto nor layer; "
                   "using auto", v);
    }
    if (at_cfg.disabled)
        return;   /* no path to make: no getcwd() for a process left alone */
    make_output_path();
    if (at_cfg.output[0] == '\0') {
        at_log("output path too long; tracing disabled");
        at_cfg.disabled = 1;
    }
}
