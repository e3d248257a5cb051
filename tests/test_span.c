/* test_span.c - unit tests of sink/ids.c, sink/jw.c and sink/span.c.
 *
 * Runs in the Criterion test runner (one forked worker per test).  The
 * assumptions checked:
 *
 *   ids   span ids are never 0 and never repeat (1,000,000 of them), also
 *         before any seeding; trace ids are 32 lowercase hex digits, never
 *         all zero; at_hex/at_hex64 and at_unhex/at_unhex64 round-trip,
 *         accept either case, and refuse anything that is not hex without
 *         reading past the string's end: every byte value at every
 *         position against a plain reference.
 *   jw    every string comes out as one JSON string that jansson parses back
 *         to the expected text: quotes, backslashes and control characters
 *         escaped, valid UTF-8 kept byte for byte, and each byte that is not
 *         part of a valid UTF-8 sequence (stray continuation bytes, 0xC0,
 *         0xC1, 0xF5..0xFF, truncated sequences, overlong forms, surrogates,
 *         code points above U+10FFFF) replaced by U+FFFD.  at_jw_dec
 *         writes what printf's %llu writes, and nothing after it, for
 *         every length and edge (powers of ten and of two, UINT64_MAX).
 *   json  at_jw_json writes exactly what json_dumps(v, JSON_COMPACT)
 *         writes, for a table of awkward documents, trees built in code
 *         (every control character, NULs in keys and values, replaced and
 *         re-added members, 300 levels of nesting), 5000 random trees and
 *         200000 reals of every magnitude (ties at the 17th digit too),
 *         also under a decimal-comma locale when one is installed; refuses
 *         bare values as json_dumps does; past a buffer's limit keeps the
 *         text's start, and stops even on a tree that contains itself.
 *   buf   a buffer over fixed storage never allocates; reserve/commit.
 *   span  at_span_line and at_span_process_line write one '\n'-terminated
 *         line that parses as the record of ../shared/SPANS.md, with the
 *         exact bytes pinned for one line of each; the resource is made
 *         once per process and made again for a forked child.
 *   proc  at_proc_describe names the test binary; its credential scrubbing
 *         is tested black-box: the test re-executes its own binary under a
 *         chosen argv with AT_TEST_SPAN_PROBE=1 in the environment, and a
 *         constructor in this file (which then runs before Criterion's
 *         main) prints what at_proc_describe_args made of its argv, and
 *         exits 4 unless at_proc_describe made the same of
 *         /proc/self/cmdline.
 *
 * Tests named regression_* pin defects that were found by these tests and
 * fixed; the comment above each says what went wrong.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode/buf.h"
#include "sink/ids.h"
#include "sink/jw.h"
#include "sink/span.h"

extern char **environ;

/* ---- the re-executed probe ---------------------------------------------- */

/* probe_main: when this binary is started with AT_TEST_SPAN_PROBE=1, print
 * exe, service and cmdline as at_proc_describe sees them, one per line, and
 * exit before Criterion starts. */
__attribute__((constructor)) static void probe_main(int argc, char **argv,
                                                     char **envp)
{
    static at_proc p, q;
    char out[3 * 4096 + 16];
    int n;

    (void)envp;
    if (getenv("AT_TEST_SPAN_PROBE") == NULL)
        return;
    /* from /proc/self/cmdline and from the constructor's argv (the shim's
     * way): the same description, or exit status 4 */
    memset(&p, 0, sizeof(p));
    at_proc_describe(&p);
    memset(&q, 0, sizeof(q));
    at_proc_describe_args(&q, argc, argv);
    if (strcmp(p.exe, q.exe) || strcmp(p.service, q.service) ||
        strcmp(p.cmdline, q.cmdline))
        _exit(4);
    n = snprintf(out, sizeof(out), "%s\n%s\n%s\n", q.exe, q.service,
                 q.cmdline);
    if (n > 0 && write(1, out, (size_t)n) != n)
        _exit(3);
    _exit(0);
}

/* ---- helpers ------------------------------------------------------------ */

/* copy_cut: at most cap-1 bytes of s into dst, NUL-terminated. */
static void copy_cut(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int is_lower_hex(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* obj_str: o[key], which must be a string. */
static const char *obj_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    cr_assert(json_is_string(v), "\"%s\" is not a string", key);
    return json_string_value(v);
}

/* obj_int: o[key], which must be an integer. */
static json_int_t obj_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
    return json_integer_value(v);
}

/* parse_line: check that [p, p+n) is exactly one line ending in '\n' and
 * parse it as a JSON object. */
static json_t *parse_line(const char *p, size_t n)
{
    json_error_t err;
    json_t *o;

    cr_assert(n > 1, "empty line");
    cr_assert_eq(p[n - 1], '\n', "line does not end in a newline");
    cr_assert_null(memchr(p, '\n', n - 1), "newline inside the line");
    o = json_loadb(p, n - 1, 0, &err);
    cr_assert_not_null(o, "line does not parse (%s at %d): %.*s", err.text,
                       err.position, (int)n, p);
    cr_assert(json_is_object(o));
    return o;
}

/* read_cmdline: this process's /proc/self/cmdline; argv joined by spaces
 * into `joined` and the base name of argv[0] into `exe`. */
static void read_cmdline(char *joined, size_t jcap, char *exe, size_t ecap)
{
    char raw[8192];
    ssize_t n = 0, r;
    int fd = open("/proc/self/cmdline", O_RDONLY);
    const char *slash;
    ssize_t i;

    cr_assert(fd >= 0);
    while ((r = read(fd, raw + n, sizeof(raw) - 1 - (size_t)n)) > 0)
        n += r;
    close(fd);
    cr_assert(n > 0);
    if (raw[n - 1] == '\0')
        n--;
    raw[n] = '\0';
    slash = strrchr(raw, '/');
    copy_cut(exe, ecap, slash ? slash + 1 : raw);
    for (i = 0; i < n; i++)
        if (raw[i] == '\0')
            raw[i] = ' ';
    copy_cut(joined, jcap, raw);
}

/* a process description for span tests */
static at_proc make_proc(void)
{
    at_proc p;

    memset(&p, 0, sizeof(p));
    at_ids_seed();
    at_ids_trace(p.trace_id);
    p.span_id = at_ids_span();
    p.pid = getpid();
    p.ppid = getppid();
    p.start_wall_ns = 1763800000000000000ull;
    p.start_mono_ns = 5000000000ull;
    return p;
}

/* check_resource: the resource and the ids of a span line of process p. */
static void check_common(json_t *o, const at_proc *p)
{
    char hex[33];
    json_t *res = json_object_get(o, "resource");
    json_t *ev = json_object_get(o, "events");
    const char *code;

    at_hex(hex, p->trace_id, 16);
    cr_assert(is_lower_hex(obj_str(o, "trace_id"), 32));
    cr_assert_str_eq(obj_str(o, "trace_id"), hex);
    cr_assert_str_neq(obj_str(o, "trace_id"),
                      "00000000000000000000000000000000");
    cr_assert(is_lower_hex(obj_str(o, "span_id"), 16));
    cr_assert_str_neq(obj_str(o, "span_id"), "0000000000000000");
    if (json_object_get(o, "parent_span_id"))
        cr_assert(is_lower_hex(obj_str(o, "parent_span_id"), 16));
    obj_str(o, "name");
    cr_assert(!strcmp(obj_str(o, "kind"), "client") ||
              !strcmp(obj_str(o, "kind"), "internal"));
    cr_assert_leq(obj_int(o, "start_time_unix_nano"),
                  obj_int(o, "end_time_unix_nano"));
    cr_assert(json_is_object(json_object_get(o, "status")));
    code = obj_str(json_object_get(o, "status"), "code");
    cr_assert(!strcmp(code, "ok") || !strcmp(code, "unset") ||
              !strcmp(code, "error"), "status code %s", code);
    if (strcmp(code, "error") != 0)
        cr_assert_null(json_object_get(json_object_get(o, "status"),
                                       "message"));
    cr_assert(json_is_object(res));
    cr_assert_str_eq(obj_str(res, "service.name"), p->service);
    cr_assert_eq(obj_int(res, "process.pid"), p->pid);
    cr_assert_str_eq(obj_str(res, "process.executable.name"), p->exe);
    cr_assert_str_eq(obj_str(res, "process.command_line"), p->cmdline);
    cr_assert_str_eq(obj_str(res, "telemetry.sdk.name"), "agenttrace");
    cr_assert(json_is_object(json_object_get(o, "attributes")));
    cr_assert(json_is_array(ev));
    cr_assert_eq(json_array_size(ev), 0);
}

/* ==== ids ================================================================ */

/* a set of 64-bit values, open addressing; 0 never stored */
struct idset {
    uint64_t *slot;
    size_t mask;
};

static void idset_init(struct idset *s, size_t pow2)
{
    s->slot = calloc(pow2, sizeof(*s->slot));
    cr_assert_not_null(s->slot);
    s->mask = pow2 - 1;
}

/* idset_add: 1 when v was new, 0 when already there. */
static int idset_add(struct idset *s, uint64_t v)
{
    size_t i = (size_t)((v * 0x9E3779B97F4A7C15ull) >> 20) & s->mask;

    while (s->slot[i] != 0) {
        if (s->slot[i] == v)
            return 0;
        i = (i + 1) & s->mask;
    }
    s->slot[i] = v;
    return 1;
}

Test(ids, span_ids_nonzero_and_unique_over_a_million)
{
    struct idset set;
    unsigned i;

    at_ids_seed();
    idset_init(&set, 1u << 21);
    for (i = 0; i < 1000000; i++) {
        uint64_t v = at_ids_span();

        cr_assert_neq(v, 0, "span id %u is 0", i);
        cr_assert(idset_add(&set, v), "span id %u repeats: %016llx", i,
                  (unsigned long long)v);
    }
    free(set.slot);
}

/* Before any seeding the base is 0, and mix(0) is 0: the first id must
 * still not be 0. */
Test(ids, span_ids_nonzero_before_seeding)
{
    struct idset set;
    unsigned i;

    idset_init(&set, 1u << 12);
    for (i = 0; i < 1000; i++) {
        uint64_t v = at_ids_span();

        cr_assert_neq(v, 0);
        cr_assert(idset_add(&set, v));
    }
    free(set.slot);
}

Test(ids, reseeding_changes_the_sequence)
{
    uint64_t a[4], b[4];
    int i, same = 0;

    at_ids_seed();
    for (i = 0; i < 4; i++)
        a[i] = at_ids_span();
    at_ids_seed();
    for (i = 0; i < 4; i++)
        b[i] = at_ids_span();
    for (i = 0; i < 4; i++)
        same += a[i] == b[i];
    cr_assert_lt(same, 4, "reseeding repeated the same ids");
}

