/* span.c - span lines (see span.h).  Sink thread, or the exiting thread. */
#include "span.h"
#include "ids.h"
#include "jw.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SDK_VERSION "0.1.0"

/* Copy at most cap-1 bytes of s, NUL-terminated. */
static void copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static const char *base_name(const char *s)
{
    const char *slash = strrchr(s, '/');

    return slash ? slash + 1 : s;
}

/* Interpreters whose service is better named by the script they run. */
static int is_interpreter(const char *exe)
{
    static const char *const names[] = {"python", "node", "ruby", "perl",
                                        "sh", "bash", "dash", "zsh",
                                        "deno", "bun", "php", "java", NULL};
    int i;

    for (i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);

        if (!strncmp(exe, names[i], n) &&
            (exe[n] == '\0' || (exe[n] >= '0' && exe[n] <= '9') ||
             exe[n] == '.'))
            return 1;
    }
    return 0;
}

/* Credentials in a command line: header arguments such as
 * "Authorization: Bearer sk-..." (curl -H), "--api-key X" options, secret
 * query parameters, bearer tokens and sk- keys.  The scrubbed text is
 * written to a bounded output; the argument itself is never modified. */
static const char *const secret_headers[] = {
    "authorization:", "proxy-authorization:", "x-api-key:", "api-key:",
    "x-goog-api-key:", "cookie:", "set-cookie:", NULL};
static const char *const secret_options[] = {
    "--api-key", "--api_key", "--apikey", "--token", "--password",
    "--secret", "--auth-token", "--oauth2-bearer", NULL};
/* curl's and wget's "-u user:password" */
static const char *const user_options[] = {"-u", "--user", "--password",
                                           "--http-password", NULL};
static const char *const secret_params[] = {
    "key=", "api_key=", "apikey=", "api-key=", "token=", "access_token=",
    "password=", "secret=", "sig=", "signature=", NULL};
static const char key_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                "OPQRSTUVWXYZ0123456789_-";

typedef struct scrub_out {
    char *p;
    size_t len, cap;   /* cap counts the terminating NUL */
} scrub_out;

