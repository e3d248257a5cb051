/* test_attrs.c - decode/attrs.c (a span's attributes as a flat list) and
 * at_jw_utf8_ok (sink/jw.c), which its string setters rely on.
 *
 * The contract: at_attrs_write writes, byte for byte, what at_jw_json
 * writes for a jansson object given the same settings in the same order
 * (json_object_set_new: a key set again keeps its first place; a deleted
 * key set again goes to the end).  So the tests do the same operations on
 * a list and on a jansson object (the model) and compare the bytes, and
 * at_attrs_to_json's json_dumps with the model's: a fixed sequence, and
 * 20000 random operations over 60 keys (every kind, escapes, NULs, invalid
 * UTF-8, int64 and real extremes, trees, RAW text, take, deletions), with
 * the getters checked against the model too.  Then: invalid UTF-8 becoming
 * U+FFFD, at_jw_utf8_ok against jansson's check, the getters by kind and
 * on look-alike keys, at_attrs_take, refused settings keeping the earlier
 * value, free/init, keys needing escapes, and members written at once
 * (at_attrs_close_members) in their place.  Everything is freed: under
 * valgrind the suite shows no leak. */
#include <criterion/criterion.h>

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/attrs.h"
#include "decode/buf.h"
#include "sink/jw.h"

/* ---- checks ------------------------------------------------------------ */

/* The list's bytes must be the model's (at_jw_json). */
static void check_write(const at_attrs *a, const json_t *model)
{
    at_buf x, y;

    at_buf_init(&x, (size_t)1 << 26);
    at_buf_init(&y, (size_t)1 << 26);
    cr_assert_eq(at_attrs_write(&x, a), 0);
    cr_assert_eq(at_jw_json(&y, model), 0);
    cr_assert(x.len == y.len && memcmp(x.p, y.p, x.len) == 0,
              "attrs:   %.*s\njansson: %.*s", (int)x.len, x.p, (int)y.len,
              y.p);
    at_buf_free(&x);
    at_buf_free(&y);
}

/* check_write, and at_attrs_to_json dumped must be the model dumped. */
static void check_same(const at_attrs *a, const json_t *model)
{
    json_t *o = at_attrs_to_json(a);
    char *dx = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *dy = json_dumps(model, JSON_COMPACT);

    check_write(a, model);
    cr_assert(dx != NULL && dy != NULL);
    cr_assert_str_eq(dx, dy);
    free(dx);
    free(dy);
    json_decref(o);
}

/* The list's bytes must be `want`. */
static void check_bytes(const at_attrs *a, const char *want)
{
    at_buf x;

    at_buf_init(&x, 1 << 20);
    cr_assert_eq(at_attrs_write(&x, a), 0);
    cr_assert(x.len == strlen(want) && memcmp(x.p, want, x.len) == 0,
              "got:  %.*s\nwant: %s", (int)x.len, x.p, want);
    at_buf_free(&x);
}

/* key's string must be the n bytes `want`, a NUL after them. */
static void check_str(const at_attrs *a, const char *key, const char *want,
                      size_t n)
{
    size_t got = 0;
    const char *s = at_attrs_str(a, key, &got);

    cr_assert_not_null(s, "key %s", key);
    cr_assert(got == n && memcmp(s, want, n) == 0 && s[n] == '\0',
              "key %s: %zu bytes %.*s", key, got, (int)got, s);
}

/* Every getter of every key of the model, and of each of `absent`
 * (n of them) that the model does not hold. */
static void check_getters(const at_attrs *a, const json_t *m,
                          const char *const *absent, size_t n)
{
    const char *k;
    json_t *mv;
    size_t i;
    int64_t c;

    json_object_foreach((json_t *)m, k, mv) {
        const at_attr *x = at_attrs_find(a, k);
        json_t *v = at_attrs_value(a, k);

        cr_assert_not_null(x, "key %s", k);
        cr_assert(json_equal(v, mv), "key %s", k); /* type and all */
        json_decref(v);
        if (json_is_string(mv) && x->kind != AT_ATTR_RAW)
            check_str(a, k, json_string_value(mv), json_string_length(mv));
        else if (!json_is_string(mv))
            cr_assert_null(at_attrs_str(a, k, NULL), "key %s", k);
        if (json_is_integer(mv) && x->kind != AT_ATTR_RAW) {
            cr_assert_eq(at_attrs_count(a, k, &c), 1, "key %s", k);
            cr_assert_eq(c, (int64_t)json_integer_value(mv), "key %s", k);
        } else if (!json_is_integer(mv)) {
            cr_assert_eq(at_attrs_count(a, k, &c), 0, "key %s", k);
        }
    }
    for (i = 0; i < n; i++) {
        if (json_object_get(m, absent[i]) != NULL)
            continue;
        cr_assert_null(at_attrs_find(a, absent[i]), "key %s", absent[i]);
        cr_assert_null(at_attrs_value(a, absent[i]), "key %s", absent[i]);
        cr_assert_null(at_attrs_str(a, absent[i], NULL));
        cr_assert_eq(at_attrs_count(a, absent[i], &c), 0);
    }
}