Test(ids, trace_ids_are_32_hex_never_zero)
{
    static const unsigned char zero[16];
    struct idset set;
    int i;

    at_ids_seed();
    idset_init(&set, 1u << 12);
    for (i = 0; i < 1000; i++) {
        unsigned char t[16], back[16];
        char hex[33];
        uint64_t h;

        memset(t, 0, sizeof(t));
        at_ids_trace(t);
        cr_assert(memcmp(t, zero, 16) != 0, "trace id all zero");
        at_hex(hex, t, 16);
        cr_assert(is_lower_hex(hex, 32), "trace id hex: %s", hex);
        cr_assert_eq(at_unhex(hex, back, 16), 0);
        cr_assert(memcmp(t, back, 16) == 0);
        /* distinct: fold the two halves (a collision of the fold of two
         * distinct random ids is a 2^-64 event) */
        {
            uint64_t lo, hi;

            memcpy(&lo, t, 8);
            memcpy(&hi, t + 8, 8);
            h = lo ^ (hi << 17 | hi >> 47);
            cr_assert(idset_add(&set, h ? h : 1), "trace id repeats: %s",
                      hex);
        }
    }
    free(set.slot);
}

/* at_hex/at_hex64 write words of eight digits at a time: every length
 * 0..19 of at_hex (its word loop and its byte tail) and 100,000 values of
 * at_hex64 (each nibble value at each position, then random) against
 * printf's %02x / %016llx. */
Test(ids, hex_against_printf)
{
    uint64_t s = 0x9E3779B97F4A7C15ull;
    unsigned char bytes[19];
    char got[64], want[64];
    size_t n, i;
    int k;

    for (n = 0; n <= sizeof(bytes); n++) {
        for (k = 0; k < 200; k++) {
            for (i = 0; i < n; i++)
                bytes[i] = (unsigned char)(xorshift(&s) >> 24);
            at_hex(got, bytes, n);
            for (i = 0; i < n; i++)
                snprintf(want + 2 * i, 3, "%02x", bytes[i]);
            want[2 * n] = '\0';
            cr_assert_str_eq(got, want, "length %zu", n);
        }
    }
    for (k = 0; k < 100000; k++) {
        uint64_t v = k < 256 ? (uint64_t)(k & 15) << (4 * (k >> 4))
                             : xorshift(&s);

        at_hex64(got, v);
        snprintf(want, sizeof(want), "%016llx", (unsigned long long)v);
        cr_assert_str_eq(got, want);
    }
}

Test(ids, hex_known_values)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80,
                                          0xab, 0xcd, 0xef, 0xff};
    char hex[64];

    at_hex(hex, bytes, sizeof(bytes));
    cr_assert_str_eq(hex, "00017f80abcdefff");
    at_hex(hex, bytes, 0);
    cr_assert_str_eq(hex, "");
    at_hex64(hex, 0);
    cr_assert_str_eq(hex, "0000000000000000");
    at_hex64(hex, UINT64_MAX);
    cr_assert_str_eq(hex, "ffffffffffffffff");
    at_hex64(hex, 0x00f067aa0ba902b7ull);
    cr_assert_str_eq(hex, "00f067aa0ba902b7");
    at_hex64(hex, 1);
    cr_assert_str_eq(hex, "0000000000000001");
}