static void put(scrub_out *o, const char *s, size_t n)
{
    if (o->len + 1 >= o->cap)
        return;
    if (n > o->cap - 1 - o->len)
        n = o->cap - 1 - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static int option_match(const char *arg, const char *const *opts,
                        size_t *n)
{
    int k;

    for (k = 0; opts[k]; k++) {
        *n = strlen(opts[k]);
        if (!strncmp(arg, opts[k], *n) &&
            (arg[*n] == '\0' || arg[*n] == '='))
            return 1;
    }
    return 0;
}

/* Append `arg` scrubbed to o.  Returns 1 when the next argument is the
 * value of a secret option. */
static int scrub_arg(scrub_out *o, const char *arg, int secret_value,
                     int is_curl)
{
    size_t i, n, run = 0;
    int k;

    if (secret_value) {
        put(o, "REDACTED", 8);
        return 0;
    }
    if (option_match(arg, secret_options, &n) ||
        (is_curl && option_match(arg, user_options, &n))) {
        if (arg[n] == '\0') {
            put(o, arg, n);
            return 1;         /* the value is the next argument */
        }
        put(o, arg, n + 1);
        put(o, "REDACTED", 8);
        return 0;
    }
    for (k = 0; secret_headers[k]; k++) {
        n = strlen(secret_headers[k]);
        if (!strncasecmp(arg, secret_headers[k], n)) {
            put(o, arg, n);
            put(o, " REDACTED", 9);
            return 0;
        }
    }
    for (i = 0; arg[i];) {
        size_t skip = 0;

        /* secret query parameters inside URLs */
        if (i == 0 || arg[i - 1] == '?' || arg[i - 1] == '&') {
            for (k = 0; secret_params[k]; k++) {
                n = strlen(secret_params[k]);
                if (!strncasecmp(arg + i, secret_params[k], n)) {
                    skip = n + strcspn(arg + i + n, "&# ");
                    put(o, arg + i - run, run + n);
                    put(o, "REDACTED", 8);
                    break;
                }
            }
        }
        /* "Bearer <token>" */
        if (!skip && !strncasecmp(arg + i, "bearer ", 7) && arg[i + 7]) {
            put(o, arg + i - run, run + 7);
            put(o, "REDACTED", 8);
            return 0;
        }
        /* OpenAI/Anthropic-style keys: sk-<at least 8 key characters> */
        if (!skip && !strncmp(arg + i, "sk-", 3) &&
            (i == 0 || strchr(" =\"':", arg[i - 1])) &&
            strspn(arg + i + 3, key_chars) >= 8) {
            skip = 3 + strspn(arg + i + 3, key_chars);
            put(o, arg + i - run, run);
            put(o, "REDACTED", 8);
        }
        if (skip) {
            i += skip;
            run = 0;
        } else {
            i++;
            run++;
        }
    }
    put(o, arg + i - run, run);
    return 0;
}

void at_proc_describe(at_proc *p)
{
    char raw[4096];
    ssize_t n = 0, r;
    int fd;
    size_t i, argc = 0;
    const char *argv[64];

    if (p->described)
        return;
    p->described = 1;
    fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (n < (ssize_t)sizeof(raw) - 1 &&
           (r = read(fd, raw + n, sizeof(raw) - 1 - (size_t)n)) > 0)
        n += r;
    close(fd);
    if (n <= 0)
        return;
    raw[n] = '\0';
    if (raw[n - 1] == '\0')
        n--;
    /* split, scrub credentials, join with spaces */
    argv[argc++] = raw;
    for (i = 0; i < (size_t)n && argc < 64; i++)
        if (raw[i] == '\0')
            argv[argc++] = raw + i + 1;
    {
        scrub_out o = {p->cmdline, 0, sizeof(p->cmdline)};
        int after = 0, is_curl = !strcmp(base_name(argv[0]), "curl") ||
                                 !strcmp(base_name(argv[0]), "wget");
        size_t k;

        p->cmdline[0] = '\0';
        for (k = 0; k < argc; k++) {
            if (k)
                put(&o, " ", 1);
            after = scrub_arg(&o, argv[k], after, is_curl);
        }
    }
    copy_str(p->exe, sizeof(p->exe), base_name(argv[0]));
    copy_str(p->service, sizeof(p->service), p->exe);
    if (is_interpreter(p->exe)) {
        for (i = 1; i < argc; i++) {
            if (argv[i][0] == '-') {
                /* "-c code" / "-m module": the module names the service */
                if (!strcmp(argv[i], "-m") && i + 1 < argc) {
                    copy_str(p->service, sizeof(p->service), argv[i + 1]);
                    break;
                }
                /* inline code: the interpreter names the service */
                if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "-e") ||
                    !strcmp(argv[i], "--eval") || !strcmp(argv[i], "-p") ||
                    !strcmp(argv[i], "--print"))
                    break;
                continue;
            }
            copy_str(p->service, sizeof(p->service), base_name(argv[i]));
            break;
        }
    }
}

uint64_t at_proc_wall(const at_proc *p, uint64_t mono)
{
    if (mono >= p->start_mono_ns)
        return p->start_wall_ns + (mono - p->start_mono_ns);
    return p->start_wall_ns - (p->start_mono_ns - mono);
}

static void resource(at_buf *b, at_proc *p)
{
    at_proc_describe(p);
    at_jw_key(b, "resource", 0);
    at_jw_raw(b, "{");
    at_jw_key(b, "service.name", 1);
    at_jw_cstr(b, p->service);
    at_jw_key(b, "process.pid", 0);
    at_jw_i64(b, p->pid);
    at_jw_key(b, "process.parent_pid", 0);
    at_jw_i64(b, p->ppid);
    at_jw_key(b, "process.executable.name", 0);
    at_jw_cstr(b, p->exe);
    at_jw_key(b, "process.command_line", 0);
    at_jw_cstr(b, p->cmdline);
    at_jw_key(b, "telemetry.sdk.name", 0);
    at_jw_cstr(b, "agenttrace");
    at_jw_key(b, "telemetry.sdk.language", 0);
    at_jw_cstr(b, "c");
    at_jw_key(b, "telemetry.sdk.version", 0);
    at_jw_cstr(b, SDK_VERSION);
    at_jw_raw(b, "}");
}

