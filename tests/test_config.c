/* test_config.c - unit tests of preload/config.c (AGENTTRACE_* settings).
 *
 * Runs in the Criterion test runner (one forked worker per test, so the
 * environment each test sets up is its own).  preload/config.c belongs to
 * the shim, not to build/libatcore.a, so it is compiled into this test
 * directly by the #include below; preload/log.c (at_log) comes from the
 * archive.
 *
 * The assumptions checked:
 *   - at_parse_size takes a decimal number with an optional k, m or g
 *     (either case) and an optional b/B, and refuses everything else:
 *     empty, signs, spaces, other suffixes, and values past INT64_MAX;
 *   - at_config_load starts from the defaults each time (capture on,
 *     8 MiB bodies, 4 MiB ring, ./agenttrace.jsonl made absolute);
 *   - flags read 0/false/no/off (any case) as off, anything else as on,
 *     and empty as unset;
 *   - bad sizes fall back to the defaults, out-of-range ring sizes too;
 *   - the agent name is kept, cut to fit, always NUL-terminated;
 *   - an absolute output path taken from the environment is marked as
 *     exported already (the constructor skips setenv);
 *   - the variables identity.c reads (AGENTTRACE_CONTEXT,
 *     AGENTTRACE_TRACEPARENT, TRACEPARENT) come from the same one pass
 *     and are exactly what getenv() returns, duplicates and near-miss
 *     names included.
 */
#include "preload/config.c"     /* the code under test, see above */

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define MiB (1024ull * 1024)

static const char *const all_vars[] = {
    "AGENTTRACE_OUTPUT", "AGENTTRACE_DISABLE", "AGENTTRACE_DEBUG",
    "AGENTTRACE_CAPTURE_CONTENT", "AGENTTRACE_MAX_BODY",
    "AGENTTRACE_AGENT_NAME", "AGENTTRACE_RING_SIZE", "AGENTTRACE_LIBCURL",
    NULL};

/* clean_env: no AGENTTRACE_* variable set. */
static void clean_env(void)
{
    int i;

    for (i = 0; all_vars[i]; i++)
        unsetenv(all_vars[i]);
}

/* load_with: at_config_load with exactly one variable set (value NULL:
 * none). */
static void load_with(const char *name, const char *value)
{
    clean_env();
    if (name && value)
        cr_assert_eq(setenv(name, value, 1), 0);
    at_config_load();
}

static void cwd_path(char *out, size_t cap, const char *rel)
{
    char cwd[PATH_MAX];

    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_lt((size_t)snprintf(out, cap, "%s/%s", cwd, rel), cap);
}

/* ---- at_parse_size ------------------------------------------------------ */

struct size_case {
    const char *s;
    int64_t want;
};

static const struct size_case size_cases[] = {
    {"0", 0},
    {"1", 1},
    {"8388608", 8388608},
    {"64k", 64 * 1024},
    {"64K", 64 * 1024},
    {"64kb", 64 * 1024},
    {"64KB", 64 * 1024},
    {"8m", 8 * 1024 * 1024},
    {"8M", 8 * 1024 * 1024},
    {"8MB", 8 * 1024 * 1024},
    {"8mb", 8 * 1024 * 1024},
    {"1g", 1024ll * 1024 * 1024},
    {"1G", 1024ll * 1024 * 1024},
    {"1GB", 1024ll * 1024 * 1024},
    {"8b", 8},
    {"8B", 8},
    {"007", 7},
    {"9223372036854775807", INT64_MAX},
    {"8589934591g", 8589934591ll * 1024 * 1024 * 1024},
    {"9007199254740991k", 9007199254740991ll * 1024},
    /* refused */
    {"", -1},
    {"x", -1},
    {"k", -1},
    {"-1", -1},
    {"+1", -1},
    {" 8", -1},
    {"8 ", -1},
    {"8 k", -1},
    {"8x", -1},
    {"8kk", -1},
    {"8kbb", -1},
    {"8bk", -1},
    {"8t", -1},
    {"8KiB", -1},
    {"1.5m", -1},
    {"0x10", -1},
    {"99999999999g", -1},
    {"8589934592g", -1},
    {"9007199254740992k", -1},
    {"9223372036854775808", -1},
    {"18446744073709551615", -1},
    {"18446744073709551616", -1},
    {"99999999999999999999999999", -1},
};

