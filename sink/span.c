/* span.c - span lines (see span.h).  Sink thread, or the exiting thread.
 *
 * The exiting thread of a process that never started the sink writes its
 * process span from here: that path calls no stdio, allocates nothing, and
 * calls few distinct libc functions (each costs a lazy binding), so string
 * work is done by the small helpers below. */
#include "span.h"
#include "ids.h"
#include "jw.h"
#include "decode/attrs.h"
#include "preload/layout.h"
#include "preload/sys.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SDK_VERSION "0.1.0"

/* ---- small string helpers (no libc: preload/sys.h) ---------------------- */

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* s starts with the n bytes of `pre` (which holds no NUL) */
static int has_prefix(const char *s, const char *pre, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != pre[i])
            return 0;
    return 1;
}

/* the same, ASCII letters in any case; `pre` is lower case */
static int has_prefix_nocase(const char *s, const char *pre, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)pre[i])
            return 0;
    }
    return 1;
}

/* at_jw_cstr for the strings written once per process (its names and
 * command line): without libc's strlen, a binding of its own at a
 * process's exit (preload/sys.h) */
static void proc_cstr(at_buf *b, const char *s)
{
    at_jw_str(b, s, at_strlen(s));
}

/* Copy at most cap-1 bytes of s, NUL-terminated. */
static void copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = at_strlen(s);

    if (n >= cap)
        n = cap - 1;
    at_memcpy(dst, s, n);
    dst[n] = '\0';
}

static const char *base_name(const char *s)
{
    const char *base = s;

    for (; *s; s++)
        if (*s == '/')
            base = s + 1;
    return base;
}

/* Interpreters whose service is better named by the script they run. */
static int is_interpreter(const char *exe)
{
    static const struct {
        char s[8];
        size_t n;
    } names[] = {{"python", 6}, {"node", 4}, {"ruby", 4}, {"perl", 4},
                 {"sh", 2}, {"bash", 4}, {"dash", 4}, {"zsh", 3},
                 {"deno", 4}, {"bun", 3}, {"php", 3}, {"java", 4},
                 {"", 0}};
    int i;

    for (i = 0; names[i].n; i++) {
        size_t n = names[i].n;

        if (has_prefix(exe, names[i].s, n) &&
            (exe[n] == '\0' || (exe[n] >= '0' && exe[n] <= '9') ||
             exe[n] == '.'))
            return 1;
    }
    return 0;
}

/* Credentials in a command line: header arguments such as
 * "Authorization: Bearer sk-..." (curl -H), "--api-key X" options, secret
 * query parameters, bearer tokens and sk- keys.  The scrubbed text is
 * written to a bounded output; the argument itself is never modified.
 * The words are arrays, not pointers: tables of pointers would be
 * relocated, page by page, in every process that loads the shim. */
typedef struct word {
    char s[24];
    size_t n;                  /* strlen(s); 0 ends a table */
} word;
#define W(lit) {"" lit, sizeof(lit) - 1}

static const word secret_headers[] = {
    W("authorization:"), W("proxy-authorization:"), W("x-api-key:"),
    W("api-key:"), W("x-goog-api-key:"), W("cookie:"), W("set-cookie:"),
    {"", 0}};
static const word secret_options[] = {
    W("--api-key"), W("--api_key"), W("--apikey"), W("--token"),
    W("--password"), W("--secret"), W("--auth-token"), W("--oauth2-bearer"),
    {"", 0}};
/* curl's and wget's "-u user:password" */
static const word user_options[] = {W("-u"), W("--user"), W("--password"),
                                    W("--http-password"), {"", 0}};
/* The same names given a value inside a script's text or an argument
 * ('cookie': 'v', "Authorization": "Basic v", api_key="v", Cookie: v),
 * and the SDKs' keyword for a key. */
static const word secret_names[] = {
    W("authorization"), W("proxy-authorization"), W("x-api-key"),
    W("api-key"), W("api_key"), W("apikey"), W("x-goog-api-key"),
    W("cookie"), W("set-cookie"), {"", 0}};
static const word secret_params[] = {
    W("key="), W("api_key="), W("apikey="), W("api-key="), W("token="),
    W("access_token="), W("password="), W("secret="), W("sig="),
    W("signature="), {"", 0}};

/* a key character: a letter, a digit, '_' or '-' */
static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* How many key characters s starts with. */
static size_t key_run(const char *s)
{
    size_t n = 0;

    while (is_key_char(s[n]))
        n++;
    return n;
}