static void head(at_buf *b, at_proc *p, uint64_t span_id, uint64_t parent,
                 const char *name, int client, uint64_t start, uint64_t end)
{
    char hex[33];

    at_jw_raw(b, "{");
    at_jw_key(b, "trace_id", 1);
    at_hex(hex, p->trace_id, 16);
    at_jw_cstr(b, hex);
    at_jw_key(b, "span_id", 0);
    at_hex64(hex, span_id);
    at_jw_cstr(b, hex);
    if (parent) {
        at_jw_key(b, "parent_span_id", 0);
        at_hex64(hex, parent);
        at_jw_cstr(b, hex);
    }
    at_jw_key(b, "name", 0);
    at_jw_cstr(b, name);
    at_jw_key(b, "kind", 0);
    at_jw_cstr(b, client ? "client" : "internal");
    if (end < start)
        end = start;
    at_jw_key(b, "start_time_unix_nano", 0);
    at_jw_u64(b, at_proc_wall(p, start));
    at_jw_key(b, "end_time_unix_nano", 0);
    at_jw_u64(b, at_proc_wall(p, end));
}

static void status(at_buf *b, int st, const char *msg)
{
    at_jw_key(b, "status", 0);
    at_jw_raw(b, "{");
    at_jw_key(b, "code", 1);
    at_jw_cstr(b, st == AT_STATUS_OK ? "ok"
                  : st == AT_STATUS_ERROR ? "error" : "unset");
    if (st == AT_STATUS_ERROR && msg && *msg) {
        at_jw_key(b, "message", 0);
        at_jw_cstr(b, msg);
    }
    at_jw_raw(b, "}");
}

int at_span_line(at_buf *out, const at_proc *cp, const at_span *s)
{
    at_proc *p = (at_proc *)cp;  /* describe() caches into it */
    size_t mark = out->len;
    int was_truncated = out->truncated;
    char *attrs = NULL;

    if (s->attrs) {
        attrs = json_dumps(s->attrs, JSON_COMPACT);
        if (attrs == NULL)
            return -1;
    }
    head(out, p, s->span_id, s->parent_id, s->name, s->client, s->start_mono,
         s->end_mono);
    status(out, s->status, s->status_message);
    resource(out, p);
    at_jw_key(out, "attributes", 0);
    at_jw_raw(out, attrs ? attrs : "{}");
    at_jw_key(out, "events", 0);
    at_jw_raw(out, "[]}\n");
    free(attrs);
    if (out->truncated && !was_truncated) {
        out->len = mark;     /* roll the partial line back */
        out->truncated = 0;
        if (out->p)
            out->p[mark] = '\0';
        return -1;
    }
    return 0;
}

void at_span_process_line(at_buf *b, at_proc *p, const char *agent_name,
                          int agent, uint64_t end_mono, int exit_code)
{
    char name[600];  /* the span name, then the status message at +512 */
    const char *aname;

    at_proc_describe(p);
    aname = agent_name && *agent_name ? agent_name : p->service;
    if (agent)
        snprintf(name, 512, "invoke_agent %s", aname);
    else
        snprintf(name, 512, "process %s", p->exe);
    head(b, p, p->span_id, p->parent_span_id, name, 0, p->start_mono_ns,
         end_mono);
    if (exit_code == 0) {
        status(b, AT_STATUS_OK, NULL);
    } else if (exit_code > 0) {
        snprintf(name + 512, 64, "exit code %d", exit_code);
        status(b, AT_STATUS_ERROR, name + 512);
    } else {
        status(b, AT_STATUS_UNSET, NULL);
    }
    resource(b, p);
    at_jw_key(b, "attributes", 0);
    at_jw_raw(b, "{");
    at_jw_key(b, "gen_ai.operation.name", 1);
    at_jw_cstr(b, agent ? "invoke_agent" : "process");
    if (agent) {
        at_jw_key(b, "gen_ai.agent.name", 0);
        at_jw_cstr(b, aname);
    }
    at_jw_key(b, "process.pid", 0);
    at_jw_i64(b, p->pid);
    at_jw_key(b, "process.executable.name", 0);
    at_jw_cstr(b, p->exe);
    at_jw_key(b, "process.command_line", 0);
    at_jw_cstr(b, p->cmdline);
    if (exit_code >= 0) {
        at_jw_key(b, "process.exit_code", 0);
        at_jw_i64(b, exit_code);
    }
    at_jw_raw(b, "}");
    at_jw_key(b, "events", 0);
    at_jw_raw(b, "[]}\n");
}