Test(ids, unhex_known_values_and_case)
{
    unsigned char out[8];
    uint64_t v;

    cr_assert_eq(at_unhex("00ff10Ab", out, 4), 0);
    cr_assert_eq(out[0], 0x00);
    cr_assert_eq(out[1], 0xff);
    cr_assert_eq(out[2], 0x10);
    cr_assert_eq(out[3], 0xab);
    cr_assert_eq(at_unhex64("00F067AA0BA902B7", &v), 0);
    cr_assert_eq(v, 0x00f067aa0ba902b7ull);
    cr_assert_eq(at_unhex64("ffffffffffffffff", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(at_unhex("", out, 0), 0);
    /* exactly 2n digits are read: what follows is the caller's business
     * (identity.c parses ids inside a traceparent this way) */
    cr_assert_eq(at_unhex64("0123456789abcdef-00", &v), 0);
    cr_assert_eq(v, 0x0123456789abcdefull);
}

Test(ids, unhex_rejects_bad_hex)
{
    static const char *const bad[] = {
        "0123456789abcdeg", "g123456789abcdef", "0123456789abcde",
        "", "0", " 123456789abcdef", "0x23456789abcdef",
        "-123456789abcdef", "0123456789abcde\xff", "01234567 9abcdef",
        "0123456789ABCDEG", "0123456789abcd:f", "0123456789abcd/f",
        "0123456789abcd@f", "0123456789abcd`f", NULL};
    int i;

    for (i = 0; bad[i]; i++) {
        /* exactly as many bytes as the string, so that ASan and valgrind
         * see any read past its NUL */
        size_t n = strlen(bad[i]) + 1;
        char *s = malloc(n);
        uint64_t v;
        unsigned char out[8];

        cr_assert_not_null(s);
        memcpy(s, bad[i], n);
        cr_assert_eq(at_unhex64(s, &v), -1, "accepted \"%s\"", bad[i]);
        cr_assert_eq(at_unhex(s, out, 8), -1, "accepted \"%s\"", bad[i]);
        free(s);
    }
}

/* The reference the parsers are held to: a hex digit of either case, and
 * nothing else, NUL included. */
static int ref_nibble(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* the byte of two digits the reference accepts */
static unsigned char ref_byte(const char *s)
{
    return (unsigned char)(ref_nibble((unsigned char)s[0]) << 4 |
                           ref_nibble((unsigned char)s[1]));
}

/* Every byte value at every one of the 16 positions of a span id, and of
 * a 16-byte trace id's 32: accepted exactly when the reference takes it,
 * with the reference's value.  Where the byte is a NUL the string is
 * allocated to end there, so that ASan and valgrind see any read past
 * it. */
Test(ids, unhex_every_byte_at_every_position)
{
    static const char digits[] = "0123456789abcdef0123456789ABCDEF";
    int pos, c;

    for (pos = 0; pos < 32; pos++) {
        for (c = 0; c < 256; c++) {
            char *s = malloc(33);
            unsigned char want[16], got[16];
            uint64_t v = 0, wantv = 0;
            int i, ok = ref_nibble((unsigned)c) >= 0;

            cr_assert_not_null(s);
            memcpy(s, digits, 33);
            s[pos] = (char)c;
            if (c == 0) {        /* the string ends at pos: no more bytes */
                char *t = malloc((size_t)pos + 1);

                cr_assert_not_null(t);
                memcpy(t, s, (size_t)pos + 1);
                free(s);
                s = t;
            }
            for (i = 0; ok && i < 16; i++)
                want[i] = ref_byte(s + 2 * i);
            for (i = 0; ok && i < 8; i++)
                wantv = wantv << 8 | want[i];
            cr_assert_eq(at_unhex(s, got, 16), ok ? 0 : -1,
                         "byte 0x%02x at %d", c, pos);
            if (ok)
                cr_assert(memcmp(got, want, 16) == 0);
            if (pos < 16) {
                cr_assert_eq(at_unhex64(s, &v), ok ? 0 : -1,
                             "byte 0x%02x at %d", c, pos);
                if (ok)
                    cr_assert_eq(v, wantv);
            } else if (c != 0) {
                /* at_unhex64 reads 16 digits only: a byte after them is
                 * not its business */
                cr_assert_eq(at_unhex64(s, &v), 0);
            }
            free(s);
        }
    }
}

/* Random ids written with each letter's case chosen at random parse back
 * to the same value. */
Test(ids, unhex_mixed_case_round_trips)
{
    uint64_t s = 0xDA942042E4DD58B5ull;
    int k;

    for (k = 0; k < 100000; k++) {
        uint64_t v = xorshift(&s), back = 0, coin = xorshift(&s);
        unsigned char b[8], bb[8];
        char hex[17];
        int i;

        at_hex64(hex, v);
        for (i = 0; i < 16; i++)
            if (hex[i] >= 'a' && (coin >> i & 1))
                hex[i] = (char)(hex[i] - 'a' + 'A');
        cr_assert_eq(at_unhex64(hex, &back), 0, "%s", hex);
        cr_assert_eq(back, v, "%s", hex);
        for (i = 0; i < 8; i++)
            b[i] = (unsigned char)(v >> (56 - 8 * i));
        cr_assert_eq(at_unhex(hex, bb, 8), 0, "%s", hex);
        cr_assert(memcmp(b, bb, 8) == 0, "%s", hex);
    }
}

Test(ids, hex_round_trips)
{
    uint64_t s = 0x853c49e6748fea9bull;
    int i;

    for (i = 0; i < 10000; i++) {
        uint64_t v = xorshift(&s), back = 0;
        unsigned char b[16], bb[16];
        char hex[33];
        int k;

        if (i < 64)
            v = (uint64_t)1 << i;
        at_hex64(hex, v);
        cr_assert(is_lower_hex(hex, 16));
        cr_assert_eq(at_unhex64(hex, &back), 0);
        cr_assert_eq(back, v);
        for (k = 0; k < 16; k++)
            b[k] = (unsigned char)(xorshift(&s) >> 56);
        at_hex(hex, b, 16);
        cr_assert(is_lower_hex(hex, 32));
        for (k = 0; k < 32; k++)        /* upper case parses the same */
            if (hex[k] >= 'a')
                hex[k] = (char)(hex[k] - 'a' + 'A');
        cr_assert_eq(at_unhex(hex, bb, 16), 0);
        cr_assert(memcmp(b, bb, 16) == 0);
    }
}

/* ==== jw ================================================================= */

/* jw_out: at_jw_str of n bytes into a fresh buffer. */
static void jw_out(at_buf *b, const char *in, size_t n)
{
    at_buf_init(b, 1 << 20);
    at_jw_str(b, in, n);
    cr_assert_not_null(b->p);
    cr_assert_eq(b->truncated, 0);
}

/* jw_decode: parse a jw string with jansson; the decoded bytes in *out
 * (a jansson string: free with json_decref on the returned value). */
static json_t *jw_decode(const at_buf *b)
{
    json_error_t err;
    json_t *v = json_loadb(b->p, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                           &err);

    cr_assert_not_null(v, "jansson refused %s: %s", b->p, err.text);
    cr_assert(json_is_string(v), "not a string: %s", b->p);
    return v;
}

struct jw_case {
    const char *name;
    const char *in;
    size_t in_len;          /* 0: strlen(in) */
    const char *want;       /* the decoded string */
    size_t want_len;        /* 0: strlen(want) */
    const char *text;       /* the exact JSON text, or NULL */
};

#define FFFD "\xEF\xBF\xBD"

static const struct jw_case jw_cases[] = {
    {"empty", "", 0, "", 0, "\"\""},
    {"plain", "hello, world", 0, "hello, world", 0, "\"hello, world\""},
    {"quote", "a\"b", 0, "a\"b", 0, "\"a\\\"b\""},
    {"backslash", "a\\b", 0, "a\\b", 0, "\"a\\\\b\""},
    {"slash kept", "a/b", 0, "a/b", 0, "\"a/b\""},
    {"newline tab cr", "1\n2\t3\r4", 0, "1\n2\t3\r4", 0,
     "\"1\\n2\\t3\\r4\""},
    {"control 01", "\x01", 0, "\x01", 0, "\"\\u0001\""},
    {"control 1f", "x\x1fy", 0, "x\x1fy", 0, "\"x\\u001fy\""},
    {"control 08 0c", "\b\f", 0, "\b\f", 0, NULL},
    {"nul", "a\0b", 3, "a\0b", 3, "\"a\\u0000b\""},
    {"del kept", "\x7f", 0, "\x7f", 0, "\"\x7f\""},
    {"2-byte", "caf\xC3\xA9", 0, "caf\xC3\xA9", 0, "\"caf\xC3\xA9\""},
    {"3-byte euro", "\xE2\x82\xAC", 0, "\xE2\x82\xAC", 0, NULL},
    {"4-byte emoji", "\xF0\x9F\x98\x80!", 0, "\xF0\x9F\x98\x80!", 0, NULL},
    {"U+0080", "\xC2\x80", 0, "\xC2\x80", 0, NULL},
    {"U+07FF", "\xDF\xBF", 0, "\xDF\xBF", 0, NULL},
    {"U+0800", "\xE0\xA0\x80", 0, "\xE0\xA0\x80", 0, NULL},
    {"U+D7FF", "\xED\x9F\xBF", 0, "\xED\x9F\xBF", 0, NULL},
    {"U+E000", "\xEE\x80\x80", 0, "\xEE\x80\x80", 0, NULL},
    {"U+FFFD", FFFD, 0, FFFD, 0, NULL},
    {"U+FFFF", "\xEF\xBF\xBF", 0, "\xEF\xBF\xBF", 0, NULL},
    {"U+10000", "\xF0\x90\x80\x80", 0, "\xF0\x90\x80\x80", 0, NULL},
    {"U+10FFFF", "\xF4\x8F\xBF\xBF", 0, "\xF4\x8F\xBF\xBF", 0, NULL},
    {"lone ff", "\xFF", 0, FFFD, 0, "\"" FFFD "\""},
    {"lone fe", "a\xFE" "b", 0, "a" FFFD "b", 0, NULL},
    {"f5..f7 leads", "\xF5\x80\x80\x80", 0, FFFD FFFD FFFD FFFD, 0, NULL},
    {"lone continuation", "\x80", 0, FFFD, 0, NULL},
    {"continuations", "a\x80\xBF" "b", 0, "a" FFFD FFFD "b", 0, NULL},
    {"overlong C0 80", "\xC0\x80", 0, FFFD FFFD, 0, NULL},
    {"overlong C1 BF", "\xC1\xBF", 0, FFFD FFFD, 0, NULL},
    {"overlong E0 80 80", "\xE0\x80\x80", 0, FFFD FFFD FFFD, 0, NULL},
    {"overlong E0 9F BF", "\xE0\x9F\xBF", 0, FFFD FFFD FFFD, 0, NULL},
    {"overlong F0 8F BF BF", "\xF0\x8F\xBF\xBF", 0,
     FFFD FFFD FFFD FFFD, 0, NULL},
    {"surrogate D800", "\xED\xA0\x80", 0, FFFD FFFD FFFD, 0, NULL},
    {"surrogate DFFF", "\xED\xBF\xBF", 0, FFFD FFFD FFFD, 0, NULL},
    {"surrogate pair", "\xED\xA0\xBD\xED\xB8\x80", 0,
     FFFD FFFD FFFD FFFD FFFD FFFD, 0, NULL},
    {"above U+10FFFF", "\xF4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD, 0, NULL},
    {"truncated 2 at end", "a\xC3", 0, "a" FFFD, 0, NULL},
    {"truncated 3 at end", "\xE2\x82", 0, FFFD FFFD, 0, NULL},
    {"truncated 4 at end", "\xF0\x9F\x98", 0, FFFD FFFD FFFD, 0, NULL},
    {"truncated 3 then ascii", "\xE2\x82" "A", 0, FFFD FFFD "A", 0, NULL},
    {"lead then quote", "\xC3\"", 0, FFFD "\"", 0, "\"" FFFD "\\\"\""},
    {"lead then newline", "\xE2\n", 0, FFFD "\n", 0, "\"" FFFD "\\n\""},
    {"valid after invalid", "\xFF\xC3\xA9", 0, FFFD "\xC3\xA9", 0, NULL},
};

Test(jw, escaping_table)
{
    size_t k;

    for (k = 0; k < sizeof(jw_cases) / sizeof(jw_cases[0]); k++) {
        const struct jw_case *c = &jw_cases[k];
        size_t in_len = c->in_len ? c->in_len : strlen(c->in);
        size_t want_len = c->want_len ? c->want_len : strlen(c->want);
        at_buf b;
        json_t *v;

        jw_out(&b, c->in, in_len);
        if (c->text)
            cr_assert_str_eq(b.p, c->text, "case %s", c->name);
        cr_assert_eq(b.p[0], '"', "case %s", c->name);
        cr_assert_eq(b.p[b.len - 1], '"', "case %s", c->name);
        v = jw_decode(&b);
        cr_assert_eq(json_string_length(v), want_len,
                     "case %s: decoded %zu bytes, want %zu: %s", c->name,
                     json_string_length(v), want_len, b.p);
        cr_assert(memcmp(json_string_value(v), c->want, want_len) == 0,
                  "case %s: decoded differently: %s", c->name, b.p);
        json_decref(v);
        at_buf_free(&b);
    }
}

/* Only part of the input is read: the length, not a NUL, ends it. */
Test(jw, length_not_nul_ends_the_string)
{
    at_buf b;

    jw_out(&b, "abc\"def", 3);
    cr_assert_str_eq(b.p, "\"abc\"");
    at_buf_free(&b);
    /* a multibyte sequence cut by the length is invalid */
    jw_out(&b, "\xC3\xA9", 1);
    cr_assert_str_eq(b.p, "\"" FFFD "\"");
    at_buf_free(&b);
}

/* Random byte strings: the output always parses, and when jansson (an
 * independent validator) accepts the input as UTF-8, the decoded string is
 * the input itself. */
Test(jw, random_bytes_always_valid_json)
{
    static const unsigned char pick[] = {
        0x00, 0x01, 0x1f, '"', '\\', '\n', 'a', 0x7f, 0x80, 0x8f, 0x90,
        0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
        0xf4, 0xf5, 0xff};
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int i, valid = 0;

    for (i = 0; i < 20000; i++) {
        unsigned char in[24];
        size_t n = (size_t)(xorshift(&s) % sizeof(in)), k;
        at_buf b;
        json_t *v, *ref;

        for (k = 0; k < n; k++) {
            uint64_t r = xorshift(&s);

            in[k] = r & 1 ? pick[(r >> 8) % sizeof(pick)]
                          : (unsigned char)(r >> 16);
        }
        jw_out(&b, (const char *)in, n);
        v = jw_decode(&b);
        ref = json_stringn((const char *)in, n);
        if (ref) {
            valid++;
            cr_assert_eq(json_string_length(v), n);
            cr_assert(memcmp(json_string_value(v), in, n) == 0,
                      "valid UTF-8 altered: %s", b.p);
            json_decref(ref);
        } else {
            cr_assert_not_null(memmem(json_string_value(v),
                                      json_string_length(v), FFFD, 3),
                               "invalid UTF-8 without U+FFFD: %s", b.p);
        }
        json_decref(v);
        at_buf_free(&b);
    }
    cr_assert_gt(valid, 1000);
}

Test(jw, keys_and_numbers)
{
    at_buf b;
    json_t *o;
    json_error_t err;

    at_buf_init(&b, 4096);
    at_jw_raw(&b, "{");
    at_jw_key(&b, "a", 1);
    at_jw_u64(&b, 0);
    at_jw_key(&b, "b\"", 0);
    at_jw_u64(&b, UINT64_MAX);
    at_jw_key(&b, "c", 0);
    at_jw_i64(&b, INT64_MIN);
    at_jw_key(&b, "d", 0);
    at_jw_i64(&b, -1);
    at_jw_key(&b, "e", 0);
    at_jw_cstr(&b, "x\ty");
    at_jw_raw(&b, "}");
    cr_assert_str_eq(b.p, "{\"a\":0,\"b\\\"\":18446744073709551615,"
                          "\"c\":-9223372036854775808,\"d\":-1,"
                          "\"e\":\"x\\ty\"}");
    /* jansson cannot hold 2^64-1; the rest parses */
    at_buf_reset(&b);
    at_jw_raw(&b, "{");
    at_jw_key(&b, "c", 1);
    at_jw_i64(&b, INT64_MIN);
    at_jw_key(&b, "e", 0);
    at_jw_cstr(&b, "x\ty");
    at_jw_raw(&b, "}");
    o = json_loads(b.p, 0, &err);
    cr_assert_not_null(o, "%s", err.text);
    cr_assert_eq(json_integer_value(json_object_get(o, "c")), INT64_MIN);
    cr_assert_str_eq(json_string_value(json_object_get(o, "e")), "x\ty");
    json_decref(o);
    at_buf_free(&b);
}

/* at_jw_dec counts the digits first and writes 8-digit chunks: every
 * length 1..20 and every chunk boundary.  Checked against printf's %llu,
 * with the bytes after the digits left alone (it writes no NUL), for 0,
 * each power of ten and its neighbours, each power of two and its
 * neighbours (the digit count is estimated from the bit length), 9..99
 * runs, UINT64_MAX, and 1,000,000 random values of every length. */
static void dec_check(uint64_t v)
{
    char got[24], want[24];
    size_t n;
    int k;

    memset(got, '#', sizeof(got));
    n = at_jw_dec(got, v);
    k = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    cr_assert_eq(n, (size_t)k, "length of %s: %zu", want, n);
    cr_assert(memcmp(got, want, n) == 0, "%s: got %.*s", want, (int)n, got);
    cr_assert_eq(got[n], '#', "wrote past the digits of %s", want);
}

Test(jw, dec_against_printf)
{
    uint64_t s = 0x2545F4914F6CDD1Dull, p = 1;
    int i, k;

    for (i = 0; i < 1000; i++)
        dec_check((uint64_t)i);
    for (k = 0; k < 20; k++, p *= 10) {
        dec_check(p - 1);
        dec_check(p);
        dec_check(p + 1);
        dec_check(p * 9 + (p - 1));     /* 99..9 of k + 1 digits */
    }
    for (k = 0; k < 64; k++) {
        uint64_t b = (uint64_t)1 << k;

        dec_check(b - 1);
        dec_check(b);
        dec_check(b + 1);
    }
    dec_check(UINT64_MAX);
    dec_check(UINT64_MAX - 1);
    dec_check(10000000000000000000ull - 1);
    dec_check(10000000000000000000ull);
    for (i = 0; i < 1000000; i++) {
        /* a random length: shift a random value right by 0..63 */
        uint64_t v = xorshift(&s);

        dec_check(v >> (xorshift(&s) & 63));
    }
}

Test(jw, buffer_limit_sticks)
{
    at_buf b;

    at_buf_init(&b, 4);
    at_jw_cstr(&b, "abcdef");
    cr_assert_eq(b.truncated, 1);
    cr_assert_eq(b.len, 4);
    cr_assert_eq(b.p[4], '\0');
    at_buf_free(&b);
}

/* ==== at_jw_json against json_dumps ====================================== */

/* same_as_jansson: at_jw_json(v) writes exactly json_dumps(v, JSON_COMPACT),
 * after whatever the buffer held, and returns 0. */
static void same_as_jansson(const json_t *v, const char *what)
{
    char *want = json_dumps(v, JSON_COMPACT);
    at_buf b;

    cr_assert_not_null(want, "%s: jansson cannot dump it", what);
    at_buf_init(&b, 1 << 24);
    AT_JW_LIT(&b, "x");
    cr_assert_eq(at_jw_json(&b, v), 0, "%s", what);
    cr_assert_eq(b.truncated, 0, "%s", what);
    cr_assert_eq(b.len, 1 + strlen(want), "%s: %zu bytes, want %zu:\n%s\n%s",
                 what, b.len - 1, strlen(want), b.p + 1, want);
    cr_assert(memcmp(b.p + 1, want, b.len - 1) == 0, "%s:\n%s\nwant\n%s",
              what, b.p + 1, want);
    cr_assert_eq(b.p[b.len], '\0');
    free(want);
    at_buf_free(&b);
}

/* Documents in JSON text (jansson parses them; JSON_ALLOW_NUL lets \u0000
 * into strings). */
static const char *const json_texts[] = {
    "{}",
    "[]",
    "[[]]",
    "[{}]",
    "{\"a\":{}}",
    "{\"a\":[]}",
    "[[],[[]],{},{\"\":{}}]",
    "{\"a\":1,\"b\":-1,\"c\":0}",
    "[9223372036854775807,-9223372036854775808,1000000007,-42]",
    "[true,false,null]",
    "{\"t\":true,\"f\":false,\"n\":null}",
    "[\"\",\" \",\"a\\\"b\",\"a\\\\b\",\"a/b\",\"\\/\"]",
    "[\"\\b\\f\\n\\r\\t\",\"\\u0001\\u0002\\u001f\",\"\\u000b\\u000e\\u007f\"]",
    "[\"\\u0000\",\"a\\u0000b\",\"\\u0000\\u0000\"]",
    "[\"caf\\u00e9\",\"\\u20ac\",\"\\ud83d\\ude00\",\"\\uffff\",\"\\ufffd\"]",
    "[\"\\u0080\",\"\\u07ff\",\"\\u0800\",\"\\ud7ff\",\"\\ue000\","
    "\"\\udbff\\udfff\"]",
    "{\"\\n\":\"k\",\"\\u0001x\":1,\"\\\"\":2,\"\\u00e9\":3,\"\":4}",
    "[0.0,-0.0,1.0,-1.0,0.5,0.1,0.7,100.0,1e16,1e17,1e20,1e21,1e22]",
    "[7.2e-6,1e-5,1e-4,0.001,1e-16,1e-17,1e-300,5e-324,2.2250738585072014e-308]",
    "[1.7976931348623157e308,3.141592653589793,0.30000000000000004,2.5e-7]",
    "[123456789012345678,12345678901234567890.0,-1e-7,-123.456]",
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
    "\"Hello there\"}],\"temperature\":0.7,\"max_tokens\":256,\"stream\":"
    "false,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
    "]]]]]]]]]]]",
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":[{\"g\":{}},[],\"\",0]}}}}}}",
    "[\"a long string with nothing to escape in it, long enough for words\","
    "\"12345678\",\"1234567\",\"123456789\",\"1234567\\n\",\"12345678\\n\","
    "\"\\n12345678\",\"1234567\\u00e9\",\"\\u00e9\\u00e9\\u00e9\\u00e9x\"]",
};

Test(jw, json_same_as_jansson_table)
{
    size_t k;

    for (k = 0; k < sizeof(json_texts) / sizeof(json_texts[0]); k++) {
        json_error_t err;
        json_t *v = json_loads(json_texts[k], JSON_ALLOW_NUL, &err);

        cr_assert_not_null(v, "case %zu: %s", k, err.text);
        same_as_jansson(v, json_texts[k]);
        json_decref(v);
    }
}

/* Values built in code: every control character, NULs, keys with NULs,
 * integer and real extremes, members replaced and deleted (order is
 * jansson's: a replaced member keeps its place). */
Test(jw, json_same_as_jansson_built)
{
    json_t *o = json_object(), *a = json_array(), *deep = json_array();
    char s[40];
    int c, i;

    for (c = 0; c < 0x20; c++) {
        s[0] = 'x';
        s[1] = (char)c;
        s[2] = 'y';
        json_array_append_new(a, json_stringn(s, 3));
        json_object_setn_new(o, s, 3, json_integer(c));
    }
    json_array_append_new(a, json_stringn("\0\0\0", 3));
    json_array_append_new(a, json_integer(INT64_MAX));
    json_array_append_new(a, json_integer(INT64_MIN));
    json_array_append_new(a, json_real(1e300));
    json_array_append_new(a, json_real(-4.9406564584124654e-324));
    json_array_append_new(a, json_real(0.1 + 0.2));
    json_object_set_new(o, "arr", a);
    json_object_set_new(o, "first", json_true());
    json_object_set_new(o, "x\x01y", json_string("replaced, same place"));
    json_object_del(o, "x\x02y");
    json_object_set_new(o, "x\x02y", json_string("re-added, at the end"));
    /* deeper than the 32 containers at_jw_json keeps on its stack */
    for (i = 0; i < 300; i++) {
        json_t *inner = i % 2 ? json_array() : json_object();

        if (i % 2)
            json_array_append_new(inner, deep);
        else
            json_object_set_new(inner, "k", deep);
        deep = inner;
    }
    json_object_set_new(o, "deep", deep);
    same_as_jansson(o, "built");
    json_decref(o);
}

/* rnd_tree: a random tree; strings from awkward pieces. */
static json_t *rnd_tree(uint64_t *r, int depth)
{
    static const char *const pieces[] = {
        "a", "hello", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f",
        "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "\xef\xbf\xbd", " ", "0", "{}", "[]",
        "\x1b[0m", "long text long text long text ", "\x0b"};
    char s[512];
    size_t n = 0;
    int k, i, t = (int)(xorshift(r) % (depth > 5 ? 7 : 9));
    json_t *v;

    switch (t) {
    case 0: return json_null();
    case 1: return json_true();
    case 2: return json_false();
    case 3: return json_integer((json_int_t)xorshift(r) >>
                                (xorshift(r) % 64));
    case 4: {
        uint64_t bits = xorshift(r);
        double d;

        memcpy(&d, &bits, 8);
        if (d != d || d - d != 0)     /* nan, inf */
            d = (double)(int64_t)bits / 1e9;
        if (bits & 1)
            d = (double)(int64_t)(bits % 2000000) / 1000.0;
        return json_real(d);
    }
    case 5:
    case 6:
        k = (int)(xorshift(r) % 10);
        for (i = 0; i < k; i++) {
            const char *p = pieces[xorshift(r) %
                                   (sizeof(pieces) / sizeof(pieces[0]))];
            size_t l = strlen(p);

            memcpy(s + n, p, l);
            n += l;
            if (xorshift(r) % 16 == 0)
                s[n++] = '\0';
        }
        return json_stringn(s, n);
    case 7:
        v = json_array();
        k = (int)(xorshift(r) % 5);
        for (i = 0; i < k; i++)
            json_array_append_new(v, rnd_tree(r, depth + 1));
        return v;
    default:
        v = json_object();
        k = (int)(xorshift(r) % 6);
        for (i = 0; i < k; i++) {
            json_t *key = rnd_tree(r, 100);   /* a leaf */

            if (json_is_string(key))
                json_object_setn_new(v, json_string_value(key),
                                     json_string_length(key),
                                     rnd_tree(r, depth + 1));
            json_decref(key);
        }
        return v;
    }
}

Test(jw, json_same_as_jansson_random_trees)
{
    uint64_t r = 0x2545f4914f6cdd1dull;
    int i;

    for (i = 0; i < 5000; i++) {
        json_t *v = rnd_tree(&r, 0), *doc = v;

        if (!json_is_object(v) && !json_is_array(v)) {
            doc = json_array();
            json_array_append_new(doc, v);
        }
        same_as_jansson(doc, "random tree");
        json_decref(doc);
    }
}

/* Reals: at_jw_json formats the usual magnitudes itself; whatever the
 * value, the text is jansson's ("%.17g", ".0" added, exponent trimmed),
 * ties at the 17th digit included (x.25 and x.75 with 16 integer
 * digits). */
Test(jw, json_reals_same_as_jansson)
{
    uint64_t r = 0x853c49e6748fea9bull;
    json_t *a = json_array();
    int i;

    for (i = 0; i < 200000; i++) {
        uint64_t bits = xorshift(&r);
        double d;
        int kind = i % 6, sh = (int)(xorshift(&r) % 140);

        switch (kind) {
        case 0:
            memcpy(&d, &bits, 8);
            if (d != d || d - d != 0)
                d = 1.5;
            break;
        case 1: d = ldexp((double)(bits >> 11), sh - 120); break;
        case 2: d = (double)(bits >> 11) / 4.0; break;
        case 3: d = (double)(bits % 100000000) / 1e8 * pow(10, sh % 40 - 20);
            break;
        case 4: d = ldexp((double)((bits >> 11) | 1), -(sh % 80)); break;
        default: d = (double)(bits % 1000) * pow(10, sh % 44 - 22); break;
        }
        if (xorshift(&r) & 1)
            d = -d;
        json_array_append_new(a, json_real(d));
        if (json_array_size(a) == 1000) {
            same_as_jansson(a, "reals");
            json_array_clear(a);
        }
    }
    json_decref(a);
}

/* jansson's real format does not depend on the locale (it puts '.' back);
 * neither does ours.  Skipped where no locale with a decimal comma is
 * installed. */
Test(jw, json_reals_same_under_a_decimal_comma)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8",
                                        "fr_FR.UTF-8", "fr_FR.utf8",
                                        "ru_RU.UTF-8", NULL};
    json_t *a;
    int i;

    for (i = 0; names[i]; i++)
        if (setlocale(LC_NUMERIC, names[i]))
            break;
    if (!names[i])
        cr_skip_test("no locale with a decimal comma installed");
    a = json_pack("[f,f,f,f,f,f]", 0.5, 7.2e-6, 1e22, -1e-300, 100.0,
                  123.456);
    same_as_jansson(a, "decimal comma");
    json_decref(a);
    setlocale(LC_NUMERIC, "C");
}

/* A bare value is no document: -1 and nothing written, as json_dumps
 * refuses it (without JSON_ENCODE_ANY). */
Test(jw, json_refuses_bare_values)
{
    json_t *vals[] = {json_string("s"), json_integer(1), json_real(1.5),
                      json_true(), json_null()};
    at_buf b;
    size_t k;

    at_buf_init(&b, 1024);
    AT_JW_LIT(&b, "prev");
    for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        cr_assert_null(json_dumps(vals[k], JSON_COMPACT));
        cr_assert_eq(at_jw_json(&b, vals[k]), -1);
        cr_assert_str_eq(b.p, "prev");
        json_decref(vals[k]);
    }
    cr_assert_eq(at_jw_json(&b, NULL), -1);
    cr_assert_str_eq(b.p, "prev");
    at_buf_free(&b);
}

/* Past the buffer's limit the output is cut, marked truncated, and what
 * is kept is the start of the full text; a tree that contains itself
 * (which jansson refuses) ends there too. */
Test(jw, json_limit_keeps_a_prefix_and_stops)
{
    json_t *v = json_loads("{\"a\":[1,2,{\"b\":\"a long value here\"}],"
                           "\"c\":\"\\n\\n\\n\",\"d\":0.25}", 0, NULL);
    char *full = json_dumps(v, JSON_COMPACT);
    json_t *x = json_array(), *y = json_array();
    size_t max;
    at_buf b;

    for (max = 0; max < strlen(full); max++) {
        at_buf_init(&b, max);
        at_jw_json(&b, v);
        cr_assert_eq(b.truncated, 1, "max %zu", max);
        cr_assert_eq(b.len, max);
        cr_assert(memcmp(b.p, full, max) == 0, "max %zu: %s", max, b.p);
        cr_assert_eq(b.p[b.len], '\0');
        at_buf_free(&b);
    }
    at_buf_init(&b, strlen(full));
    cr_assert_eq(at_jw_json(&b, v), 0);
    cr_assert_eq(b.truncated, 0);
    cr_assert_str_eq(b.p, full);
    at_buf_free(&b);
    /* x = [y], y = [x] */
    json_array_append(x, y);
    json_array_append(y, x);
    at_buf_init(&b, 100000);
    at_jw_json(&b, x);
    cr_assert_eq(b.truncated, 1);
    cr_assert_eq(b.len, 100000);
    at_buf_free(&b);
    json_array_clear(y);
    json_decref(x);
    json_decref(y);
    json_decref(v);
    free(full);
}

/* One byte that needs a look, at every position of strings of every
 * length up to 80: the scan that skips plain bytes a block at a time (and
 * the tail as an overlapping block) finds it wherever it is, and second
 * ones after it too. */
Test(jw, special_byte_at_every_position, .timeout = 60)
{
    static const struct {
        const char *in, *jw, *jansson;   /* jansson NULL: not UTF-8 */
    } sp[] = {
        {"\"", "\\\"", "\\\""},
        {"\\", "\\\\", "\\\\"},
        {"\n", "\\n", "\\n"},
        {"\x01", "\\u0001", "\\u0001"},
        {"\x1b", "\\u001b", "\\u001B"},
        {"\b", "\\u0008", "\\b"},
        {"\x7f", "\x7f", "\x7f"},
        {"\xc3\xa9", "\xc3\xa9", "\xc3\xa9"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        {"\xff", "\xef\xbf\xbd", NULL},
    };
    size_t k, len, pos, twice;

    for (k = 0; k < sizeof(sp) / sizeof(sp[0]); k++)
        for (len = 0; len <= 80; len++)
            for (pos = 0; pos <= len; pos++)
                for (twice = 0; twice < 2; twice++) {
                    char in[200], want[400], *jd;
                    size_t n = 0, w = 0, i, sl = strlen(sp[k].in);
                    at_buf b;

                    want[w++] = '"';
                    for (i = 0; i <= len; i++) {
                        if (i == pos || (twice && i == len && i != pos)) {
                            memcpy(in + n, sp[k].in, sl);
                            n += sl;
                            strcpy(want + w, sp[k].jw);
                            w += strlen(sp[k].jw);
                        } else if (i < len) {
                            in[n++] = (char)('a' + i % 26);
                            want[w++] = (char)('a' + i % 26);
                        }
                    }
                    want[w++] = '"';
                    want[w] = '\0';
                    jw_out(&b, in, n);
                    cr_assert_str_eq(b.p, want, "%zu/%zu/%zu", k, len, pos);
                    at_buf_free(&b);
                    if (sp[k].jansson) {
                        json_t *a = json_array();

                        json_array_append_new(a, json_stringn(in, n));
                        jd = json_dumps(a, JSON_COMPACT);
                        cr_assert_not_null(jd);
                        same_as_jansson(a, jd);
                        free(jd);
                        json_decref(a);
                    }
                }
}

/* ==== buffers over fixed storage, and reserve/commit ==================== */

Test(buf, fixed_storage_never_allocates_and_keeps_a_prefix)
{
    char mem[8];
    at_buf b;

    at_buf_init_fixed(&b, mem, sizeof(mem));
    cr_assert_eq(b.p, mem);
    cr_assert_str_eq(b.p, "");
    at_buf_append(&b, "abc", 3);
    at_buf_append(&b, "defgh", 5);
    cr_assert_eq(b.p, mem);
    cr_assert_eq(b.len, 7);
    cr_assert_eq(b.truncated, 1);
    cr_assert_eq(b.dropped, 1);
    cr_assert_str_eq(mem, "abcdefg");
    cr_assert_null(at_buf_reserve(&b, 1));
    at_buf_free(&b);             /* empties, frees nothing */
    cr_assert_eq(b.p, mem);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.truncated, 0);
    cr_assert_str_eq(mem, "");
    at_buf_append(&b, "xy", 2);
    cr_assert_str_eq(mem, "xy");
}

Test(buf, reserve_then_commit)
{
    at_buf b;
    char *w;

    at_buf_init(&b, 10);
    w = at_buf_reserve(&b, 4);
    cr_assert_not_null(w);
    memcpy(w, "abcd", 4);
    at_buf_commit(&b, 3);          /* fewer than reserved */
    cr_assert_str_eq(b.p, "abc");
    cr_assert_eq(b.len, 3);
    cr_assert_null(at_buf_reserve(&b, 8));   /* past max: nothing */
    cr_assert_eq(b.len, 3);
    cr_assert_eq(b.truncated, 0);
    w = at_buf_reserve(&b, 7);
    cr_assert_not_null(w);
    memcpy(w, "defghij", 7);
    at_buf_commit(&b, 7);
    cr_assert_str_eq(b.p, "abcdefghij");
    at_buf_free(&b);
    /* a large reservation grows the allocation */
    at_buf_init(&b, 1 << 20);
    w = at_buf_reserve(&b, 100000);
    cr_assert_not_null(w);
    memset(w, 'z', 100000);
    at_buf_commit(&b, 100000);
    cr_assert_eq(b.len, 100000);
    cr_assert_eq(b.p[100000], '\0');
    at_buf_free(&b);
}

/* ==== spans ============================================================== */

Test(span, line_has_every_key)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o, *st, *attrs = json_pack("{s:s, s:i, s:[s]}",
                                       "gen_ai.operation.name", "chat",
                                       "gen_ai.usage.input_tokens", 12,
                                       "gen_ai.response.finish_reasons",
                                       "stop");
    char hex[17];

    memset(&s, 0, sizeof(s));
    s.span_id = at_ids_span();
    s.parent_id = p.span_id;
    s.name = "chat gpt-4o-mini";
    s.client = 1;
    s.start_mono = p.start_mono_ns + 1000;
    s.end_mono = p.start_mono_ns + 412000000;
    s.status = AT_STATUS_OK;
    s.attrs = attrs;
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p, out.len);
    check_common(o, &p);
    at_hex64(hex, s.span_id);
    cr_assert_str_eq(obj_str(o, "span_id"), hex);
    at_hex64(hex, p.span_id);
    cr_assert_str_eq(obj_str(o, "parent_span_id"), hex);
    cr_assert_str_eq(obj_str(o, "name"), "chat gpt-4o-mini");
    cr_assert_str_eq(obj_str(o, "kind"), "client");
    cr_assert_eq(obj_int(o, "start_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns + 1000));
    cr_assert_eq(obj_int(o, "end_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns + 412000000));
    st = json_object_get(o, "status");
    cr_assert_str_eq(obj_str(st, "code"), "ok");
    cr_assert_eq(json_object_size(st), 1);
    cr_assert(json_equal(json_object_get(o, "attributes"), attrs),
              "attributes differ");
    /* at_span_line described the process */
    cr_assert_eq(p.described, 1);
    cr_assert_neq(p.exe[0], '\0');
    json_decref(o);
    json_decref(attrs);
    at_buf_free(&out);
}

Test(span, root_internal_no_attrs)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o;

    memset(&s, 0, sizeof(s));
    s.span_id = at_ids_span();
    s.name = "execute_tool get_weather";
    s.start_mono = p.start_mono_ns;
    s.end_mono = p.start_mono_ns;
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p, out.len);
    check_common(o, &p);
    cr_assert_null(json_object_get(o, "parent_span_id"));
    cr_assert_str_eq(obj_str(o, "kind"), "internal");
    cr_assert_eq(json_object_size(json_object_get(o, "attributes")), 0);
    cr_assert_str_eq(obj_str(json_object_get(o, "status"), "code"), "unset");
    cr_assert_eq(obj_int(o, "start_time_unix_nano"),
                 obj_int(o, "end_time_unix_nano"));
    json_decref(o);
    at_buf_free(&out);
}

Test(span, status_variants)
{
    static const struct {
        int st;
        const char *msg;
        const char *code;
        const char *want_msg;   /* NULL: no "message" key */
    } c[] = {
        {AT_STATUS_OK, NULL, "ok", NULL},
        {AT_STATUS_OK, "ignored", "ok", NULL},
        {AT_STATUS_UNSET, NULL, "unset", NULL},
        {AT_STATUS_UNSET, "ignored", "unset", NULL},
        {AT_STATUS_ERROR, "429", "error", "429"},
        {AT_STATUS_ERROR, "bad \"thing\"\n\xFF", "error",
         "bad \"thing\"\n" FFFD},
        {AT_STATUS_ERROR, NULL, "error", NULL},
    };
    size_t k;

    for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        at_proc p = make_proc();
        at_span s;
        at_buf out;
        json_t *o, *st;

        memset(&s, 0, sizeof(s));
        s.span_id = 42;
        s.name = "x";
        s.status = c[k].st;
        s.status_message = c[k].msg;
        at_buf_init(&out, 1 << 20);
        cr_assert_eq(at_span_line(&out, &p, &s), 0);
        o = parse_line(out.p, out.len);
        check_common(o, &p);
        st = json_object_get(o, "status");
        cr_assert_str_eq(obj_str(st, "code"), c[k].code, "case %zu", k);
        if (c[k].want_msg)
            cr_assert_str_eq(obj_str(st, "message"), c[k].want_msg);
        else
            cr_assert_null(json_object_get(st, "message"), "case %zu", k);
        json_decref(o);
        at_buf_free(&out);
    }
}

