/* test_identity.c - unit tests of preload/identity.c's parsing: the start
 * time read from /proc/PID/stat, and AGENTTRACE_CONTEXT.
 *
 * Runs in the Criterion test runner.  preload/identity.c belongs to the
 * shim, not to build/libatcore.a, so it is compiled into this test by the
 * #include below; the two functions it takes from preload/config.c are
 * stubs here, the rest (ids, jw, at_log, at_proc_wall) comes from the
 * archive.
 *
 * The assumptions checked:
 *   - the at_eq_bytes and at_count_flags word helpers (decode/swar.h)
 *     flag and count exactly the bytes equal to a given one, for every
 *     byte value at every position and for random words;
 *   - last_paren finds the last ')' and after_spaces the byte after the
 *     n-th space, as a plain byte loop does, in buffers of every length
 *     from 0 to 80 (the vector and word steps and their tails);
 *   - proc_starttime gives field 22 of /proc/PID/stat as sscanf reads it,
 *     for this process, its parent and pid 1, and 0 for a pid that does
 *     not exist;
 *   - parse_ctx, which reads a context without measuring it first,
 *     decides every string as it did when it checked 87 bytes' length
 *     first: each truncation of a valid context and each byte value at
 *     each position, every string allocated to end at its NUL (so that
 *     valgrind and ASan see any read past it).
 */
#include "preload/identity.c"   /* the code under test, see above */

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- stubs of preload/config.c ------------------------------------------ */

const char *at_config_env(int which)
{
    (void)which;
    return NULL;
}

void at_config_export_context(char *entry)
{
    (void)entry;
}