/* ---- the same setting on the list (it must succeed) and the model ------ */

static void model_set(json_t *model, const char *key, json_t *v)
{
    cr_assert_not_null(v);
    cr_assert_eq(json_object_set_new(model, key, v), 0, "key %s", key);
}

enum { STRN, STR, UTF8 };

/* n bytes as a string: jansson's model is U+FFFD when it finds them not
 * valid UTF-8 */
static void put_text(at_attrs *a, json_t *m, const char *k, const char *s,
                     size_t n, int how)
{
    json_t *v = json_stringn(s, n);

    if (how == STRN)
        cr_assert_eq(at_attrs_set_strn(a, k, s, n), 0);
    else if (how == STR)
        cr_assert_eq(at_attrs_set_str(a, k, s), 0);
    else
        cr_assert_eq(at_attrs_set_utf8(a, k, s, n), 0);
    model_set(m, k, v ? v : json_string("\xEF\xBF\xBD"));
}

static void put_i64(at_attrs *a, json_t *m, const char *k, int64_t v)
{
    cr_assert_eq(at_attrs_set_i64(a, k, v), 0);
    model_set(m, k, json_integer(v));
}

static void put_real(at_attrs *a, json_t *m, const char *k, double v)
{
    cr_assert_eq(at_attrs_set_real(a, k, v), 0);
    model_set(m, k, json_real(v));
}

static void put_bool(at_attrs *a, json_t *m, const char *k, int v)
{
    cr_assert_eq(at_attrs_set_bool(a, k, v), 0);
    model_set(m, k, json_boolean(v));
}

/* v (stolen) as a jansson value */
static void put_json(at_attrs *a, json_t *m, const char *k, json_t *v)
{
    cr_assert_not_null(v);
    cr_assert_eq(at_attrs_set_json(a, k, json_incref(v)), 0);
    model_set(m, k, v);
}

/* v (stolen) as RAW text, the text at_jw_value writes for it */
static void put_raw(at_attrs *a, json_t *m, const char *k, json_t *v,
                    int plain)
{
    at_buf t;

    at_buf_init(&t, 1 << 24);
    cr_assert_eq(at_jw_value(&t, v), 0);
    cr_assert_eq(at_attrs_set_raw(a, k, t.p, t.len, plain), 0);
    at_buf_free(&t);
    model_set(m, k, v);
}

static void del_both(at_attrs *a, json_t *m, const char *k)
{
    at_attrs_del(a, k);
    json_object_del(m, k);
}

/* ---- 1. a fixed sequence ----------------------------------------------- */

Test(attrs, order_and_replacement_match_jansson)
{
    static char many[50][8];
    at_attrs a;
    json_t *m = json_object();
    size_t i;

    at_attrs_init(&a);
    check_same(&a, m);
    put_text(&a, m, "a", "x", 1, STR);
    put_i64(&a, m, "b", 1);
    put_real(&a, m, "c", 0.5);
    put_bool(&a, m, "d", 1);
    put_json(&a, m, "e", json_pack("[i,s,{s:n}]", 1, "two", "3"));
    put_raw(&a, m, "f", json_pack("{s:[i,f],s:s}", "x", 1, 2.5, "y",
                                  "q\"\\\n"), 1);
    put_text(&a, m, "g", "n\0ul", 4, STRN);
    check_same(&a, m);
    put_text(&a, m, "b", "now a string", 12, STR); /* each over another */
    put_i64(&a, m, "a", -7);
    put_bool(&a, m, "e", 0);
    put_json(&a, m, "d", json_null());
    put_raw(&a, m, "g", json_string("raw"), 0);
    put_real(&a, m, "a", -0.0);
    check_same(&a, m);
    del_both(&a, m, "c");
    del_both(&a, m, "zzz"); /* never set: nothing */
    check_same(&a, m);
    put_real(&a, m, "c", 1e22); /* set again after del: at the end */
    del_both(&a, m, "f");
    del_both(&a, m, "f");
    put_json(&a, m, "f", json_object());
    put_text(&a, m, "b", "again", 5, UTF8);
    check_same(&a, m);
    check_bytes(&a, "{\"a\":-0.0,\"b\":\"again\",\"d\":null,\"e\":false,"
                    "\"g\":\"raw\",\"c\":1e22,\"f\":{}}");
    /* past the local storage: 50 more keys, every third deleted, every
     * other set again with another kind */
    for (i = 0; i < 50; i++) {
        snprintf(many[i], sizeof(many[i]), "k%02zu", i);
        put_i64(&a, m, many[i], (int64_t)i);
    }
    cr_assert_neq(a.e, a.local);
    check_same(&a, m);
    for (i = 0; i < 50; i += 3)
        del_both(&a, m, many[i]);
    check_same(&a, m);
    for (i = 0; i < 50; i += 2) {
        if (i % 6 == 0)
            put_text(&a, m, many[i], "v", 1, STRN);
        else if (i % 6 == 2)
            put_real(&a, m, many[i], (double)i * 0.1);
        else
            put_raw(&a, m, many[i], json_pack("{s:i}", "v", (int)i), 0);
    }
    check_same(&a, m);
    at_attrs_free(&a);
    json_decref(m);
}