Test(span, times_follow_the_monotonic_clock)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o;

    memset(&s, 0, sizeof(s));
    s.span_id = 7;
    s.name = "t";
    /* before the process start on the monotonic clock */
    s.start_mono = p.start_mono_ns - 500;
    s.end_mono = p.start_mono_ns + 3000000000ull;
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p, out.len);
    cr_assert_eq(obj_int(o, "start_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns - 500));
    cr_assert_eq(obj_int(o, "end_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns + 3000000000ull));
    json_decref(o);
    /* an end before the start is clamped to the start */
    at_buf_reset(&out);
    s.start_mono = p.start_mono_ns + 100;
    s.end_mono = p.start_mono_ns + 50;
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p, out.len);
    cr_assert_eq(obj_int(o, "start_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns + 100));
    cr_assert_eq(obj_int(o, "end_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns + 100));
    json_decref(o);
    at_buf_free(&out);
    cr_assert_eq(at_proc_wall(&p, p.start_mono_ns), p.start_wall_ns);
    cr_assert_eq(at_proc_wall(&p, p.start_mono_ns + 1), p.start_wall_ns + 1);
    cr_assert_eq(at_proc_wall(&p, p.start_mono_ns - 1), p.start_wall_ns - 1);
}

Test(span, awkward_names_stay_valid_json)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o;

    memset(&s, 0, sizeof(s));
    s.span_id = 9;
    s.name = "chat \"gpt\"\\\n\t\x01\xC0\x80\xE2\x82\xAC";
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p, out.len);
    cr_assert_str_eq(obj_str(o, "name"),
                     "chat \"gpt\"\\\n\t\x01" FFFD FFFD "\xE2\x82\xAC");
    json_decref(o);
    at_buf_free(&out);
}

Test(span, lines_append)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o;
    char *nl;

    memset(&s, 0, sizeof(s));
    s.span_id = 1;
    s.name = "first";
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    s.span_id = 2;
    s.name = "second";
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    nl = strchr(out.p, '\n');
    cr_assert_not_null(nl);
    o = parse_line(out.p, (size_t)(nl + 1 - out.p));
    cr_assert_str_eq(obj_str(o, "name"), "first");
    json_decref(o);
    o = parse_line(nl + 1, out.len - (size_t)(nl + 1 - out.p));
    cr_assert_str_eq(obj_str(o, "name"), "second");
    json_decref(o);
    at_buf_free(&out);
}

/* Attributes that jansson cannot dump as a document (a bare string) make
 * the call fail and leave the buffer as it was. */
Test(span, unserialisable_attributes_fail_cleanly)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *bad = json_string("not an object");

    memset(&s, 0, sizeof(s));
    s.span_id = 3;
    s.name = "x";
    s.attrs = bad;
    at_buf_init(&out, 1 << 20);
    at_buf_append(&out, "prev\n", 5);
    cr_assert_eq(at_span_line(&out, &p, &s), -1);
    cr_assert_eq(out.len, 5);
    cr_assert_str_eq(out.p, "prev\n");
    json_decref(bad);
    at_buf_free(&out);
}

/* A line that does not fit the buffer's limit fails, and the lines already
 * in the buffer are kept, with the buffer usable afterwards. */
Test(span, line_over_buffer_limit_is_rolled_back)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o;

    memset(&s, 0, sizeof(s));
    s.span_id = 3;
    s.name = "x";
    at_buf_init(&out, 200);
    at_buf_append(&out, "prev\n", 5);
    cr_assert_eq(at_span_line(&out, &p, &s), -1);
    cr_assert_eq(out.len, 5);
    cr_assert(memcmp(out.p, "prev\n", 5) == 0);
    cr_assert_eq(out.truncated, 0);
    /* with room again, the next line is whole */
    out.max = 1 << 20;
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p + 5, out.len - 5);
    json_decref(o);
    at_buf_free(&out);
}