/* ---- helpers ------------------------------------------------------------ */

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* a copy of the n bytes at s and a NUL in exactly n + 1 bytes of heap */
static char *exact_copy(const char *s, size_t n)
{
    char *c = malloc(n + 1);

    cr_assert_not_null(c);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

/* ---- swar.h: at_eq_bytes, at_count_flags ---------------------------------- */

static void eq_bytes_check(uint64_t w, unsigned char c)
{
    unsigned char b[8];
    uint64_t want = 0;
    unsigned count = 0;
    int i;

    memcpy(b, &w, 8);
    for (i = 0; i < 8; i++) {
        if (b[i] == c) {
            uint64_t flag = 0;

            memset((unsigned char *)&flag + i, 0x80, 1);
            want |= flag;
            count++;
        }
    }
    cr_assert_eq(at_eq_bytes(w, c), want, "%016llx %02x",
                 (unsigned long long)w, c);
    cr_assert_eq(at_count_flags(want), count);
}

Test(swar, eq_bytes_exact)
{
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int c, pos, k;

    /* every byte value at every position, in words of c and of c ^ 1
     * and of zeros around it (borrows are what at_has_byte gets wrong) */
    for (c = 0; c < 256; c++) {
        for (pos = 0; pos < 8; pos++) {
            static const unsigned char fill[] = {0x00, 0x01, 0x80, 0xff};
            int f;

            for (f = 0; f < 4; f++) {
                unsigned char b[8];
                uint64_t w;

                memset(b, fill[f], 8);
                b[pos] = (unsigned char)c;
                memcpy(&w, b, 8);
                eq_bytes_check(w, (unsigned char)c);
                eq_bytes_check(w, ' ');
                eq_bytes_check(w, ')');
                eq_bytes_check(w, fill[f]);
            }
        }
    }
    for (k = 0; k < 200000; k++) {
        uint64_t w = xorshift(&s), m = xorshift(&s);
        unsigned char c2 = (unsigned char)(m >> 56);
        unsigned char b[8];
        int i;

        /* a random set of bytes made equal to c2 */
        memcpy(b, &w, 8);
        for (i = 0; i < 8; i++)
            if (m >> i & 1)
                b[i] = c2;
        memcpy(&w, b, 8);
        eq_bytes_check(w, c2);
    }
}

/* ---- last_paren, after_spaces -------------------------------------------- */

static const char *ref_last_paren(const char *buf, size_t n)
{
    size_t i;

    for (i = n; i > 0; i--)
        if (buf[i - 1] == ')')
            return buf + i - 1;
    return NULL;
}

static const char *ref_after_spaces(const char *p, const char *end,
                                    unsigned count)
{
    for (; p < end; p++)
        if (*p == ' ' && --count == 0)
            return p + 1;
    return end;
}

Test(stat, paren_and_spaces_as_a_byte_loop)
{
    static const char alphabet[] = ")  (a0-9";
    uint64_t s = 0x853c49e6748fea9bull;
    size_t n, i;
    int k;

    for (n = 0; n <= 80; n++) {
        for (k = 0; k < 500; k++) {
            char *buf = malloc(n + 1);
            unsigned count;

            cr_assert_not_null(buf);
            for (i = 0; i < n; i++)
                buf[i] = alphabet[xorshift(&s) % (sizeof(alphabet) - 1)];
            buf[n] = '\0';
            if (k == 0)             /* no ')' at all */
                memset(buf, 'a', n);
            cr_assert_eq(last_paren(buf, n), ref_last_paren(buf, n),
                         "\"%s\"", buf);
            for (count = 1; count <= 25; count++)
                cr_assert_eq(after_spaces(buf, buf + n, count),
                             ref_after_spaces(buf, buf + n, count),
                             "\"%s\" %u", buf, count);
            free(buf);
        }
    }
}

/* ---- proc_starttime -------------------------------------------------------- */

/* field 22 of /proc/PID/stat as sscanf reads it after the last ')' */
static unsigned long long ref_starttime(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long v = 0;
    const char *p;
    size_t n;
    FILE *f;
    int field;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    cr_assert_not_null(p);
    for (field = 2; field < 22; field++) {
        p = strchr(p, ' ');
        cr_assert_not_null(p);
        p++;
    }
    cr_assert_eq(sscanf(p, "%llu", &v), 1);
    return v;
}

Test(stat, starttime_as_sscanf_reads_it)
{
    cr_assert_neq(proc_starttime(getpid()), 0);
    cr_assert_eq(proc_starttime(getpid()), ref_starttime(getpid()));
    cr_assert_eq(proc_starttime(getppid()), ref_starttime(getppid()));
    cr_assert_eq(proc_starttime(1), ref_starttime(1));
    cr_assert_eq(proc_starttime(-1), 0);
    cr_assert_eq(proc_starttime(0x7ffffffe), 0);
}

/* ---- parse_ctx ----------------------------------------------------------- */

struct ctx {
    int rc;
    unsigned char trace[16];
    uint64_t cur, own, par;
    long pid;
    unsigned long long start;
};

/* parse_ctx, and parse_ctx as it was: no decision without 87 bytes */
static void parse_both(const char *v, struct ctx *got, struct ctx *old)
{
    memset(got, 0, sizeof(*got));
    memset(old, 0, sizeof(*old));
    got->rc = parse_ctx(v, got->trace, &got->cur, &got->own, &got->par,
                        &got->pid, &got->start);
    old->rc = -1;
    if (has_len(v, 32 + 1 + 16 + 1 + 16 + 1 + 16 + 1 + 1 + 1 + 1))
        old->rc = parse_ctx(v, old->trace, &old->cur, &old->own,
                            &old->par, &old->pid, &old->start);
}

static void ctx_same(const char *s, size_t n)
{
    char *v = exact_copy(s, n);
    struct ctx got, old;

    parse_both(v, &got, &old);
    cr_assert_eq(got.rc, old.rc, "\"%s\"", v);
    if (got.rc == 0) {
        cr_assert(memcmp(got.trace, old.trace, 16) == 0);
        cr_assert_eq(got.cur, old.cur);
        cr_assert_eq(got.own, old.own);
        cr_assert_eq(got.par, old.par);
        cr_assert_eq(got.pid, old.pid);
        cr_assert_eq(got.start, old.start);
    }
    free(v);
}

Test(ctx, parses_without_a_length_check_as_before)
{
    static const char *const good[] = {
        "0204bf58b066adf5c9bbdaeb499fb6b1-1b0365e684686c70-"
        "1b0365e684686c70-0000000000000000-13760-1796680799976420747",
        "0204BF58B066ADF5C9BBDAEB499FB6B1-1B0365E684686C70-"
        "1b0365e684686c70-ffffffffffffffff--1-0",
        "00000000000000000000000000000000-0000000000000000-"
        "0000000000000000-0000000000000000-0-0",
        NULL};
    int g;

    for (g = 0; good[g]; g++) {
        size_t len = strlen(good[g]), n, pos;
        struct ctx got, old;
        char *v = exact_copy(good[g], len);
        int c;

        parse_both(v, &got, &old);
        cr_assert_eq(got.rc, 0, "\"%s\"", v);
        free(v);
        for (n = 0; n <= len; n++)      /* every truncation */
            ctx_same(good[g], n);
        for (pos = 0; pos < len; pos++) {
            for (c = 0; c < 256; c++) {  /* every byte at every position */
                char *m = exact_copy(good[g], len);

                m[pos] = (char)c;
                /* a NUL ends the string there: allocated to end there */
                ctx_same(m, c == 0 ? pos : len);
                free(m);
            }
        }
    }
}