/* One test walks the table (string pointers cannot be Criterion
 * parameters without cr_malloc, and a valgrind run would pay a process
 * start per case). */
Test(config, parse_size)
{
    size_t i;

    for (i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
        const struct size_case *c = &size_cases[i];
        int64_t got = at_parse_size(c->s);

        cr_expect_eq(got, c->want, "at_parse_size(\"%s\") = %lld, want %lld",
                     c->s, (long long)got, (long long)c->want);
    }
}

Test(config, parse_size_null)
{
    cr_assert_eq(at_parse_size(NULL), -1);
}

/* ---- at_config_load ----------------------------------------------------- */

Test(config, defaults)
{
    char want[PATH_MAX + 64];

    load_with(NULL, NULL);
    cr_assert_eq(at_cfg.disabled, 0);
    cr_assert_eq(at_cfg.debug, 0);
    cr_assert_eq(at_log_enabled, 0);
    cr_assert_eq(at_cfg.capture_content, 1);
    cr_assert_eq(at_cfg.max_body, 8 * MiB);
    cr_assert_eq(at_cfg.ring_size, 4 * MiB);
    cr_assert_str_eq(at_cfg.agent_name, "");
    cwd_path(want, sizeof(want), "agenttrace.jsonl");
    cr_assert_str_eq(at_cfg.output, want);
    cr_assert_eq(at_cfg.output[0], '/');
}

Test(config, output_relative_made_absolute)
{
    char want[PATH_MAX + 64];

    load_with("AGENTTRACE_OUTPUT", "traces/run1.jsonl");
    cwd_path(want, sizeof(want), "traces/run1.jsonl");
    cr_assert_str_eq(at_cfg.output, want);
    cr_assert_eq(at_cfg.disabled, 0);
    /* in another directory, relative to that one */
    cr_assert_eq(chdir("/tmp"), 0);
    load_with("AGENTTRACE_OUTPUT", "x.jsonl");
    cr_assert_str_eq(at_cfg.output, "/tmp/x.jsonl");
    /* empty is unset */
    load_with("AGENTTRACE_OUTPUT", "");
    cr_assert_str_eq(at_cfg.output, "/tmp/agenttrace.jsonl");
}

Test(config, output_absolute_kept)
{
    load_with("AGENTTRACE_OUTPUT", "/var/tmp/at/spans.jsonl");
    cr_assert_str_eq(at_cfg.output, "/var/tmp/at/spans.jsonl");
    cr_assert_eq(at_cfg.disabled, 0);
}

/* A relative path that cannot be made absolute within the 4096 bytes of
 * at_cfg.output disables tracing rather than writing somewhere else. */
Test(config, output_too_long_relative_disables)
{
    char *v = malloc(5000);

    cr_assert_not_null(v);
    memset(v, 'a', 4999);
    v[4999] = '\0';
    load_with("AGENTTRACE_OUTPUT", v);
    cr_assert_str_eq(at_cfg.output, "");
    cr_assert_eq(at_cfg.disabled, 1);
    free(v);
}

/* Regression (fixed): preload/config.c, make_output_path (config.c:55-60): an absolute
 * AGENTTRACE_OUTPUT longer than at_cfg.output (4096 bytes) is silently cut
 * to its first 4095 bytes, so spans would go to a different file than the
 * one named, while a too-long relative path disables tracing (config.c:
 * 64-66 and :108-111).  Expected: the same treatment, output "" and
 * disabled. */
Test(config, regression_output_too_long_absolute_is_cut_not_refused)
{
    char *v = malloc(5000);

    cr_assert_not_null(v);
    v[0] = '/';
    memset(v + 1, 'a', 4998);
    v[4999] = '\0';
    load_with("AGENTTRACE_OUTPUT", v);
    cr_expect_str_eq(at_cfg.output, "",
                     "a %zu-byte absolute path was cut to %zu "
                     "bytes instead of refused", strlen(v),
                     strlen(at_cfg.output));
    cr_expect_eq(at_cfg.disabled, 1);
    free(v);
}