/* Regression (fixed): sink/span.c, at_span_line, the rollback after a truncated line
 * ("out->len = mark;", span.c:295): it shortens the buffer without restoring the NUL
 * that decode/buf.h promises after the contents ("The contents are always
 * followed by a NUL byte"), so out->p read as a C string runs on into the
 * half-written, discarded line. */
Test(span, regression_rollback_leaves_buffer_unterminated)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;

    memset(&s, 0, sizeof(s));
    s.span_id = 3;
    s.name = "x";
    at_buf_init(&out, 200);
    at_buf_append(&out, "prev\n", 5);
    cr_assert_eq(at_span_line(&out, &p, &s), -1);
    cr_assert_eq(out.len, 5);
    cr_expect_eq(out.p[out.len], '\0',
                 "after a failed at_span_line the buffer is not "
                 "NUL-terminated: \"%s\"", out.p);
    cr_expect_str_eq(out.p, "prev\n");
    at_buf_free(&out);
}

/* The exact bytes of a span line, pinned: the outer shape (jw), the
 * attributes (at_jw_json) and the process's resource. */
Test(span, line_bytes_pinned)
{
    at_proc p;
    at_span s;
    at_buf out;
    json_t *attrs = json_loads(
        "{\"gen_ai.operation.name\":\"chat\",\"gen_ai.usage.input_tokens\":12,"
        "\"gen_ai.input.messages\":[{\"role\":\"user\",\"parts\":[{\"type\":"
        "\"text\",\"content\":\"Hi \\\"there\\\"\\n\\u001b\"}]}],"
        "\"agenttrace.cost.usd\":7.2e-6,\"x\":[true,false,null,{},[]]}", 0,
        NULL);

    memset(&p, 0, sizeof(p));
    memset(p.trace_id, 0xab, 16);
    p.pid = 42;
    p.ppid = 41;
    p.start_wall_ns = 1763800000000000000ull;
    p.start_mono_ns = 5000000000ull;
    p.described = 1;
    strcpy(p.exe, "python3");
    strcpy(p.service, "agent.py");
    strcpy(p.cmdline, "python3 agent.py \"q\"\t\x01");
    memset(&s, 0, sizeof(s));
    s.span_id = 0x1122334455667788ull;
    s.parent_id = 0x99;
    s.name = "chat gpt-4o";
    s.client = 1;
    s.start_mono = 5000000100ull;
    s.end_mono = 5000000350ull;
    s.status = AT_STATUS_ERROR;
    s.status_message = "rate \"limited\"";
    s.attrs = attrs;
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    cr_assert_str_eq(out.p,
        "{\"trace_id\":\"abababababababababababababababab\","
        "\"span_id\":\"1122334455667788\",\"parent_span_id\":"
        "\"0000000000000099\",\"name\":\"chat gpt-4o\",\"kind\":\"client\","
        "\"start_time_unix_nano\":1763800000000000100,"
        "\"end_time_unix_nano\":1763800000000000350,"
        "\"status\":{\"code\":\"error\",\"message\":\"rate \\\"limited\\\"\"},"
        "\"resource\":{\"service.name\":\"agent.py\",\"process.pid\":42,"
        "\"process.parent_pid\":41,\"process.executable.name\":\"python3\","
        "\"process.command_line\":\"python3 agent.py \\\"q\\\"\\t\\u0001\","
        "\"telemetry.sdk.name\":\"agenttrace\",\"telemetry.sdk.language\":"
        "\"c\",\"telemetry.sdk.version\":\"0.1.0\"},\"attributes\":{"
        "\"gen_ai.operation.name\":\"chat\",\"gen_ai.usage.input_tokens\":12,"
        "\"gen_ai.input.messages\":[{\"role\":\"user\",\"parts\":[{\"type\":"
        "\"text\",\"content\":\"Hi \\\"there\\\"\\n\\u001B\"}]}],"
        "\"agenttrace.cost.usd\":7.1999999999999997e-6,"
        "\"x\":[true,false,null,{},[]]},\"events\":[]}\n");
    /* the process line, written without jansson */
    at_buf_reset(&out);
    at_span_process_line(&out, &p, "", 1, p.start_mono_ns + 7, 3);
    cr_assert_str_eq(out.p,
        "{\"trace_id\":\"abababababababababababababababab\","
        "\"span_id\":\"0000000000000000\",\"name\":\"invoke_agent agent.py\","
        "\"kind\":\"internal\",\"start_time_unix_nano\":1763800000000000000,"
        "\"end_time_unix_nano\":1763800000000000007,"
        "\"status\":{\"code\":\"error\",\"message\":\"exit code 3\"},"
        "\"resource\":{\"service.name\":\"agent.py\",\"process.pid\":42,"
        "\"process.parent_pid\":41,\"process.executable.name\":\"python3\","
        "\"process.command_line\":\"python3 agent.py \\\"q\\\"\\t\\u0001\","
        "\"telemetry.sdk.name\":\"agenttrace\",\"telemetry.sdk.language\":"
        "\"c\",\"telemetry.sdk.version\":\"0.1.0\"},\"attributes\":{"
        "\"gen_ai.operation.name\":\"invoke_agent\",\"gen_ai.agent.name\":"
        "\"agent.py\",\"process.pid\":42,\"process.executable.name\":"
        "\"python3\",\"process.command_line\":\"python3 agent.py \\\"q\\\"\\t"
        "\\u0001\",\"process.exit_code\":3},\"events\":[]}\n");
    json_decref(attrs);
    at_buf_free(&out);
}