/* ---- 2. random operations ---------------------------------------------- */

static uint64_t rs = 0x9E3779B97F4A7C15ull; /* xorshift64*, fixed seed */

static uint64_t rnd(void)
{
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return rs * 0x2545F4914F6CDD1Dull;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

static const char *const good[] = {
    "a", "xyz", "Hello, world! ", "\"", "\\", "\n", "\t", "\b", "\f", "\r",
    "\x01", "\x1f", "\x7f", "/", "\xc3\xa9", "\xe2\x82\xac",
    "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "0123456789"};
static const char *const bad[] = {
    "\xff", "\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98"};

/* A random string into out (1024 bytes), NUL-terminated; NUL bytes inside
 * when `nul`, pieces of invalid UTF-8 when `inv`. */
static size_t rnd_str(char *out, int nul, int inv)
{
    size_t k = rnd_below(8) == 0 ? rnd_below(60) : rnd_below(8), n = 0;

    while (k--) {
        size_t r = rnd_below(100);
        const char *p = inv && r < 10 ? bad[rnd_below(COUNT(bad))]
                                      : good[rnd_below(COUNT(good))];

        if (nul && r >= 95) {
            out[n++] = '\0';
            continue;
        }
        memcpy(out + n, p, strlen(p));
        n += strlen(p);
    }
    out[n] = '\0';
    return n;
}

static int64_t rnd_i64(void)
{
    static const int64_t special[] = {INT64_MIN, INT64_MAX, 0, -1, 1,
                                      INT64_MIN + 1, INT64_MAX - 1};
    size_t r = rnd_below(3);

    if (r == 0)
        return special[rnd_below(COUNT(special))];
    return r == 1 ? (int64_t)rnd_below(2001) - 1000 : (int64_t)rnd();
}

static double rnd_real(void)
{
    static const double special[] = {
        -0.0, 0.0, 5e-324, -5e-324, DBL_MIN, DBL_MAX, -DBL_MAX, 1e-300,
        1e300, 0.1, 1.5, 100.0, 1e16, 1e17, 123456789012345678.0,
        7.1999999999999997e-6, 1e-5, 1e-4, 0.3333333333333333};
    uint64_t bits;
    double d;

    if (rnd_below(3) == 0)
        return special[rnd_below(COUNT(special))];
    if (rnd_below(2) == 0)
        return ((double)rnd_below(2000001) - 1e6) / 1000.0;
    do { /* any finite bit pattern: subnormals to DBL_MAX */
        bits = rnd();
        memcpy(&d, &bits, sizeof(d));
    } while (!isfinite(d));
    return d;
}

static json_t *rnd_tree(int depth)
{
    char s[1024];
    size_t i, n, r = rnd_below(6);
    json_t *c;

    if (depth == 0 || rnd_below(3) == 0) {
        if (r == 0) {
            n = rnd_str(s, 1, 0);
            return json_stringn(s, n);
        }
        return r == 1 ? json_integer(rnd_i64())
             : r == 2 ? json_real(rnd_real())
             : r == 3 ? json_boolean(rnd() & 1) : json_null();
    }
    n = rnd_below(5);
    c = (r & 1) ? json_array() : json_object();
    for (i = 0; i < n; i++) {
        rnd_str(s, 0, 0);
        if (r & 1)
            cr_assert_eq(json_array_append_new(c, rnd_tree(depth - 1)), 0);
        else
            cr_assert_eq(json_object_set_new(c, s, rnd_tree(depth - 1)), 0);
    }
    return c;
}

#define NKEYS 60
/* the key pool, its copy at other addresses (found by content), and a
 * list of pointers to it */
static char keys[NKEYS][32], keys2[NKEYS][32];
static const char *keyp[NKEYS];

static void make_keys(void)
{
    static const char *const named[] = {
        "", "a", "ab", "ba", "xab", "yab", "model_a_x", "model_b_x",
        "q\"k", "c\x01k", "\xc3\xa9", "gen_ai.request.model",
        "gen_ai.response.model", "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens", "gen_ai.input.messages",
        "alpha.input_tokens", "omega.input_tokens", "abcdefgh", "abcdefgi"};
    size_t i;

    for (i = 0; i < NKEYS; i++) {
        if (i < COUNT(named))
            snprintf(keys[i], sizeof(keys[i]), "%s", named[i]);
        else
            snprintf(keys[i], sizeof(keys[i]), "attr.%02zu", i);
        memcpy(keys2[i], keys[i], sizeof(keys[i]));
        keyp[i] = keys2[i];
    }
}

Test(attrs, random_operations_match_jansson, .timeout = 120)
{
    at_attrs a;
    json_t *m;
    char s[1024];
    size_t n, op, round, most = 0, takes = 0, raws = 0;

    make_keys();
    for (round = 0; round < 40; round++) {
        at_attrs_init(&a);
        m = json_object();
        for (op = 0; op < 500; op++) {
            size_t k = rnd_below(NKEYS), r = rnd_below(100);
            const char *key = (rnd() & 1) ? keys[k] : keys2[k];

            if (r < 25) { /* strn, str (no NUL), utf8 (valid only) */
                int how = r < 15 ? STRN : r < 20 ? STR : UTF8;

                n = rnd_str(s, how != STR, how != UTF8);
                put_text(&a, m, key, s, n, how);
            } else if (r < 36) {
                put_i64(&a, m, key, rnd_i64());
            } else if (r < 47) {
                put_real(&a, m, key, rnd_real());
            } else if (r < 50) { /* refused: the model unchanged */
                cr_assert_eq(at_attrs_set_real(&a, key, (rnd() & 1) ? NAN
                             : (rnd() & 1) ? INFINITY : -INFINITY), -1);
            } else if (r < 56) {
                put_bool(&a, m, key, (int)rnd_below(3)); /* 2: nonzero */
            } else if (r < 66) {
                put_json(&a, m, key, rnd_tree(3));
            } else if (r < 76) {
                put_raw(&a, m, key, rnd_tree(3), (int)(rnd() & 1));
                raws++;
            } else if (r < 93) {
                del_both(&a, m, key);
            } else {
                json_t *o = json_object();
                size_t j, nm = rnd_below(5);

                for (j = 0; j < nm; j++)
                    model_set(o, keys[rnd_below(NKEYS)], rnd_tree(2));
                cr_assert_eq(json_object_update(m, o), 0);
                cr_assert_eq(at_attrs_take(&a, o), 0);
                takes++;
            }
            if (a.n > most)
                most = a.n;
            if (op % 50 == 49) {
                check_same(&a, m);
                check_getters(&a, m, keyp, NKEYS);
            }
        }
        cr_assert_eq(a.failed, 0);
        at_attrs_free(&a);
        json_decref(m);
    }
    cr_assert_gt(most, AT_ATTRS_LOCAL * 2); /* grew twice at least */
    cr_assert_gt(takes, 1000);
    cr_assert_gt(raws, 1000);
}

/* ---- 3. UTF-8 ---------------------------------------------------------- */

Test(attrs, invalid_utf8_becomes_replacement_whole)
{
    at_attrs a;

    at_attrs_init(&a);
    cr_assert_eq(at_attrs_set_strn(&a, "k", "abc\xff" "def", 7), 0);
    check_str(&a, "k", "\xEF\xBF\xBD", 3);
    cr_assert_eq(at_attrs_set_str(&a, "k2", "\xc0\x80 ok"), 0);
    check_str(&a, "k2", "\xEF\xBF\xBD", 3);
    cr_assert_eq(at_attrs_set_strn(&a, "k3", "ok\0\xe2\x82\xac", 6), 0);
    check_str(&a, "k3", "ok\0\xe2\x82\xac", 6);
    /* set_utf8 does not check: the bytes are kept, and the writer
     * replaces the bad byte alone */
    cr_assert_eq(at_attrs_set_utf8(&a, "k4", "a\xff" "b", 3), 0);
    check_str(&a, "k4", "a\xff" "b", 3);
    check_bytes(&a, "{\"k\":\"\xEF\xBF\xBD\",\"k2\":\"\xEF\xBF\xBD\","
                    "\"k3\":\"ok\\u0000\xe2\x82\xac\","
                    "\"k4\":\"a\xEF\xBF\xBD" "b\"}");
    at_attrs_free(&a);
}

/* at_jw_utf8_ok over n bytes must say `want`, and so must jansson. */
static void check_utf8(const char *s, size_t n, int want, const char *what,
                       size_t off)
{
    json_t *j = json_stringn(s, n);

    cr_assert_eq(at_jw_utf8_ok(s, n), want, "%s at %zu, n %zu", what, off,
                 n);
    cr_assert_eq(j != NULL, want, "jansson: %s at %zu", what, off);
    json_decref(j);
}

Test(attrs, utf8_ok)
{
    /* valid: 2, 3 and 4 bytes, at the edges of each range; then invalid:
     * overlongs, surrogates, past U+10FFFF, stray and missing
     * continuation bytes */
    static const char *const seq[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe2\x82\xac",
        "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
        "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
        "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "\x80",
        "\xbf", "\xc2\x41", "\xe2\x28\xa1", "\xf0\x9f\x41\x80"};
    char s[64] = {0};
    size_t i, n, off, cut, len;

    for (n = 0; n <= 40; n++) { /* ASCII (NUL and DEL too) */
        for (i = 0; i < n; i++)
            s[i] = (char)(i % 3 == 0 ? 'a' + i % 26 : i % 3 == 1 ? 0x7f : 0);
        check_utf8(s, n, 1, "ascii", n);
    }
    for (i = 0; i < COUNT(seq); i++) {
        len = strlen(seq[i]);
        for (off = 0; off + len <= 40; off++) {
            memset(s, 'x', 40);
            memcpy(s + off, seq[i], len);
            check_utf8(s, 40, i < 10, seq[i], off);
            check_utf8(s, off + len, i < 10, seq[i], off); /* at the end */
        }
        for (cut = 1; i < 10 && cut < len; cut++) { /* truncated */
            for (off = 0; off < 20; off++) {
                memset(s, 'x', off);
                memcpy(s + off, seq[i], cut);
                check_utf8(s, off + cut, 0, "truncated", off);
            }
        }
    }
}

/* ---- 4. getters -------------------------------------------------------- */

Test(attrs, getters)
{
    static const char *const never[] = {"never", "S", "ss", ""};
    at_attrs a;
    json_t *m = json_object();

    at_attrs_init(&a);
    check_getters(&a, m, never, COUNT(never));
    put_text(&a, m, "s", "hello", 5, STR);
    put_json(&a, m, "js", json_stringn("a\0b", 3));
    put_i64(&a, m, "i", INT64_MIN);
    put_json(&a, m, "ji", json_integer(42));
    put_real(&a, m, "r", 2.0);
    put_json(&a, m, "jr", json_real(3.0));
    put_bool(&a, m, "t", 7);
    put_bool(&a, m, "f", 0);
    put_raw(&a, m, "raw", json_pack("{s:[i,f,s],s:b}", "m", 1, 2.5, "t",
                                    "b", 1), 1);
    put_raw(&a, m, "rawi", json_integer(7), 0);
    check_getters(&a, m, never, COUNT(never));
    cr_assert_eq(at_attrs_find(&a, "s")->kind, AT_ATTR_STR);
    cr_assert_eq(at_attrs_find(&a, "s")->klen, 1);
    cr_assert_eq(at_attrs_find(&a, "js")->kind, AT_ATTR_JSON);
    cr_assert_eq(at_attrs_find(&a, "i")->kind, AT_ATTR_I64);
    cr_assert_eq(at_attrs_find(&a, "r")->kind, AT_ATTR_REAL);
    cr_assert_eq(at_attrs_find(&a, "t")->kind, AT_ATTR_BOOL);
    cr_assert_eq(at_attrs_find(&a, "raw")->kind, AT_ATTR_RAW);
    cr_assert_eq(at_attrs_find(&a, "raw")->plain, 1);
    check_str(&a, "js", "a\0b", 3);
    cr_assert_str_eq(at_attrs_str(&a, "s", NULL), "hello");
    /* a new setting resets `plain`; a deleted key is gone everywhere */
    put_raw(&a, m, "rawi", json_integer(1), 1);
    cr_assert_eq(at_attrs_find(&a, "rawi")->plain, 1);
    put_raw(&a, m, "rawi", json_integer(2), 0);
    cr_assert_eq(at_attrs_find(&a, "rawi")->plain, 0);
    put_text(&a, m, "raw", "x", 1, STR);
    cr_assert_eq(at_attrs_find(&a, "raw")->plain, 0);
    del_both(&a, m, "s");
    del_both(&a, m, "ji");
    del_both(&a, m, "i");
    check_getters(&a, m, (const char *const[]){"s", "ji", "i"}, 3);
    at_attrs_free(&a);
    json_decref(m);
}

Test(attrs, similar_keys_are_told_apart)
{
    /* pairs sharing the length and all but one byte: the first, the
     * middle or the last; past 8 bytes, the same last 8 bytes too (what
     * a hash of the key is likely made of).  check_getters looks each up
     * by jansson's copy of the key: by content, not by address. */
    static const char *const k[] = {
        "ab", "ba", "xab", "yab", "abcXefg", "abcYefg", "Xbcdefg",
        "abcdefX", "abcdefgh", "abcdefgi", "one.request.model",
        "two.request.model", "gen_ai.usage.input_tokens",
        "gen_ai.usage.xnput_tokens", "a", ""};
    static const char *const never[] = {
        "zab", "abcZefg", "aa", "bb", "abcdefgj", "abcdefg", "abcdefghi",
        "six.request.model", "gen_ai.usage.ynput_tokens", "b"};
    at_attrs a;
    json_t *m = json_object();
    size_t i;

    at_attrs_init(&a);
    for (i = 0; i < COUNT(k); i += 2)
        put_i64(&a, m, k[i], (int64_t)i);
    check_getters(&a, m, k, COUNT(k)); /* the odd ones are not set */
    for (i = 1; i < COUNT(k); i += 2)
        put_i64(&a, m, k[i], (int64_t)i);
    check_getters(&a, m, never, COUNT(never));
    for (i = 0; i < COUNT(k); i++)
        cr_assert_eq(at_attrs_find(&a, k[i])->key, k[i]);
    del_both(&a, m, "yab");
    del_both(&a, m, "abcXefg");
    del_both(&a, m, "one.request.model");
    check_getters(&a, m, k, COUNT(k));
    at_attrs_free(&a);
    json_decref(m);
}

/* ---- 5. take ----------------------------------------------------------- */

Test(attrs, take_moves_members_in_order)
{
    at_attrs a;
    json_t *m = json_object(), *o = json_object(), *o2, *keep, *arr;
    char *k1 = strdup("d_from_heap"), *k2 = strdup("e_from_heap");

    at_attrs_init(&a);
    put_i64(&a, m, "a", 1);
    put_text(&a, m, "b", "x", 1, STR);
    put_bool(&a, m, "c", 1);
    keep = json_pack("{s:s}", "k", "v");
    model_set(o, "b", json_pack("[i]", 1));
    model_set(o, k1, json_real(2.5));
    model_set(o, "a", json_null());
    model_set(o, k2, json_incref(keep));
    free(k1); /* jansson copied the keys: the list borrows its copies */
    free(k2);
    cr_assert_eq(json_object_update(m, o), 0);
    json_incref(o);
    cr_assert_eq(at_attrs_take(&a, o), 0);
    cr_assert_eq(o->refcount, 2); /* the list holds it */
    json_decref(o);               /* the caller's own is dropped */
    check_same(&a, m);
    check_bytes(&a, "{\"a\":null,\"b\":[1],\"c\":true,\"d_from_heap\":2.5,"
                    "\"e_from_heap\":{\"k\":\"v\"}}");
    put_i64(&a, m, "d_from_heap", 9); /* over the borrowed keys */
    put_text(&a, m, "f", "y", 1, STRN);
    del_both(&a, m, "e_from_heap");
    check_same(&a, m);
    /* an object over keys of the first; an empty one changes nothing */
    o2 = json_pack("{s:s,s:i,s:i}", "f", "z", "e_from_heap", 3, "g", 4);
    cr_assert_eq(json_object_update(m, o2), 0);
    cr_assert_eq(at_attrs_take(&a, o2), 0);
    cr_assert_eq(at_attrs_take(&a, json_object()), 0);
    check_same(&a, m);
    check_bytes(&a, "{\"a\":null,\"b\":[1],\"c\":true,\"d_from_heap\":9,"
                    "\"f\":\"z\",\"e_from_heap\":3,\"g\":4}");
    /* not an object: refused and released, the list unchanged */
    arr = json_incref(json_pack("[i]", 1));
    cr_assert_eq(at_attrs_take(&a, arr), -1);
    cr_assert_eq(arr->refcount, 1);
    json_decref(arr);
    cr_assert_eq(at_attrs_take(&a, json_string("s")), -1);
    cr_assert_eq(at_attrs_take(&a, NULL), -1);
    check_same(&a, m);
    cr_assert_eq(keep->refcount, 2); /* held by o, which the list holds */
    at_attrs_free(&a);
    cr_assert_eq(keep->refcount, 1); /* released with the list */
    json_decref(keep);
    json_decref(m);
}

/* ---- 6. refused settings ----------------------------------------------- */

Test(attrs, refused_sets_keep_earlier_value)
{
    at_attrs a;
    int64_t c;
    size_t len;

    at_attrs_init(&a);
    cr_assert_eq(at_attrs_set_i64(&a, "k", 5), 0);
    cr_assert_eq(at_attrs_set_real(&a, "k", NAN), -1);
    cr_assert_eq(at_attrs_set_real(&a, "k", INFINITY), -1);
    cr_assert_eq(at_attrs_set_real(&a, "k", -INFINITY), -1);
    cr_assert_eq(at_attrs_set_real(&a, "new", NAN), -1);
    cr_assert_null(at_attrs_find(&a, "new"));
    cr_assert_eq(at_attrs_set_json(&a, "k", NULL), -1);
    cr_assert_eq(a.failed, 1);
    cr_assert_eq(at_attrs_count(&a, "k", &c), 1);
    cr_assert_eq(c, 5);
    cr_assert_eq(at_attrs_set_str(&a, "s", "kept"), 0);
    a.failed = 0;
    cr_assert_eq(at_attrs_set_str(&a, "s", NULL), -1);
    cr_assert_eq(a.failed, 1);
    a.failed = 0;
    cr_assert_eq(at_attrs_set_strn(&a, "s", NULL, 3), -1);
    cr_assert_eq(a.failed, 1);
    check_str(&a, "s", "kept", 4);
    /* an arena that cannot take the text (as when memory is short) */
    a.failed = 0;
    len = a.arena.len;
    a.arena.max = len + 4;
    cr_assert_eq(at_attrs_set_str(&a, "s", "too long for it"), -1);
    cr_assert_eq(at_attrs_set_raw(&a, "k", "[1,2,3,4,5]", 11, 0), -1);
    cr_assert_eq(at_attrs_set_utf8(&a, "u", "0123456789", 10), -1);
    cr_assert_eq(a.failed, 1);
    cr_assert_eq(a.arena.len, len);
    cr_assert_eq(a.arena.truncated, 0);
    cr_assert_null(at_attrs_find(&a, "u"));
    check_str(&a, "s", "kept", 4);
    check_bytes(&a, "{\"k\":5,\"s\":\"kept\"}");
    a.arena.max = (size_t)1 << 30;
    cr_assert_eq(at_attrs_set_str(&a, "s", "fits again"), 0);
    check_bytes(&a, "{\"k\":5,\"s\":\"fits again\"}");
    at_attrs_free(&a);
}

/* ---- 7. free and reuse ------------------------------------------------- */

Test(attrs, free_is_safe_and_init_reuses)
{
    static char k[60][8];
    at_attrs a;
    size_t i;

    memset(&a, 0, sizeof(a));
    at_attrs_free(&a);
    at_attrs_free(&a);
    at_attrs_init(&a);
    check_bytes(&a, "{}");
    for (i = 0; i < 60; i++) {
        snprintf(k[i], sizeof(k[i]), "k%zu", i);
        cr_assert_eq(at_attrs_set_str(&a, k[i], k[i]), 0);
    }
    cr_assert_eq(at_attrs_set_json(&a, "j", json_pack("[s]", "x")), 0);
    cr_assert_eq(at_attrs_take(&a, json_pack("{s:i}", "t", 1)), 0);
    at_attrs_free(&a);
    at_attrs_free(&a);
    at_attrs_init(&a);
    check_bytes(&a, "{}");
    cr_assert_null(at_attrs_find(&a, "k1"));
    cr_assert_null(at_attrs_find(&a, "t"));
    cr_assert_eq(at_attrs_set_str(&a, "k1", "v"), 0);
    check_bytes(&a, "{\"k1\":\"v\"}");
    at_attrs_free(&a);
}

/* ---- 8. keys needing escapes ------------------------------------------- */

Test(attrs, keys_needing_escapes)
{
    static const char *const k[] = {
        "q\"uote", "back\\slash", "ctl\x01\x08\x0c\x1f\x7f", "nl\n\t\r",
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "", "/slash"};
    at_attrs a;
    json_t *m = json_object();
    size_t i;

    at_attrs_init(&a);
    for (i = 0; i < COUNT(k); i++)
        put_i64(&a, m, k[i], (int64_t)i);
    check_same(&a, m);
    at_attrs_free(&a);
    json_decref(m);

    at_attrs_init(&a);
    m = json_object();
    put_bool(&a, m, "q\"\x01\x0c", 1);
    check_bytes(&a, "{\"q\\\"\\u0001\\f\":true}");
    /* a key that is not valid UTF-8 (only a nocheck jansson call makes
     * one): its bad byte as U+FFFD, as at_jw_json writes it */
    cr_assert_eq(at_attrs_set_i64(&a, "bad\xff", 1), 0);
    cr_assert_eq(json_object_set_new_nocheck(m, "bad\xff", json_integer(1)),
                 0);
    check_write(&a, m);
    check_bytes(&a, "{\"q\\\"\\u0001\\f\":true,\"bad\xEF\xBF\xBD\":1}");
    at_attrs_free(&a);
    json_decref(m);
}

/* A value the list itself holds, set again under another key while the
 * arena has to grow: copied from where it is after the growth (valgrind
 * saw the old block read before). */
Test(attrs, value_from_the_list_itself)
{
    at_attrs a;
    char big[200];
    const char *s;
    size_t n;
    int i;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    at_attrs_init(&a);
    cr_assert_eq(at_attrs_set_str(&a, "a", big), 0);
    for (i = 0; i < 12; i++) {
        static const char *const bk[] = {"b0", "b1", "b2", "b3", "b4",
                                           "b5", "b6", "b7", "b8", "b9",
                                           "b10", "b11"};

        s = at_attrs_str(&a, "a", &n);
        cr_assert_not_null(s);
        cr_assert_eq(at_attrs_set_strn(&a, bk[i], s, n), 0);
        s = at_attrs_str(&a, bk[i], &n);
        cr_assert_eq(n, sizeof(big) - 1);
        cr_assert_str_eq(s, big);
    }
    at_attrs_free(&a);
}

/* at_attrs_take keeps a key's whole length: keys that differ only after
 * a NUL stay two. */
Test(attrs, take_keys_with_nul)
{
    at_attrs a;
    at_buf b;
    json_t *o = json_object();

    json_object_setn_new_nocheck(o, "k\0a", 3, json_integer(1));
    json_object_setn_new_nocheck(o, "k\0b", 3, json_integer(2));
    at_attrs_init(&a);
    cr_assert_eq(at_attrs_take(&a, o), 0);
    at_buf_init(&b, 1 << 20);
    cr_assert_eq(at_attrs_write(&b, &a), 0);
    cr_assert_str_eq(b.p, "{\"k\\u0000a\":1,\"k\\u0000b\":2}");
    at_buf_free(&b);
    at_attrs_free(&a);
}

/* Members written at once (at_attrs_close_members): in their place among
 * the other entries, without their first comma when they come first, as
 * the same keys set one by one would be; part of at_attrs_to_json; not
 * seen by look-ups, even of the empty key, and not made out of nothing. */
static void add_members(at_attrs *a, const char *text)
{
    size_t mark;
    at_buf *b = at_attrs_open(a, &mark);

    at_buf_append(b, text, strlen(text));
    cr_assert_eq(at_attrs_close_members(a, mark), 0);
}

Test(attrs, members_written_in_their_place)
{
    at_attrs a;
    json_t *model = json_object();
    size_t mark;

    at_attrs_init(&a);
    /* first: its comma dropped */
    add_members(&a, ",\"m.a\":\"x\",\"m.b\":2");
    json_object_set_new(model, "m.a", json_string("x"));
    json_object_set_new(model, "m.b", json_integer(2));
    at_attrs_set_str(&a, "k", "v");
    json_object_set_new(model, "k", json_string("v"));
    /* between others, and once more */
    add_members(&a, ",\"m.c\":true");
    json_object_set_new(model, "m.c", json_true());
    at_attrs_set_i64(&a, "", 7);
    json_object_set_new(model, "", json_integer(7));
    add_members(&a, ",\"m.d\":[1,{\"e\":null}]");
    json_object_set_new(model, "m.d", json_pack("[i,{s:n}]", 1, "e"));
    /* nothing appended: no entry */
    at_attrs_open(&a, &mark);
    cr_assert_eq(at_attrs_close_members(&a, mark), 0);
    check_same(&a, model);
    /* keys of members are not looked up; the empty key is the setter's */
    cr_assert_null(at_attrs_find(&a, "m.a"));
    cr_assert_null(at_attrs_str(&a, "m.a", NULL));
    at_attrs_set_i64(&a, "", 8);
    json_object_set_new(model, "", json_integer(8));
    at_attrs_del(&a, "");
    json_object_del(model, "");
    check_same(&a, model);
    json_decref(model);
    at_attrs_free(&a);
}

Test(attrs, members_alone_and_in_a_long_list)
{
    at_attrs a;
    json_t *model = json_object();
    static char long_keys[70][8]; /* keys are borrowed: they outlive the list */
    int i;

    at_attrs_init(&a);
    add_members(&a, ",\"only\":1");
    json_object_set_new(model, "only", json_integer(1));
    check_same(&a, model);
    /* past the index (the list then scans): the empty key is still not
     * the members' */
    for (i = 0; i < 70; i++) {
        snprintf(long_keys[i], sizeof(long_keys[i]), "k%d", i);
        at_attrs_set_i64(&a, long_keys[i], i);
        json_object_set_new(model, long_keys[i], json_integer(i));
    }
    add_members(&a, ",\"last\":\"\xc3\xa9\"");
    json_object_set_new(model, "last", json_string("\xc3\xa9"));
    at_attrs_set_i64(&a, "", 1);
    json_object_set_new(model, "", json_integer(1));
    at_attrs_del(&a, "");
    json_object_del(model, "");
    check_write(&a, model);
    {
        json_t *o = at_attrs_to_json(&a);

        cr_assert_not_null(o);
        cr_assert(json_equal(o, model));
        json_decref(o);
    }
    json_decref(model);
    at_attrs_free(&a);
}