/* How many bytes s starts with that are none of '&', '#', ' '. */
static size_t param_run(const char *s)
{
    size_t n = 0;

    while (s[n] && s[n] != '&' && s[n] != '#' && s[n] != ' ')
        n++;
    return n;
}

/* ends_value: whether c ends a value opened by quote q (0: none) after
 * separator sep (named_value) */
static int ends_value(char c, char q, char sep)
{
    if (q)
        return c == q;
    return c == '\'' || c == '"' || c == '\n' || c == ',' || c == '}' ||
           (sep == '=' && (c == ' ' || c == ';' || c == ')'));
}

/* named_value: when s starts with a secret name (a whole word) given a
 * value, its quotes, ':' or '=' and spaces after it, where the value
 * starts (> 0) and in *vlen its length: up to its closing quote when it
 * is quoted, else up to a quote, a line's end, ',' or '}', and after '='
 * (a shell's assignment, a keyword argument) a space, ';' or ')' too.  0
 * when not, or when the value is empty. */
static size_t named_value(const char *s, size_t *vlen)
{
    char c = (char)(s[0] | 0x20), q = 0, sep;
    size_t k, j, n;

    /* the names' first letters: most positions end here */
    if (c != 'a' && c != 'p' && c != 'x' && c != 'c' && c != 's')
        return 0;
    for (k = 0; secret_names[k].n; k++) {
        n = secret_names[k].n;
        if (!has_prefix_nocase(s, secret_names[k].s, n) || is_key_char(s[n]))
            continue;
        j = n;
        if (s[j] == '\'' || s[j] == '"')
            j++;
        while (s[j] == ' ')
            j++;
        sep = s[j];
        if (sep != ':' && sep != '=')
            continue;
        j++;
        while (s[j] == ' ')
            j++;
        if (s[j] == '\'' || s[j] == '"')
            q = s[j++];
        for (n = 0; s[j + n] && !ends_value(s[j + n], q, sep); n++)
            ;
        if (n == 0)
            return 0;
        *vlen = n;
        return j;
    }
    return 0;
}

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
    at_memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static int option_match(const char *arg, const word *opts, size_t *n)
{
    int k;

    for (k = 0; opts[k].n; k++) {
        *n = opts[k].n;
        if (has_prefix(arg, opts[k].s, *n) &&
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
    for (k = 0; secret_headers[k].n; k++) {
        n = secret_headers[k].n;
        if (has_prefix_nocase(arg, secret_headers[k].s, n)) {
            put(o, arg, n);
            put(o, " REDACTED", 9);
            return 0;
        }
    }
    for (i = 0; arg[i];) {
        size_t skip = 0;

        /* secret query parameters inside URLs */
        if (i == 0 || arg[i - 1] == '?' || arg[i - 1] == '&') {
            for (k = 0; secret_params[k].n; k++) {
                n = secret_params[k].n;
                if (has_prefix_nocase(arg + i, secret_params[k].s, n)) {
                    skip = n + param_run(arg + i + n);
                    put(o, arg + i - run, run + n);
                    put(o, "REDACTED", 8);
                    break;
                }
            }
        }
        /* a secret name given a value in a script's text */
        if (!skip && (i == 0 || !is_key_char(arg[i - 1]))) {
            size_t vl, v = named_value(arg + i, &vl);

            if (v) {
                put(o, arg + i - run, run + v);
                put(o, "REDACTED", 8);
                skip = v + vl;
            }
        }
        /* "Bearer <token>" */
        if (!skip && has_prefix_nocase(arg + i, "bearer ", 7) &&
            arg[i + 7]) {
            put(o, arg + i - run, run + 7);
            put(o, "REDACTED", 8);
            return 0;
        }
        /* API keys standing alone (a script's text, an argument):
         * OpenAI/Anthropic-style sk-<at least 8 key characters>, and
         * Google's AIza<35> */
        if (!skip &&
            (i == 0 || arg[i - 1] == ' ' || arg[i - 1] == '=' ||
             arg[i - 1] == '"' || arg[i - 1] == '\'' ||
             arg[i - 1] == ':')) {
            size_t pre = has_prefix(arg + i, "sk-", 3)    ? 3
                         : has_prefix(arg + i, "AIza", 4) ? 4
                                                          : 0;
            size_t kl = pre ? key_run(arg + i + pre) : 0;

            if ((pre == 3 && kl >= 8) || (pre == 4 && kl >= 35)) {
                skip = pre + kl;
                put(o, arg + i - run, run);
                put(o, "REDACTED", 8);
            }
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

static void describe_args(at_proc *p, size_t argc, const char *const *argv);

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
    p->cache_state = 0;
    /* the kernel directly: no stdio, no libc binding, and not this
     * library's own read/close hooks (preload/sys.h) */
    fd = (int)at_sys3(SYS_openat, AT_FDCWD, "/proc/self/cmdline",
                      O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (n < (ssize_t)sizeof(raw) - 1 &&
           (r = at_sys3(SYS_read, fd, raw + n,
                        sizeof(raw) - 1 - (size_t)n)) > 0)
        n += r;
    at_sys1(SYS_close, fd);
    if (n <= 0)
        return;
    raw[n] = '\0';
    if (raw[n - 1] == '\0')
        n--;
    argv[argc++] = raw;
    for (i = 0; i < (size_t)n && argc < 64; i++)
        if (raw[i] == '\0')
            argv[argc++] = raw + i + 1;
    describe_args(p, argc, argv);
}

void at_proc_describe_args(at_proc *p, int argc, char *const *argv)
{
    size_t n;

    if (p->described)
        return;
    if (argc <= 0 || argv == NULL || argv[0] == NULL) {
        at_proc_describe(p);
        return;
    }
    /* at most 64 arguments, as from /proc */
    for (n = 0; n < 64 && n < (size_t)argc && argv[n] != NULL; n++)
        ;
    p->described = 1;
    p->cache_state = 0;
    describe_args(p, n, (const char *const *)argv);
}

/* split, scrub credentials, join with spaces */
static void describe_args(at_proc *p, size_t argc, const char *const *argv)
{
    scrub_out o = {p->cmdline, 0, sizeof(p->cmdline)};
    const char *base = base_name(argv[0]);
    int after = 0, is_curl = str_eq(base, "curl") || str_eq(base, "wget");
    size_t i;

    p->cmdline[0] = '\0';
    for (i = 0; i < argc; i++) {
        if (i)
            put(&o, " ", 1);
        after = scrub_arg(&o, argv[i], after, is_curl);
    }
    copy_str(p->exe, sizeof(p->exe), base);
    copy_str(p->service, sizeof(p->service), p->exe);
    if (is_interpreter(p->exe)) {
        /* interpreters' options whose value is the next argument */
        static const char takes_value[][24] = {
            "-W", "-X", "--check-hash-based-pycs", "-r", "--require",
            "--import", "--loader", "--experimental-loader", "-I", "-o",
            "-O", ""};
        size_t k;

        for (i = 1; i < argc; i++) {
            if (argv[i][0] == '-') {
                for (k = 0; takes_value[k][0]; k++)
                    if (str_eq(argv[i], takes_value[k]))
                        break;
                if (takes_value[k][0]) {
                    i++; /* its value names nothing */
                    continue;
                }
                /* "-c code" / "-m module": the module names the service */
                if (str_eq(argv[i], "-m") && i + 1 < argc) {
                    copy_str(p->service, sizeof(p->service), argv[i + 1]);
                    break;
                }
                /* inline code: the interpreter names the service */
                if (str_eq(argv[i], "-c") || str_eq(argv[i], "-e") ||
                    str_eq(argv[i], "--eval") || str_eq(argv[i], "-p") ||
                    str_eq(argv[i], "--print"))
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

/* `,"resource":{...}`: what the trace knows of this process. */
static void resource(at_buf *b, at_proc *p)
{
    at_proc_describe(p);
    AT_JW_LIT(b, ",\"resource\":{\"service.name\":");
    proc_cstr(b, p->service);
    AT_JW_LIT(b, ",\"process.pid\":");
    at_jw_i64(b, p->pid);
    AT_JW_LIT(b, ",\"process.parent_pid\":");
    at_jw_i64(b, p->ppid);
    AT_JW_LIT(b, ",\"process.executable.name\":");
    proc_cstr(b, p->exe);
    AT_JW_LIT(b, ",\"process.command_line\":");
    proc_cstr(b, p->cmdline);
    AT_JW_LIT(b, ",\"telemetry.sdk.name\":\"agenttrace\""
                 ",\"telemetry.sdk.language\":\"c\""
                 ",\"telemetry.sdk.version\":\"" SDK_VERSION "\"}");
}

/* Make the constant pieces of p's lines, once per process: they stay
 * right while the trace, pid and ppid stay (a forked child has its own),
 * and at_proc_describe starts them afresh. */
static void cache(at_proc *p)
{
    at_buf tmp;

    at_proc_describe(p);
    if (p->cache_state != 0 && p->cache_pid == p->pid &&
        p->cache_ppid == p->ppid &&
        !memcmp(p->cache_trace, p->trace_id, 16))
        return;
    at_hex(p->trace_hex, p->trace_id, 16);
    at_buf_init_fixed(&tmp, p->resource, sizeof(p->resource));
    resource(&tmp, p);
    p->resource_len = tmp.len;
    p->cache_state = tmp.truncated ? 2 : 1;
    memcpy(p->cache_trace, p->trace_id, 16);
    p->cache_pid = p->pid;
    p->cache_ppid = p->ppid;
}

/* Copy string literal `lit` to w at *j. */
#define PUT(w, j, lit)                                  \
    do {                                                \
        memcpy((w) + (j), "" lit, sizeof(lit) - 1);     \
        (j) += sizeof(lit) - 1;                         \
    } while (0)

/* `{"trace_id":"...",...,"end_time_unix_nano":N`, written in place when
 * the buffer has room (the usual case), else piece by piece. */
static void head(at_buf *b, const at_proc *p, const char *trace_hex,
                 uint64_t span_id, uint64_t parent, const char *name,
                 int client, uint64_t start, uint64_t end)
{
    char *w;
    size_t j = 0;

    if (end < start)
        end = start;
    w = at_buf_reserve(b, 160);
    if (w == NULL) {
        char hex[17];

        AT_JW_LIT(b, "{\"trace_id\":\"");
        at_buf_append(b, trace_hex, 32);
        AT_JW_LIT(b, "\",\"span_id\":\"");
        at_hex64(hex, span_id);
        at_buf_append(b, hex, 16);
        if (parent) {
            AT_JW_LIT(b, "\",\"parent_span_id\":\"");
            at_hex64(hex, parent);
            at_buf_append(b, hex, 16);
        }
        AT_JW_LIT(b, "\",\"name\":");
    } else {
        PUT(w, j, "{\"trace_id\":\"");
        memcpy(w + j, trace_hex, 32);
        j += 32;
        PUT(w, j, "\",\"span_id\":\"");
        at_hex64(w + j, span_id);          /* its NUL is overwritten */
        j += 16;
        if (parent) {
            PUT(w, j, "\",\"parent_span_id\":\"");
            at_hex64(w + j, parent);
            j += 16;
        }
        PUT(w, j, "\",\"name\":");
        at_buf_commit(b, j);
    }
    proc_cstr(b, name);
    w = at_buf_reserve(b, 120);
    if (w == NULL) {
        if (client)
            AT_JW_LIT(b, ",\"kind\":\"client\"");
        else
            AT_JW_LIT(b, ",\"kind\":\"internal\"");
        AT_JW_LIT(b, ",\"start_time_unix_nano\":");
        at_jw_u64(b, at_proc_wall(p, start));
        AT_JW_LIT(b, ",\"end_time_unix_nano\":");
        at_jw_u64(b, at_proc_wall(p, end));
        return;
    }
    j = 0;
    if (client)
        PUT(w, j, ",\"kind\":\"client\"");
    else
        PUT(w, j, ",\"kind\":\"internal\"");
    PUT(w, j, ",\"start_time_unix_nano\":");
    j += at_jw_dec(w + j, at_proc_wall(p, start));
    PUT(w, j, ",\"end_time_unix_nano\":");
    j += at_jw_dec(w + j, at_proc_wall(p, end));
    at_buf_commit(b, j);
}

static void status(at_buf *b, int st, const char *msg)
{
    if (st == AT_STATUS_OK) {
        AT_JW_LIT(b, ",\"status\":{\"code\":\"ok\"}");
    } else if (st != AT_STATUS_ERROR) {
        AT_JW_LIT(b, ",\"status\":{\"code\":\"unset\"}");
    } else if (msg && *msg) {
        AT_JW_LIT(b, ",\"status\":{\"code\":\"error\",\"message\":");
        at_jw_cstr(b, msg);
        AT_JW_LIT(b, "}");
    } else {
        AT_JW_LIT(b, ",\"status\":{\"code\":\"error\"}");
    }
}

int at_span_line(at_buf *out, const at_proc *cp, const at_span *s)
{
    at_proc *p = (at_proc *)cp;  /* cache() keeps its pieces in it */
    size_t mark = out->len;
    int was_truncated = out->truncated;

    if (s->list == NULL && s->attrs && !json_is_object(s->attrs) &&
        !json_is_array(s->attrs))
        return -1;           /* json_dumps refuses a bare value too */
    cache(p);
    head(out, p, p->trace_hex, s->span_id, s->parent_id, s->name, s->client,
         s->start_mono, s->end_mono);
    status(out, s->status, s->status_message);
    if (p->cache_state == 1)
        at_buf_append(out, p->resource, p->resource_len);
    else
        resource(out, p);
    AT_JW_LIT(out, ",\"attributes\":");
    if (s->list != NULL) {
        if (at_attrs_write(out, s->list) < 0)
            goto fail;
    } else if (s->attrs == NULL)
        AT_JW_LIT(out, "{}");
    else if (at_jw_json(out, s->attrs) < 0)
        goto fail;
    AT_JW_LIT(out, ",\"events\":[]}\n");
    if (out->truncated && !was_truncated)
        goto fail;
    return 0;
fail:
    out->len = mark;         /* roll the partial line back */
    out->truncated = was_truncated;
    if (out->p)
        out->p[mark] = '\0';
    return -1;
}

/* Append at most cap - 1 - *len bytes of s to dst at *len. */
static void cat(char *dst, size_t cap, size_t *len, const char *s)
{
    size_t n = at_strlen(s);

    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    at_memcpy(dst + *len, s, n);
    *len += n;
    dst[*len] = '\0';
}

void at_span_process_line(at_buf *b, at_proc *p, const char *agent_name,
                          int agent, uint64_t end_mono, int exit_code)
{
    char name[512], trace_hex[33];
    const char *aname;
    size_t n = 0;

    at_proc_describe(p);
    aname = agent_name && *agent_name ? agent_name : p->service;
    /* "invoke_agent <name>" or "process <exe>", cut to 511 bytes */
    cat(name, sizeof(name), &n, agent ? "invoke_agent " : "process ");
    cat(name, sizeof(name), &n, agent ? aname : p->exe);
    at_hex(trace_hex, p->trace_id, 16);
    head(b, p, trace_hex, p->span_id, p->parent_span_id, name, 0,
         p->start_mono_ns, end_mono);
    if (exit_code == 0) {
        status(b, AT_STATUS_OK, NULL);
    } else if (exit_code > 0) {
        char msg[32] = "exit code ";

        msg[10 + at_jw_dec(msg + 10, (uint64_t)exit_code)] = '\0';
        status(b, AT_STATUS_ERROR, msg);
    } else {
        status(b, AT_STATUS_UNSET, NULL);
    }
    resource(b, p);
    if (agent) {
        AT_JW_LIT(b, ",\"attributes\":{\"gen_ai.operation.name\":"
                     "\"invoke_agent\",\"gen_ai.agent.name\":");
        proc_cstr(b, aname);
    } else {
        AT_JW_LIT(b, ",\"attributes\":{\"gen_ai.operation.name\":"
                     "\"process\"");
    }
    AT_JW_LIT(b, ",\"process.pid\":");
    at_jw_i64(b, p->pid);
    AT_JW_LIT(b, ",\"process.executable.name\":");
    proc_cstr(b, p->exe);
    AT_JW_LIT(b, ",\"process.command_line\":");
    proc_cstr(b, p->cmdline);
    if (exit_code >= 0) {
        AT_JW_LIT(b, ",\"process.exit_code\":");
        at_jw_i64(b, exit_code);
    }
    AT_JW_LIT(b, "},\"events\":[]}\n");
}

/* The stack first: its pages near the top are the process's own already,
 * where the 64 KiB a line may need would cost a fresh page
 * (preload/layout.h). */
int at_span_process_write(const char *path, at_proc *p,
                          const char *agent_name, int agent,
                          uint64_t end_mono, int exit_code,
                          at_writer_stats *st)
{
    AT_LARGE_BSS static char large[64 * 1024 + 1];
    char small[4096];
    at_buf b;

    at_buf_init_fixed(&b, small, sizeof(small));
    at_span_process_line(&b, p, agent_name, agent, end_mono, exit_code);
    if (b.truncated) {
        at_buf_init_fixed(&b, large, sizeof(large));
        at_span_process_line(&b, p, agent_name, agent, end_mono, exit_code);
    }
    if (b.truncated)
        return -1;
    return at_writer_write_line(path, b.p, b.len, st) == 0 ? 0 : -1;
}