/* The resource is written once per process and kept in the at_proc; a
 * forked child (new pid and parent, described afresh) gets its own, and a
 * resource too long for the cache is written every time. */
Test(span, resource_cached_per_process)
{
    at_proc p = make_proc();
    at_span s;
    at_buf out;
    json_t *o, *res;
    size_t i;

    memset(&s, 0, sizeof(s));
    s.span_id = 7;
    s.name = "x";
    at_buf_init(&out, 1 << 20);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    cr_assert_eq(p.cache_state, 1);
    o = parse_line(out.p, out.len);
    check_common(o, &p);
    json_decref(o);
    /* as identity.c's fork handler leaves it */
    p.pid += 1000;
    p.ppid = getpid();
    p.described = 0;
    at_buf_reset(&out);
    cr_assert_eq(at_span_line(&out, &p, &s), 0);
    o = parse_line(out.p, out.len);
    res = json_object_get(o, "resource");
    cr_assert_eq(obj_int(res, "process.pid"), p.pid);
    cr_assert_eq(obj_int(res, "process.parent_pid"), getpid());
    json_decref(o);
    /* too long to keep: 4000 control characters are 24000 bytes escaped */
    for (i = 0; i < 4000; i++)
        p.cmdline[i] = '\x01';
    p.cmdline[i] = '\0';
    p.cache_state = 0;
    for (i = 0; i < 2; i++) {
        at_buf_reset(&out);
        cr_assert_eq(at_span_line(&out, &p, &s), 0);
        cr_assert_eq(p.cache_state, 2);
        o = parse_line(out.p, out.len);
        res = json_object_get(o, "resource");
        cr_assert_eq(strlen(obj_str(res, "process.command_line")), 4000);
        json_decref(o);
    }
    at_buf_free(&out);
}