struct flag_case {
    const char *value;
    int want;
};

static const struct flag_case flag_on_by_default[] = {
    {"0", 0}, {"false", 0}, {"FALSE", 0}, {"False", 0}, {"no", 0},
    {"NO", 0}, {"off", 0}, {"Off", 0}, {"1", 1}, {"true", 1}, {"yes", 1},
    {"on", 1}, {"", 1},
};

static const struct flag_case flag_off_by_default[] = {
    {"1", 1}, {"true", 1}, {"yes", 1}, {"on", 1}, {"2", 1}, {"0", 0},
    {"false", 0}, {"no", 0}, {"OFF", 0}, {"", 0},
};

Test(config, capture_content_flag)
{
    size_t i;

    for (i = 0; i < sizeof(flag_on_by_default) / sizeof(*flag_on_by_default);
         i++) {
        load_with("AGENTTRACE_CAPTURE_CONTENT", flag_on_by_default[i].value);
        cr_assert_eq(at_cfg.capture_content, flag_on_by_default[i].want,
                     "AGENTTRACE_CAPTURE_CONTENT=\"%s\"",
                     flag_on_by_default[i].value);
        /* the other settings are untouched */
        cr_assert_eq(at_cfg.disabled, 0);
        cr_assert_eq(at_cfg.max_body, 8 * MiB);
    }
}

Test(config, libcurl_layer)
{
    static const struct flag_case cases[] = {
        {"layer", 1}, {"LAYER", 1}, {"Layer", 1}, {"auto", 0}, {"AUTO", 0},
        {"", 0}, {"1", 0}, {"layers", 0}, {"lay", 0}, {"off", 0},
    };
    size_t i;

    load_with("AGENTTRACE_DEBUG", "0");
    cr_assert_eq(at_cfg.libcurl_layer, 0, "auto by default");
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        load_with("AGENTTRACE_LIBCURL", cases[i].value);
        cr_assert_eq(at_cfg.libcurl_layer, cases[i].want,
                     "AGENTTRACE_LIBCURL=\"%s\"", cases[i].value);
        cr_assert_eq(at_cfg.capture_content, 1);
        cr_assert_eq(at_cfg.disabled, 0);
    }
}

Test(config, disable_flag)
{
    size_t i;

    for (i = 0;
         i < sizeof(flag_off_by_default) / sizeof(*flag_off_by_default);
         i++) {
        load_with("AGENTTRACE_DISABLE", flag_off_by_default[i].value);
        cr_assert_eq(at_cfg.disabled, flag_off_by_default[i].want,
                     "AGENTTRACE_DISABLE=\"%s\"",
                     flag_off_by_default[i].value);
        cr_assert_eq(at_cfg.capture_content, 1);
    }
}

Test(config, debug_flag_enables_the_log)
{
    size_t i;

    for (i = 0;
         i < sizeof(flag_off_by_default) / sizeof(*flag_off_by_default);
         i++) {
        load_with("AGENTTRACE_DEBUG", flag_off_by_default[i].value);
        cr_assert_eq(at_cfg.debug, flag_off_by_default[i].want,
                     "AGENTTRACE_DEBUG=\"%s\"", flag_off_by_default[i].value);
        cr_assert_eq(at_log_enabled, at_cfg.debug);
    }
}

Test(config, max_body)
{
    static const struct {
        const char *v;
        uint64_t want;
    } c[] = {
        {"64k", 64 * 1024},  {"1m", MiB},        {"8MB", 8 * MiB},
        {"1g", 1024 * MiB},  {"123", 123},       {"1", 1},
        /* refused: the default */
        {"x", 8 * MiB},      {"0", 8 * MiB},     {"-5", 8 * MiB},
        {"12q", 8 * MiB},    {"99999999999g", 8 * MiB},
        {"", 8 * MiB},
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        load_with("AGENTTRACE_MAX_BODY", c[i].v);
        cr_assert_eq(at_cfg.max_body, c[i].want,
                     "AGENTTRACE_MAX_BODY=\"%s\": %llu", c[i].v,
                     (unsigned long long)at_cfg.max_body);
    }
}