/* ---- the process span --------------------------------------------------- */

Test(span, process_line_invoke_agent_ok)
{
    at_proc p = make_proc();
    at_buf out;
    json_t *o, *a, *st;
    char hex[17];

    p.parent_span_id = 0xa3ce929d0e0e4736ull;
    at_buf_init(&out, 1 << 20);
    at_span_process_line(&out, &p, "planner", 1, p.start_mono_ns + 2500, 0);
    o = parse_line(out.p, out.len);
    check_common(o, &p);
    at_hex64(hex, p.span_id);
    cr_assert_str_eq(obj_str(o, "span_id"), hex);
    cr_assert_str_eq(obj_str(o, "parent_span_id"), "a3ce929d0e0e4736");
    cr_assert_str_eq(obj_str(o, "name"), "invoke_agent planner");
    cr_assert_str_eq(obj_str(o, "kind"), "internal");
    cr_assert_eq(obj_int(o, "start_time_unix_nano"),
                 (json_int_t)p.start_wall_ns);
    cr_assert_eq(obj_int(o, "end_time_unix_nano"),
                 (json_int_t)(p.start_wall_ns + 2500));
    st = json_object_get(o, "status");
    cr_assert_str_eq(obj_str(st, "code"), "ok");
    cr_assert_null(json_object_get(st, "message"));
    a = json_object_get(o, "attributes");
    cr_assert_str_eq(obj_str(a, "gen_ai.operation.name"), "invoke_agent");
    cr_assert_str_eq(obj_str(a, "gen_ai.agent.name"), "planner");
    cr_assert_eq(obj_int(a, "process.pid"), getpid());
    cr_assert_str_eq(obj_str(a, "process.executable.name"), p.exe);
    cr_assert_str_eq(obj_str(a, "process.command_line"), p.cmdline);
    cr_assert_eq(obj_int(a, "process.exit_code"), 0);
    json_decref(o);
    at_buf_free(&out);
}

Test(span, process_line_agent_name_defaults_to_service)
{
    const char *names[] = {NULL, ""};
    int k;

    for (k = 0; k < 2; k++) {
        at_proc p = make_proc();
        at_buf out;
        json_t *o, *a;
        char want[600];

        at_buf_init(&out, 1 << 20);
        at_span_process_line(&out, &p, names[k], 1, p.start_mono_ns, -1);
        o = parse_line(out.p, out.len);
        check_common(o, &p);
        cr_assert_null(json_object_get(o, "parent_span_id"));
        snprintf(want, sizeof(want), "invoke_agent %s", p.service);
        cr_assert_str_eq(obj_str(o, "name"), want);
        a = json_object_get(o, "attributes");
        cr_assert_str_eq(obj_str(a, "gen_ai.agent.name"), p.service);
        /* exit status unknown: unset, and no exit code */
        cr_assert_str_eq(obj_str(json_object_get(o, "status"), "code"),
                         "unset");
        cr_assert_null(json_object_get(a, "process.exit_code"));
        json_decref(o);
        at_buf_free(&out);
    }
}

Test(span, process_line_plain_process_error)
{
    at_proc p = make_proc();
    at_buf out;
    json_t *o, *a, *st;
    char want[600];

    p.parent_span_id = 5;
    p.traced_parent = 1;
    at_buf_init(&out, 1 << 20);
    at_span_process_line(&out, &p, "ignored-for-processes", 0,
                         p.start_mono_ns + 10, 3);
    o = parse_line(out.p, out.len);
    check_common(o, &p);
    cr_assert_str_eq(obj_str(o, "parent_span_id"), "0000000000000005");
    snprintf(want, sizeof(want), "process %s", p.exe);
    cr_assert_str_eq(obj_str(o, "name"), want);
    st = json_object_get(o, "status");
    cr_assert_str_eq(obj_str(st, "code"), "error");
    cr_assert_str_eq(obj_str(st, "message"), "exit code 3");
    a = json_object_get(o, "attributes");
    cr_assert_str_eq(obj_str(a, "gen_ai.operation.name"), "process");
    cr_assert_null(json_object_get(a, "gen_ai.agent.name"));
    cr_assert_eq(obj_int(a, "process.exit_code"), 3);
    json_decref(o);
    at_buf_free(&out);
}

Test(span, process_line_awkward_agent_name)
{
    at_proc p = make_proc();
    at_buf out;
    json_t *o;
    char longname[400];

    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    at_buf_init(&out, 1 << 20);
    at_span_process_line(&out, &p, "a \"quoted\"\n\xFF name", 1,
                         p.start_mono_ns, 255);
    o = parse_line(out.p, out.len);
    cr_assert_str_eq(obj_str(o, "name"),
                     "invoke_agent a \"quoted\"\n" FFFD " name");
    cr_assert_str_eq(obj_str(json_object_get(o, "status"), "message"),
                     "exit code 255");
    json_decref(o);
    at_buf_reset(&out);
    /* a long name is cut, the line stays valid */
    at_span_process_line(&out, &p, longname, 1, p.start_mono_ns, 0);
    o = parse_line(out.p, out.len);
    cr_assert_str_eq(obj_str(json_object_get(o, "attributes"),
                             "gen_ai.agent.name"), longname);
    cr_assert_lt(strlen(obj_str(o, "name")), 512);
    json_decref(o);
    at_buf_free(&out);
}

/* ---- at_proc_describe in this process ----------------------------------- */

Test(proc, describe_names_the_test_binary)
{
    at_proc p;
    char joined[8192], exe[256];

    memset(&p, 0, sizeof(p));
    read_cmdline(joined, sizeof(joined), exe, sizeof(exe));
    at_proc_describe(&p);
    cr_assert_eq(p.described, 1);
    cr_assert_str_eq(p.exe, exe);
    cr_assert_str_eq(p.service, exe, "the test binary is no interpreter");
    cr_assert_str_eq(p.cmdline, joined);
    /* once only */
    strcpy(p.exe, "changed");
    at_proc_describe(&p);
    cr_assert_str_eq(p.exe, "changed");
}

/* ---- at_proc_describe under a chosen argv (credential scrubbing) ------- */

struct probe {
    int status;             /* waitpid status */
    char exe[256], service[256], cmdline[8192];
};

/* The probe runs as <PROBE_DIR>/<argv[0]>, a symbolic link to this binary,
 * with that whole path as its argv[0]: valgrind --trace-children replaces
 * a child's argv[0] by the path it was started from, so the test passes
 * the path itself and gets the same /proc/self/cmdline with or without
 * valgrind.  The directory prefix is removed from the cmdline collected. */
#define PROBE_DIR "/tmp/at_span_probe_XXXXXX"

/* probe_argv0_len: the length of the probe's argv[0] for `name`. */
static size_t probe_argv0_len(const char *name)
{
    return strlen(PROBE_DIR) + 1 + strlen(name);
}

/* run_probe: start this test binary as `argv` and collect what
 * at_proc_describe printed. */
static void run_probe(const char *const *argv, struct probe *pr)
{
    char self[4096], dir[] = PROBE_DIR, link[4200];
    char out[3 * 8192];
    char **envp;
    const char **av;
    size_t n = 0, ne = 0, na = 0, k, dl;
    ssize_t r, len;
    int fd[2];
    pid_t pid;
    char *l1, *l2, *l3;

    memset(pr, 0, sizeof(*pr));
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    cr_assert(len > 0);
    self[len] = '\0';
    cr_assert_not_null(mkdtemp(dir));
    snprintf(link, sizeof(link), "%s/%s", dir, argv[0]);
    cr_assert_eq(strlen(link), probe_argv0_len(argv[0]));
    cr_assert_eq(symlink(self, link), 0, "symlink: %s", strerror(errno));
    while (argv[na])
        na++;
    av = calloc(na + 1, sizeof(*av));
    cr_assert_not_null(av);
    av[0] = link;
    for (k = 1; k < na; k++)
        av[k] = argv[k];
    while (environ[ne])
        ne++;
    envp = calloc(ne + 2, sizeof(*envp));
    cr_assert_not_null(envp);
    for (k = 0; k < ne; k++)
        envp[k] = environ[k];
    envp[ne] = "AT_TEST_SPAN_PROBE=1";
    cr_assert_eq(pipe(fd), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execve(link, (char *const *)av, envp);
        _exit(127);
    }
    close(fd[1]);
    while (n < sizeof(out) - 1 &&
           (r = read(fd[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fd[0]);
    cr_assert_eq(waitpid(pid, &pr->status, 0), pid);
    unlink(link);
    rmdir(dir);
    free(envp);
    free(av);
    l1 = out;
    l2 = strchr(l1, '\n');
    l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    if (l2 && l3) {
        *l2++ = '\0';
        *l3++ = '\0';
        l3[strcspn(l3, "\n")] = '\0';
        dl = strlen(dir);
        if (!strncmp(l3, dir, dl) && l3[dl] == '/')
            l3 += dl + 1;
        copy_cut(pr->exe, sizeof(pr->exe), l1);
        copy_cut(pr->service, sizeof(pr->service), l2);
        copy_cut(pr->cmdline, sizeof(pr->cmdline), l3);
    }
}

static void expect_probe(const char *const *argv, const char *exe,
                         const char *service, const char *cmdline)
{
    struct probe pr;

    run_probe(argv, &pr);
    cr_assert(WIFEXITED(pr.status) && WEXITSTATUS(pr.status) == 0,
              "probe %s died (status 0x%x)", argv[0], pr.status);
    cr_expect_str_eq(pr.exe, exe);
    cr_expect_str_eq(pr.service, service);
    cr_expect_str_eq(pr.cmdline, cmdline);
}

Test(proc, scrubs_curl_credentials, .timeout = 60)
{
    const char *const argv[] = {
        "curl", "-H", "Authorization: Bearer sk-abcdefghijkl",
        "https://x/v1?key=SECRETSECRET&a=1", "--api-key",
        "sk-zzzzzzzzzzzz", NULL};
    struct probe pr;

    run_probe(argv, &pr);
    cr_assert(WIFEXITED(pr.status) && WEXITSTATUS(pr.status) == 0);
    cr_assert_str_eq(pr.exe, "curl");
    cr_assert_str_eq(pr.service, "curl");
    cr_assert_str_eq(pr.cmdline,
                     "curl -H Authorization: REDACTED "
                     "https://x/v1?key=REDACTED&a=1 --api-key REDACTED");
    cr_assert_null(strstr(pr.cmdline, "abcdefghijkl"));
    cr_assert_null(strstr(pr.cmdline, "SECRETSECRET"));
    cr_assert_null(strstr(pr.cmdline, "zzzzzzzz"));
}

Test(proc, scrubs_long_secrets_in_every_form, .timeout = 60)
{
    const char *const argv[] = {
        "python3", "agent.py", "--api-key=sk-live-0123456789abcdef",
        "x-api-key: 0123456789abcdef", "Bearer abcdefghijklmnop",
        "token=abcdefghij", "OPENAI_API_KEY=sk-abcdefghijklmnop",
        "--token", "tttttttttttttttt", "Cookie: session=0123456789abcdef",
        "https://h/p?page=2&api_key=kkkkkkkkkkkk#frag", NULL};

    expect_probe(argv, "python3", "agent.py",
                 "python3 agent.py --api-key=REDACTED "
                 "x-api-key: REDACTED Bearer REDACTED token=REDACTED "
                 "OPENAI_API_KEY=REDACTED --token REDACTED "
                 "Cookie: REDACTED https://h/p?page=2&api_key=REDACTED#frag");
}

/* A Google API key (AIza and 35 key characters) standing in a script's
 * text or an argument, as sk- keys do; shorter AIza words stay. */
Test(proc, scrubs_google_keys_in_script_text, .timeout = 60)
{
    const char *const argv[] = {
        "node", "-e",
        "fetch(u,{headers:{'x-goog-api-key':"
        "'AIzaSyA0123456789abcdefghijklmnopqrstuv'}})",
        "GEMINI_API_KEY=AIzaSyB0123456789abcdefghijklmnopqrstuv",
        "AIzaShort", NULL};

    expect_probe(argv, "node", "node",
                 "node -e fetch(u,{headers:{'x-goog-api-key':'REDACTED'}}) "
                 "GEMINI_API_KEY=REDACTED AIzaShort");
}

Test(proc, interpreter_service_names, .timeout = 60)
{
    const char *const a1[] = {"python3.12", "-m", "mypkg.main", "--x",
                              NULL};
    const char *const a2[] = {"sh", "-c", "echo hi", NULL};
    const char *const a3[] = {"node", "--no-warnings", "/srv/app/index.js",
                              NULL};
    const char *const a4[] = {"toolbox", "run", "thing", NULL};
    /* options whose value is the next argument: not the script */
    const char *const a5[] = {"python3", "-W", "ignore", "-X", "utf8",
                              "agent.py", NULL};
    const char *const a6[] = {"node", "-r", "dotenv/config",
                              "/srv/bot.mjs", NULL};

    expect_probe(a1, "python3.12", "mypkg.main",
                 "python3.12 -m mypkg.main --x");
    expect_probe(a2, "sh", "sh", "sh -c echo hi");
    expect_probe(a3, "node", "index.js",
                 "node --no-warnings /srv/app/index.js");
    expect_probe(a4, "toolbox", "toolbox", "toolbox run thing");
    expect_probe(a5, "python3", "agent.py",
                 "python3 -W ignore -X utf8 agent.py");
    expect_probe(a6, "node", "bot.mjs", "node -r dotenv/config /srv/bot.mjs");
}

/* Regression (fixed): sink/span.c, redact_tail (span.c:66-69) as called by redact_arg at
 * :77 (value after "-u", "--token", ...), :86 ("--opt=value") and :94
 * (header arguments): redact_tail does strcpy(arg + from,
 * "REDACTED"), writing 9 bytes whatever the secret's length, although the
 * comment promises "the string can only get shorter".  A secret shorter
 * than 8 bytes makes the argument longer; in at_proc_describe the
 * arguments lie back to back in raw[], so the overflow overwrites the next
 * argument: "curl -u ab https://example.com/x" comes out as
 * "curl -u REDACTED ACTED" (the URL is lost). */
Test(proc, regression_short_secret_option_value_clobbers_next_arg, .timeout = 60)
{
    const char *const argv[] = {"curl", "-u", "ab", "https://example.com/x",
                                NULL};

    expect_probe(argv, "curl", "curl",
                 "curl -u REDACTED https://example.com/x");
}

/* Regression (fixed): the same, through the header form: "Cookie: a=1" (11 bytes) is
 * rewritten to "Cookie: REDACTED" (16) over the next argument. */
Test(proc, regression_short_secret_header_clobbers_next_arg, .timeout = 60)
{
    const char *const argv[] = {"curl", "-H", "Cookie: a=1",
                                "https://example.com/", NULL};

    expect_probe(argv, "curl", "curl",
                 "curl -H Cookie: REDACTED https://example.com/");
}

/* Regression (fixed): the same, through "--password=pw" (redact_tail after '='). */
Test(proc, regression_short_secret_option_equals_clobbers_next_arg, .timeout = 60)
{
    const char *const argv[] = {"prog", "--password=pw", "next-arg", NULL};

    expect_probe(argv, "prog", "prog", "prog --password=REDACTED next-arg");
}

/* Regression (fixed): sink/span.c, redact_arg, query parameters (span.c:100-111): the
 * guard (:104) "strlen(arg + i + n) >= 8" measures the rest of the argument, not
 * the value, which ends at '&', '#' or ' '.  A short value ("key=abc&...")
 * is replaced by the 8-byte "REDACTED" with memmove(arg + i + n + 8, ...)
 * (:107), which moves the tail right and overwrites the next argument. */
Test(proc, regression_short_query_secret_clobbers_next_arg, .timeout = 60)
{
    const char *const argv[] = {"curl", "https://x/?key=abc&page=12345678",
                                "https://example.com/next", NULL};

    expect_probe(argv, "curl", "curl",
                 "curl https://x/?key=REDACTED&page=12345678 "
                 "https://example.com/next");
}

/* Regression (fixed): the same overflow at the end of at_proc_describe's raw[4096]: when
 * /proc/self/cmdline is longer than 4095 bytes it is cut there, and a
 * short secret value in the last 8 bytes is "redacted" past the end of the
 * stack array (span.c:137 raw[4096]; here 6 bytes past it).  With
 * AddressSanitizer the probe dies with stack-buffer-overflow; without it
 * the neighbouring locals are silently overwritten. */
Test(proc, regression_short_secret_at_cmdline_cut_overflows_stack, .timeout = 60)
{
    /* argv[0] + "\0" + filler + "\0" + "-u\0" puts the value at
     * raw[4093]: raw[4093..4094] = "ab", raw[4095] = the NUL that
     * at_proc_describe adds after the 4095 bytes it reads */
    static char filler[4096];
    const char *argv[] = {"prog", filler, "-u", "abcdefgh", NULL};
    size_t flen = 4093 - 3 - 1 - (probe_argv0_len("prog") + 1);
    struct probe pr;

    memset(filler, 'A', flen);
    filler[flen] = '\0';
    run_probe(argv, &pr);
    cr_assert(WIFEXITED(pr.status) && WEXITSTATUS(pr.status) == 0,
              "probe died (status 0x%x): stack overflow in "
              "at_proc_describe", pr.status);
    cr_assert(strncmp(pr.cmdline, "prog AAAA", 9) == 0);
    cr_assert_lt(strlen(pr.cmdline), 4096);
    cr_assert_null(strstr(pr.cmdline, "abcdefgh"));
}

/* Regression (fixed): sink/span.c, secret_options (span.c:59-61) lists "-u" for curl's
 * --user, but every program's "-u" is taken to announce a secret: for
 * "python3 -u agent.py" (unbuffered Python, common for agents run under a
 * supervisor) the script name is replaced by REDACTED, and since
 * at_proc_describe picks service.name after scrubbing, service.name
 * becomes "REDACTED" instead of "agent.py". */
Test(proc, regression_python_dash_u_loses_the_script_name, .timeout = 60)
{
    const char *const argv[] = {"python3", "-u", "agent.py", NULL};

    expect_probe(argv, "python3", "agent.py", "python3 -u agent.py");
}

/* A secret header or an SDK's key given a value inside a script's text
 * (python -c, node -e, sh -c) is redacted whatever the key looks like:
 * quoted or not, ':' or '=', any case; the names' look-alikes and a name
 * without a value stay. */
Test(proc, scrubs_secret_names_in_script_text, .timeout = 60)
{
    const char *const argv[] = {
        "python3", "-c",
        "requests.post(u, headers={'Cookie': 'session=abc; id=7', "
        "\"Authorization\": \"Basic dXNlcjpwYXNz\"}, "
        "json={'x-api-key' : 'gsk_live0123'}); "
        "OpenAI(api_key=\"mistral0123\"); cookies={'cookiejar': 1}; "
        "print('authorization')",
        NULL};
    const char *const sh[] = {
        "sh", "-c",
        "curl -H 'cookie: a=b; c=d' -H \"Set-Cookie: x=y\" u; APIKEY=k9 run",
        NULL};

    expect_probe(argv, "python3", "python3",
                 "python3 -c requests.post(u, headers={'Cookie': 'REDACTED', "
                 "\"Authorization\": \"REDACTED\"}, "
                 "json={'x-api-key' : 'REDACTED'}); "
                 "OpenAI(api_key=\"REDACTED\"); cookies={'cookiejar': 1}; "
                 "print('authorization')");
    expect_probe(sh, "sh", "sh",
                 "sh -c curl -H 'cookie: REDACTED' -H \"Set-Cookie: REDACTED\" "
                 "u; APIKEY=REDACTED run");
}