/* A bad value with AGENTTRACE_DEBUG=1 says so on stderr, prefixed. */
Test(config, bad_max_body_logged_when_debugging, .init = cr_redirect_stderr)
{
    clean_env();
    setenv("AGENTTRACE_DEBUG", "1", 1);
    setenv("AGENTTRACE_MAX_BODY", "lots", 1);
    at_config_load();
    cr_assert_eq(at_cfg.max_body, 8 * MiB);
    {
        FILE *f = cr_get_redirected_stderr();
        char text[2048];
        size_t n;

        fflush(stderr);
        n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        cr_assert_not_null(strstr(text, "agenttrace: ["), "stderr: %s", text);
        cr_assert_not_null(strstr(text, "AGENTTRACE_MAX_BODY=lots"),
                           "stderr: %s", text);
    }
}

/* Without AGENTTRACE_DEBUG a bad value is silent. */
Test(config, bad_max_body_silent_otherwise, .init = cr_redirect_stderr)
{
    load_with("AGENTTRACE_MAX_BODY", "lots");
    cr_assert_eq(at_cfg.max_body, 8 * MiB);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

Test(config, ring_size_range)
{
    static const struct {
        const char *v;
        size_t want;
    } c[] = {
        {"64k", 65536},      {"65536", 65536},   {"16m", 16 * MiB},
        {"1g", 1024 * MiB},
        /* outside [64k, 1g]: the default */
        {"65535", 4 * MiB},  {"1k", 4 * MiB},    {"1025m", 4 * MiB},
        {"2g", 4 * MiB},     {"x", 4 * MiB},     {"0", 4 * MiB},
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        load_with("AGENTTRACE_RING_SIZE", c[i].v);
        cr_assert_eq(at_cfg.ring_size, c[i].want,
                     "AGENTTRACE_RING_SIZE=\"%s\": %zu", c[i].v,
                     at_cfg.ring_size);
    }
}

Test(config, agent_name)
{
    char longname[400];

    load_with("AGENTTRACE_AGENT_NAME", "planner");
    cr_assert_str_eq(at_cfg.agent_name, "planner");
    load_with("AGENTTRACE_AGENT_NAME", "");
    cr_assert_str_eq(at_cfg.agent_name, "");
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    load_with("AGENTTRACE_AGENT_NAME", longname);
    cr_assert_eq(strlen(at_cfg.agent_name), sizeof(at_cfg.agent_name) - 1);
    cr_assert(strncmp(at_cfg.agent_name, longname,
                      sizeof(at_cfg.agent_name) - 1) == 0);
}

/* Every load starts from the defaults: nothing carries over from an
 * earlier one. */
Test(config, reload_starts_from_defaults)
{
    clean_env();
    setenv("AGENTTRACE_DISABLE", "1", 1);
    setenv("AGENTTRACE_DEBUG", "1", 1);
    setenv("AGENTTRACE_CAPTURE_CONTENT", "off", 1);
    setenv("AGENTTRACE_MAX_BODY", "1k", 1);
    setenv("AGENTTRACE_RING_SIZE", "128k", 1);
    setenv("AGENTTRACE_AGENT_NAME", "a-very-long-agent-name", 1);
    setenv("AGENTTRACE_OUTPUT", "/tmp/one.jsonl", 1);
    at_config_load();
    cr_assert_eq(at_cfg.disabled, 1);
    cr_assert_eq(at_cfg.debug, 1);
    cr_assert_eq(at_cfg.capture_content, 0);
    cr_assert_eq(at_cfg.max_body, 1024);
    cr_assert_eq(at_cfg.ring_size, 128 * 1024);
    cr_assert_str_eq(at_cfg.agent_name, "a-very-long-agent-name");
    /* disabled: no path is made (no getcwd for a process left alone) */
    cr_assert_str_eq(at_cfg.output, "");
    unsetenv("AGENTTRACE_DISABLE");
    at_config_load();
    cr_assert_eq(at_cfg.disabled, 0);
    cr_assert_str_eq(at_cfg.output, "/tmp/one.jsonl");
    clean_env();
    setenv("AGENTTRACE_AGENT_NAME", "short", 1);
    cr_assert_eq(chdir("/tmp"), 0);
    at_config_load();
    cr_assert_eq(at_cfg.disabled, 0);
    cr_assert_eq(at_cfg.debug, 0);
    cr_assert_eq(at_log_enabled, 0);
    cr_assert_eq(at_cfg.capture_content, 1);
    cr_assert_eq(at_cfg.max_body, 8 * MiB);
    cr_assert_eq(at_cfg.ring_size, 4 * MiB);
    cr_assert_str_eq(at_cfg.agent_name, "short");
    cr_assert_str_eq(at_cfg.output, "/tmp/agenttrace.jsonl");
}

/* An absolute AGENTTRACE_OUTPUT is already what children must see: the
 * constructor need not export it again (setenv costs every process). */
Test(config, output_in_env_only_when_exported_as_is)
{
    load_with("AGENTTRACE_OUTPUT", "/var/tmp/at/spans.jsonl");
    cr_assert_eq(at_cfg.output_in_env, 1);
    load_with("AGENTTRACE_OUTPUT", "rel.jsonl");
    cr_assert_eq(at_cfg.output_in_env, 0);
    load_with("AGENTTRACE_OUTPUT", "");
    cr_assert_eq(at_cfg.output_in_env, 0);
    load_with(NULL, NULL);
    cr_assert_eq(at_cfg.output_in_env, 0);
}

/* The variables identity.c reads come from the same single pass over the
 * environment, and are what getenv() returns: the first definition wins,
 * and a longer or shorter name is another variable. */
Test(config, startup_variables_as_getenv)
{
    static const char *const names[] = {"AGENTTRACE_CONTEXT",
                                        "AGENTTRACE_TRACEPARENT",
                                        "TRACEPARENT"};
    static const int which[] = {AT_ENV_CONTEXT, AT_ENV_TRACEPARENT,
                                AT_ENV_W3C_TRACEPARENT};
    char *custom[] = {
        "AGENTTRACE_CONTEXTX=1", "AGENTTRACE_CONTEX=2", "TRACEPARENTS=3",
        "XTRACEPARENT=4", "AGENTTRACE_=5", "AGENTTRACE_CONTEXT=first",
        "AGENTTRACE_CONTEXT=second", "TRACEPARENT=w3c-1",
        "TRACEPARENT=w3c-2", "AGENTTRACE_OUTPUT=/a.jsonl",
        "AGENTTRACE_OUTPUT=/b.jsonl", "AGENTTRACE_DISABLE=0",
        "AGENTTRACE_DISABLE=1", "AGENTTRACE_TRACEPARENT", NULL};
    char **saved = environ;
    int k;

    clean_env();
    for (k = 0; k < 3; k++)
        unsetenv(names[k]);
    at_config_load();
    for (k = 0; k < 3; k++)
        cr_assert_null(at_config_env(which[k]), "%s", names[k]);
    setenv("AGENTTRACE_CONTEXT", "abc", 1);
    setenv("AGENTTRACE_TRACEPARENT", "", 1);
    setenv("TRACEPARENT", "00-x", 1);
    at_config_load();
    cr_assert_str_eq(at_config_env(AT_ENV_CONTEXT), "abc");
    cr_assert_str_eq(at_config_env(AT_ENV_TRACEPARENT), "");
    cr_assert_str_eq(at_config_env(AT_ENV_W3C_TRACEPARENT), "00-x");
    cr_assert_null(at_config_env(-1));
    cr_assert_null(at_config_env(99));
    environ = custom;
    at_config_load();
    for (k = 0; k < 3; k++) {
        const char *g = getenv(names[k]), *v = at_config_env(which[k]);

        cr_assert(g == v, "%s: getenv %s, at_config_env %s", names[k],
                  g ? g : "(null)", v ? v : "(null)");
    }
    cr_assert_str_eq(at_config_env(AT_ENV_CONTEXT), "first");
    cr_assert_str_eq(at_config_env(AT_ENV_W3C_TRACEPARENT), "w3c-1");
    cr_assert_str_eq(at_cfg.output, "/a.jsonl");
    cr_assert_eq(at_cfg.output_in_env, 1);
    cr_assert_eq(at_cfg.disabled, 0);
    environ = saved;
}
