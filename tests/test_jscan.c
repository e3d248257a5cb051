/* test_jscan.c - the scanner of the hot paths (decode/jscan.c) against
 * jansson, and the OpenAI chunk fast path against the jansson path: the
 * scanner may refuse what jansson accepts (the caller then takes the
 * jansson path) but never accept what jansson refuses, and both chunk
 * paths must leave a stream in exactly the same state. */
#include <criterion/criterion.h>

#include <glob.h>
#include <locale.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "decode/jmemo.h"
#include "decode/jscan.h"
#include "decode/llm.h"
#include "sink/jw.h"

#define CORPUS "../shared/corpus"

extern int at_openai_fast_off;
extern long at_openai_tpl_hits;
extern long at_openai_delta_hits;
extern int at_anthropic_fast_off;
extern int at_responses_fast_off;
extern int at_gemini_fast_off;
extern int at_ollama_fast_off;

/* runs: n, or an eighth of it under valgrind (make valgrind runs this
 * test too; the sanitizers' and the plain runs take all of it). */
static int runs(int n)
{
    return getenv("AT_UNDER_VALGRIND") ? n / 8 : n;
}

static int jansson_ok(const char *p, size_t n)
{
    json_t *v = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    json_decref(v);
    return v != NULL;
}

static at_js_tok toks[4096];
static at_js_doc_t tdoc;

static int scan_ok(const char *p, size_t n)
{
    at_js v;

    return at_js_doc(p, n, toks, 4096, &tdoc, &v);
}

/* ------------------------------------------------------------ scanner */

Test(jscan, accepts_what_jansson_accepts)
{
    static const char *const ok[] = {
        "{}", " {} ", "{\"a\":1}", "{\"a\":[1,2,{\"b\":null}],\"c\":true}",
        "{\"s\":\"\\u00e9\\n\\t\\\"\\\\\\/\\b\\f\\r\"}",
        "{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\\u0000x\"}",
        "{\"s\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"n\":-0,\"m\":0.5,\"e\":1e5,\"E\":-2.5E-3,\"x\":123456789012345678}",
        "{\"a\" : { \"b\" : [ ] , \"c\" : { } } }\r\n",
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_expect(jansson_ok(ok[i], strlen(ok[i])), "jansson: %s", ok[i]);
        cr_expect(scan_ok(ok[i], strlen(ok[i])), "scanner: %s", ok[i]);
    }
}

Test(jscan, refuses_what_jansson_refuses)
{
    static const char *const bad[] = {
        "", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "[1]x",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"x}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}",
        "{\"a\":\"\\ud83d\\u0041\"}", "{\"a\":\"\x01\"}",
        "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}", "{a:1}",
        "{\"a\":1}{}", "{\"a\":[1,2}", "{\"a\":{]}",
        "{\"a\":1e999}", "{\"a\":99999999999999999999}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(!scan_ok(bad[i], strlen(bad[i])), "scanner took: %s",
                  bad[i]);
}

Test(jscan, never_takes_what_jansson_refuses_under_mutation)
{
    static const char seed[] =
        "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":"
        "{\"content\":\"h\\u00e9 \\n\xe2\x82\xac\",\"tool_calls\":[{\"index\""
        ":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]},\"logprobs\""
        ":null,\"finish_reason\":null}],\"usage\":{\"n\":-1.5e3}}";
    static const char alphabet[] = "{}[]\":,\\u0e9 -.x\x01\xc3\xa9\xff";
    char doc[sizeof(seed)];
    unsigned seedv = 12345;
    int round, accepted = 0;

    for (round = 0; round < runs(200000); round++) {
        int edits = 1 + round % 3, k;

        memcpy(doc, seed, sizeof(seed));
        for (k = 0; k < edits; k++) {
            seedv = seedv * 1103515245u + 12345u;
            doc[(seedv >> 8) % (sizeof(seed) - 1)] =
                alphabet[(seedv >> 20) % (sizeof(alphabet) - 1)];
        }
        if (scan_ok(doc, sizeof(seed) - 1)) {
            accepted++;
            cr_assert(jansson_ok(doc, sizeof(seed) - 1),
                      "scanner took what jansson refuses: %s", doc);
        }
    }
    cr_expect_gt(accepted, 1000); /* the mutations left many valid */
}

/* at_js_redoc against at_js_doc: texts made from a kept one by changing
 * bytes, inserting and deleting runs, and rewriting strings; whenever
 * at_js_redoc takes a text, at_js_doc takes it too and gives the same
 * tokens.  Texts it took are sometimes kept as the next shape. */
static int same_doc(const at_js_doc_t *x, const at_js *xo,
                    const at_js_doc_t *y, const at_js *yo)
{
    uint32_t i;

    if (x->ntok != y->ntok || xo->p != yo->p || xo->n != yo->n ||
        x->full != y->full)
        return 0;
    for (i = 0; i < x->ntok; i++) {
        const at_js_tok *a = &x->tok[i], *b = &y->tok[i];

        if (a->off != b->off || a->len != b->len || a->next != b->next ||
            a->kind != b->kind || a->esc != b->esc || a->key != b->key)
            return 0;
    }
    return 1;
}

Test(jscan, redoc_is_at_js_doc)
{
    static const char *const seeds[] = {
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
        "\"created\":1764500138,\"choices\":[{\"index\":0,\"delta\":"
        "{\"content\":\" +\"},\"logprobs\":null,\"finish_reason\":null}],"
        "\"usage\":null,\"obfuscation\":\"2ueBQ6HRL\"}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
        "\"text_delta\",\"text\":\"h\\u00e9 \\n\xe2\x82\xac\"}}",
        " [ \"a\" , { \"k\" : [ \"\" , \"x\\\"y\" , 1.5e3 , true ] } , null ] ",
        "\"just a string\"",
        "{\"a\":{\"b\":{\"c\":[\"d\",\"e\",{\"f\":\"g\"}]}},\"h\":\"i\"}",
        "{\"id\":\"chatcmpl-9\",\"created\":1700000000,\"choices\":[{\"index\":0,"
        "\"message\":{\"content\":\"Hi\"},\"logprobs\":null}],\"usage\":"
        "{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21,"
        "\"cost\":0.00012}}",
        "[1,-2,3.5,[4,[5e1]],{\"n\":6},7]",
    };
    static const char alphabet[] = "{}[]\":,\\u0e9 -.x\x01\xc3\xa9\xff";
    static const char strchars[] = "ab \\\"n\xc3\xa9\xe2\x82\xac\x01u0";
    static at_js_tok t1[256], t2[256];
    unsigned seedv = 424242;
    size_t si;
    long taken = 0, both = 0;

    for (si = 0; si < sizeof(seeds) / sizeof(*seeds); si++) {
        at_js_shape sh;
        at_js_doc_t d1, d2;
        at_js o1, o2;
        char base[512], b[512];
        size_t bn = strlen(seeds[si]);
        int round;

        memset(&sh, 0, sizeof(sh));
        memcpy(base, seeds[si], bn);
        cr_assert(at_js_doc(base, bn, t1, 256, &d1, &o1), "%s", seeds[si]);
        cr_assert(at_js_shape_keep(&sh, &d1, bn));
        for (round = 0; round < runs(40000); round++) {
            size_t n = sh.n, k, pos, len;
            int r1, r2, kind;

            memcpy(b, sh.text, n);
            seedv = seedv * 1103515245u + 12345u;
            kind = (int)((seedv >> 16) % 5);
            pos = (seedv >> 4) % (n + 1);
            seedv = seedv * 1103515245u + 12345u;
            len = 1 + (seedv >> 16) % 6;
            if (kind == 0 && pos < n) {          /* change a byte */
                b[pos] = alphabet[(seedv >> 8) % (sizeof(alphabet) - 1)];
            } else if (kind == 1 && n + len < sizeof(b)) { /* insert */
                memmove(b + pos + len, b + pos, n - pos);
                for (k = 0; k < len; k++) {
                    seedv = seedv * 1103515245u + 12345u;
                    b[pos + k] = strchars[(seedv >> 8) %
                                          (sizeof(strchars) - 1)];
                }
                n += len;
            } else if (kind == 2 && pos + len <= n) { /* delete */
                memmove(b + pos, b + pos + len, n - pos - len);
                n -= len;
            } else if (kind == 3) {       /* rewrite one string's content */
                uint32_t i = (uint32_t)((seedv >> 8) % sh.ntok), s0, s1;
                size_t nl = (seedv >> 20) % 12;

                while (i < sh.ntok && sh.tok[i].kind != AT_JS_STRING)
                    i++;
                if (i == sh.ntok || n + nl >= sizeof(b))
                    continue;
                s0 = sh.tok[i].off + 1;
                s1 = sh.tok[i].off + sh.tok[i].len - 1;
                memmove(b + s0 + nl, b + s1, n - s1);
                for (k = 0; k < nl; k++) {
                    seedv = seedv * 1103515245u + 12345u;
                    b[s0 + k] = strchars[(seedv >> 8) %
                                         (sizeof(strchars) - 1)];
                }
                n = n - (s1 - s0) + nl;
            } else if (kind == 4) {       /* rewrite one number */
                static const char *const nums[] = {
                    "0", "7", "-3", "12", "123456", "1.5", "-0.25", "1e5",
                    "2E-3", "1234567890123456789", "123456789012345678",
                    "01", "-", "1.", ".5", "1e", "--1", "+1", "1x", "\"1\"",
                    "null", "1,2", "1]", "9.9e299", "1e400" };
                uint32_t i = (uint32_t)((seedv >> 8) % sh.ntok), s0, s1;
                const char *nv = nums[(seedv >> 20) % (sizeof(nums) /
                                                       sizeof(nums[0]))];
                size_t nl = strlen(nv);

                while (i < sh.ntok && sh.tok[i].kind != AT_JS_NUMBER)
                    i++;
                if (i == sh.ntok || n + nl >= sizeof(b))
                    continue;
                s0 = sh.tok[i].off;
                s1 = sh.tok[i].off + sh.tok[i].len;
                memmove(b + s0 + nl, b + s1, n - s1);
                memcpy(b + s0, nv, nl);
                n = n - (s1 - s0) + nl;
            }
            r1 = at_js_doc(b, n, t1, 256, &d1, &o1);
            r2 = at_js_redoc(&sh, b, n, t2, 256, &d2, &o2);
            if (r2) {
                taken++;
                cr_assert(r1, "redoc took what the scanner refuses: %.*s",
                          (int)n, b);
                cr_assert(same_doc(&d1, &o1, &d2, &o2),
                          "redoc's tokens differ: %.*s", (int)n, b);
                /* the two-step form, one value (and what is inside it)
                 * patched over stale tokens: the same tokens there */
                {
                    static at_js_tok t3[256];
                    at_js_patch pt;
                    at_js_doc_t d3;
                    uint32_t v0 = (uint32_t)((seedv >> 3) % sh.ntok), v;

                    memset(t3, 0xa5, sizeof(t3));
                    cr_assert(at_js_rescan(&sh, b, n, &pt));
                    cr_assert_eq(pt.gen, d2.gen);
                    if (sh.tok[v0].next == v0 + 1 && (round & 1))
                        at_js_patch_leaf(&pt, v0, t3);
                    else
                        at_js_patch_toks(&pt, v0, sh.tok[v0].next, t3);
                    at_js_patch_doc(&pt, t3, 256, &d3);
                    cr_assert(d3.text == d2.text && d3.ntok == d2.ntok &&
                              d3.gen == d2.gen && d3.full == 0);
                    for (v = v0; v < sh.tok[v0].next; v++)
                        cr_assert(!memcmp(&t3[v], &t2[v], sizeof(t3[v])),
                                  "token %u of %u..%u patched wrong: %.*s",
                                  v, v0, sh.tok[v0].next, (int)n, b);
                    for (v = 0; v < sh.ntok; v++)
                        if (v < v0 || v >= sh.tok[v0].next)
                            cr_assert_eq(t3[v].kind, 0xa5,
                                         "token %u written", v);
                }
                if (round % 7 == 0) { /* keep it: shapes change too */
                    cr_assert(at_js_shape_keep(&sh, &d2, n));
                    memcpy(base, b, n);
                }
            }
            both += r1;
        }
        at_js_shape_free(&sh);
    }
    cr_expect_gt(taken, runs(25000), "redoc took %ld of %ld valid texts", taken,
                 both);
}

Test(jscan, strings_decode_as_jansson_decodes)
{
    static const char *const strs[] = {
        "\"\"", "\"plain\"", "\"\\u00e9\\u20ac\\ud83d\\ude00\"",
        "\"a\\u0000b\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"h\xc3\xa9\\n\"", "\"\\uD834\\uDD1E tail\"", "\"\\u0000\"", "\"\\n\"",
    };
    size_t i;

    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        char doc[128];
        at_js root, k, v;
        at_js_it it;
        at_buf b;
        json_t *j;
        char *dup;

        snprintf(doc, sizeof(doc), "{\"s\":%s}", strs[i]);
        j = json_loads(doc, JSON_ALLOW_NUL, NULL);
        cr_assert_not_null(j, "%s", doc);
        cr_assert(at_js_doc(doc, strlen(doc), toks, 4096, &tdoc, &root));
        cr_assert(at_js_obj(root, &it));
        cr_assert_eq(at_js_next_member(&it, &k, &v), 1);
        cr_assert(at_js_key_is(k, "s"));
        at_buf_init(&b, 1024);
        cr_expect_eq(at_js_str_append(v, &b),
                     json_string_length(json_object_get(j, "s")));
        cr_expect_eq(at_js_str_len(v),
                     json_string_length(json_object_get(j, "s")));
        cr_expect_eq(at_js_str_empty(v),
                     json_string_length(json_object_get(j, "s")) == 0, "%s",
                     doc);
        cr_expect_eq(b.len, json_string_length(json_object_get(j, "s")));
        cr_expect(b.len == 0 ||
                  memcmp(b.p, json_string_value(json_object_get(j, "s")),
                         b.len) == 0, "%s", doc);
        cr_expect_eq(at_js_str_eq(v, json_string_value(json_object_get(
                                         j, "s"))),
                     strlen(json_string_value(json_object_get(j, "s"))) ==
                         b.len);
        dup = at_js_str_dup(v);
        cr_expect_str_eq(dup, json_string_value(json_object_get(j, "s")));
        free(dup);
        cr_expect_eq(at_js_next_member(&it, &k, &v), 0);
        cr_expect(at_js_str_empty(root)); /* an object */
        at_buf_free(&b);
        json_decref(j);
    }
}

Test(jscan, integers)
{
    const char *doc = "{\"a\":42,\"b\":-7,\"c\":1.0,\"d\":2e3,\"e\":\"9\"}";
    at_js root, k, v;
    at_js_it it;
    int64_t x;
    int n = 0;

    cr_assert(at_js_doc(doc, strlen(doc), toks, 4096, &tdoc, &root));
    cr_assert(at_js_obj(root, &it));
    while (at_js_next_member(&it, &k, &v) > 0) {
        int is = at_js_int(v, &x);

        if (at_js_key_is(k, "a"))
            cr_expect(is && x == 42);
        else if (at_js_key_is(k, "b"))
            cr_expect(is && x == -7);
        else
            cr_expect(!is, "%.*s", (int)k.n, k.p);
        n++;
    }
    cr_expect_eq(n, 5);
}

Test(jscan, nesting_beyond_the_limit_is_refused)
{
    char doc[2 * AT_JS_MAX_DEPTH + 8];
    size_t i, n = 0;

    doc[n++] = '{';
    doc[n++] = '"';
    doc[n++] = 'a';
    doc[n++] = '"';
    doc[n++] = ':';
    for (i = 0; i < AT_JS_MAX_DEPTH; i++)
        doc[n++] = '[';
    for (i = 0; i < AT_JS_MAX_DEPTH; i++)
        doc[n++] = ']';
    doc[n++] = '}';
    cr_expect(!scan_ok(doc, n));
    cr_expect(jansson_ok(doc, n));
}

/* ------------------------------------------- fast path vs jansson path */

typedef struct pair {
    at_llm_stream *fast, *slow;
    int events;
} pair;

static void fast_off(int off)
{
    at_openai_fast_off = off;
    at_anthropic_fast_off = off;
    at_responses_fast_off = off;
    at_gemini_fast_off = off;
    at_ollama_fast_off = off;
}

static void pair_init_api(pair *p, at_api api)
{
    p->fast = at_llm_stream_new(api);
    p->slow = at_llm_stream_new(api);
    p->events = 0;
    cr_assert(p->fast && p->slow);
}

static void pair_init(pair *p)
{
    pair_init_api(p, AT_API_OPENAI_CHAT);
}

static void pair_feed(pair *p, const char *data, size_t n)
{
    int a, b;

    fast_off(0);
    a = at_llm_stream_event(p->fast, "", 0, data, n);
    fast_off(1);
    b = at_llm_stream_event(p->slow, "", 0, data, n);
    fast_off(0);
    cr_assert_eq(a, b, "event result %d vs %d: %.*s", a, b, (int)n, data);
    p->events++;
}

static void pair_check(pair *p, const char *what)
{
    json_t *fa = json_object(), *sa = json_object();
    at_llm_status fs, ss;
    char *fj, *sj;

    memset(&fs, 0, sizeof(fs));
    memset(&ss, 0, sizeof(ss));
    at_llm_stream_finish(p->fast, fa, &fs);
    at_llm_stream_finish(p->slow, sa, &ss);
    fj = json_dumps(fa, JSON_SORT_KEYS | JSON_COMPACT);
    sj = json_dumps(sa, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert_str_eq(fj, sj, "%s: fast and jansson paths differ", what);
    cr_assert_eq(fs.done, ss.done, "%s", what);
    free(fj);
    free(sj);
    json_decref(fa);
    json_decref(sa);
    at_llm_stream_del(p->fast);
    at_llm_stream_del(p->slow);
}

/* events_both: each of the n events of `api` alone in a stream of its
 * own, then all of them in one stream, both ways. */
static void events_both(at_api api, const char *const *ev, size_t n)
{
    pair p;
    size_t i;

    for (i = 0; i < n; i++) {
        pair_init_api(&p, api);
        pair_feed(&p, ev[i], strlen(ev[i]));
        pair_check(&p, ev[i]);
    }
    pair_init_api(&p, api);
    for (i = 0; i < n; i++)
        pair_feed(&p, ev[i], strlen(ev[i]));
    pair_check(&p, "all events");
}

/* one_shape_both: an answer's stream of `api` both ways: `first` (or
 * nothing), then 500 events of one shape made by `make` (event i into
 * b), their pieces changing. */
typedef int (*event_fn)(char *b, size_t cap, size_t i);
static const char *const stream_pieces[] = {"w ", "\\n", "\\u00e9", "",
                                     "\\\"x\\\""};

static void one_shape_both(at_api api, const char *first, event_fn make)
{
    pair p;
    size_t i;
    char ev[512];

    pair_init_api(&p, api);
    if (first != NULL)
        pair_feed(&p, first, strlen(first));
    for (i = 0; i < 500; i++) {
        int k = make(ev, sizeof(ev), i);

        cr_assert(k > 0 && (size_t)k < sizeof(ev));
        pair_feed(&p, ev, (size_t)k);
    }
    pair_check(&p, "one shape");
}

static const char *const chunks[] = {
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"},\"finish_reason\":null}]}",
    "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"Hel\\u006co \\ud83d\\ude00\\n\"}}]}",
    "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"second\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think\","
    "\"reasoning\":\"think\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"only\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"no\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get\",\"arguments\":\"\"}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"{\\\"q\\\":\"}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"1}\"}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":"
    "\"call_x\",\"function\":{\"name\":\"noindex\",\"arguments\":\"{}\"}}"
    "]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"function\":"
    "{\"arguments\":\" \"}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"name\":\"flat\",\"arguments\":\"{}\"}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":2,"
    "\"function\":{\"name\":\"obj\",\"arguments\":{\"a\":1}}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":"
    "\"legacy\",\"arguments\":\"{}\"}}}]}",
    "{\"choices\":[{\"index\":0,\"text\":\"legacy text\"}]}",
    "{\"choices\":[{\"index\":1.0,\"delta\":{\"content\":\"real index\"}}]}",
    "{\"choices\":[{\"index\":-1,\"delta\":{\"content\":\"neg\"}}]}",
    "{\"choices\":[{\"index\":70000,\"delta\":{\"content\":\"big\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\",\"content\":"
    "\"b\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\u0000nul\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":\"str\"}, 5, null]}",
    "{\"choices\":{\"index\":0}}",
    "{\"id\":\"\\u0000x\",\"model\":\"\"}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}"
    "]}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":"
    "4,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1}}}",
    "{\"x_groq\":{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}}",
    "{\"usage\":null,\"x_groq\":5}",
    "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}",
    "{\"error\":null,\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}",
    "{\"created\":123456789012345678901,\"choices\":[{\"index\":1,"
    "\"delta\":{\"content\":\"overflow elsewhere\"}}]}",
    "[1,2]", "\"str\"", "{bad json", "{\"a\":1} trailing",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[1,2,3,4,5,6,7,"
    "8,9,{\"index\":3,\"function\":{\"arguments\":\"x\"}}]}}]}",
    "{\"choices\":[{\"index\":0},{\"index\":1},{\"index\":2},{\"index\":3},"
    "{\"index\":4,\"delta\":{\"content\":\"fifth\"}}]}",
    "[DONE]",
};

Test(fast_path, same_as_jansson_on_tricky_chunks)
{
    pair p;
    size_t i, j;

    /* each chunk alone, then all of them in one stream */
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        pair_init(&p);
        pair_feed(&p, chunks[i], strlen(chunks[i]));
        pair_check(&p, chunks[i]);
    }
    pair_init(&p);
    for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++)
        pair_feed(&p, chunks[j], strlen(chunks[j]));
    pair_check(&p, "all chunks");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t cap = 0, n = 0, r;

    if (f == NULL)
        return NULL;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            p = realloc(p, cap + 1);
            cr_assert_not_null(p);
        }
        r = fread(p + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    if (n >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b) {
        z_stream z;
        size_t ocap = n * 8 + 65536;
        char *o = malloc(ocap + 1);

        memset(&z, 0, sizeof(z));
        cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (unsigned char *)p;
        z.avail_in = (unsigned)n;
        z.next_out = (unsigned char *)o;
        z.avail_out = (unsigned)ocap;
        inflate(&z, Z_FINISH);
        n = z.total_out;
        inflateEnd(&z);
        free(p);
        p = o;
    }
    p[n] = '\0';
    *len = n;
    return p;
}

/* Every line of every recorded response, after "data:" when it has one,
 * goes through both paths; so do lines with a byte changed. */
Test(fast_path, same_as_jansson_on_every_corpus_line)
{
    glob_t g;
    size_t f;
    int lines = 0;

    cr_assert_eq(glob(CORPUS "/*/*/response.body", 0, NULL, &g), 0);
    for (f = 0; f < g.gl_pathc; f++) {
        size_t len, i = 0;
        char *body = slurp(g.gl_pathv[f], &len);
        pair p, q, a, b, r, t, gp, gq, op, oq;
        unsigned seed = 7;

        cr_assert_not_null(body);
        pair_init(&p);
        pair_init(&q);
        pair_init_api(&a, AT_API_ANTHROPIC_MESSAGES);
        pair_init_api(&b, AT_API_ANTHROPIC_MESSAGES);
        pair_init_api(&r, AT_API_OPENAI_RESPONSES);
        pair_init_api(&t, AT_API_OPENAI_RESPONSES);
        pair_init_api(&gp, AT_API_GEMINI_GENERATE);
        pair_init_api(&gq, AT_API_GEMINI_GENERATE);
        pair_init_api(&op, AT_API_OLLAMA_CHAT);
        pair_init_api(&oq, AT_API_OLLAMA_CHAT);
        while (i < len) {
            size_t e = i, off = 0;
            char *line;

            while (e < len && body[e] != '\n')
                e++;
            line = body + i;
            if (e - i >= 5 && memcmp(line, "data:", 5) == 0)
                off = line[5] == ' ' ? 6 : 5;
            if (e - i > off) {
                char *copy = malloc(e - i - off + 1);

                pair_feed(&p, line + off, e - i - off);
                pair_feed(&a, line + off, e - i - off);
                pair_feed(&r, line + off, e - i - off);
                pair_feed(&gp, line + off, e - i - off);
                pair_feed(&op, line + off, e - i - off);
                memcpy(copy, line + off, e - i - off);
                seed = seed * 1103515245u + 12345u;
                copy[(seed >> 8) % (e - i - off)] = "\"\\{}:,0a\xc3"[
                    (seed >> 20) % 9];
                pair_feed(&q, copy, e - i - off);
                pair_feed(&b, copy, e - i - off);
                pair_feed(&t, copy, e - i - off);
                pair_feed(&gq, copy, e - i - off);
                pair_feed(&oq, copy, e - i - off);
                free(copy);
                lines++;
            }
            i = e + 1;
        }
        pair_check(&p, g.gl_pathv[f]);
        pair_check(&q, g.gl_pathv[f]);
        pair_check(&a, g.gl_pathv[f]);
        pair_check(&b, g.gl_pathv[f]);
        pair_check(&r, g.gl_pathv[f]);
        pair_check(&t, g.gl_pathv[f]);
        pair_check(&gp, g.gl_pathv[f]);
        pair_check(&gq, g.gl_pathv[f]);
        pair_check(&op, g.gl_pathv[f]);
        pair_check(&oq, g.gl_pathv[f]);
        free(body);
    }
    globfree(&g);
    cr_expect_gt(lines, 100);
}

/* Chunks of one shape read from the walk of the first (a template): the
 * same answers as jansson when strings change, when a key changes (same
 * length), when the shape changes and comes back, with tool calls. */
Test(fast_path, chunks_of_one_shape)
{
#define C(x) "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{" x \
             "},\"finish_reason\":null}],\"obfuscation\":\"abc\"}"
    static const char *const seq[] = {
        C("\"role\":\"assistant\",\"content\":\"\""),
        C("\"content\":\"Hel\""),
        C("\"content\":\"lo \\\"there\\\"\\n\""),
        C("\"content\":\"\""),
        C("\"refusal\":\"nope\""),      /* a key of the same length */
        C("\"content\":\"again\""),
        C("\"content\":\"\\u00e9\\u0000x\""),
        C("\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":"
          "{\"name\":\"get\",\"arguments\":\"\"}}]"),
        C("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
          "\"{\\\"a\\\"\"}}]"),
        C("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
          "\":1}\"}}]"),
        C("\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
          "\"x\"}}]"),                  /* a number: the whole scan */
        C("\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
          "\"yz\"}}]"),
        C("\"content\":\"end\""),
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},"
        "\"finish_reason\":\"stop\"}],\"obfuscation\":\"abc\"}",
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},"
        "\"finish_reason\":\"length\"}],\"obfuscation\":\"abcdef\"}",
        "{\"id\":\"c2\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
        "\"completion_tokens\":5,\"total_tokens\":8}}",
        "{\"id\":\"c2\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
        "\"completion_tokens\":6,\"total_tokens\":10}}",
    };
#undef C
    pair p;
    size_t i;
    long hits = at_openai_tpl_hits + at_openai_delta_hits;

    pair_init(&p);
    for (i = 0; i < sizeof(seq) / sizeof(*seq); i++)
        pair_feed(&p, seq[i], strlen(seq[i]));
    pair_check(&p, "chunks of one shape");
    hits = at_openai_tpl_hits + at_openai_delta_hits - hits;
    cr_expect_geq(hits, 5, "%ld chunks from a template", hits);
}

/* The delta path (a chunk that differs from its template's shape only in
 * the one text its fold appends, or in strings the fold does not read):
 * the same answers as jansson on sequences built to reach its edges, and
 * it is taken. */
Test(fast_path, delta_chunks_same_as_jansson)
{
#define D(id, x, o) "{\"id\":\"" id "\",\"model\":\"m\",\"choices\":[{" \
                    "\"index\":0,\"delta\":{" x "},\"finish_reason\":null}]," \
                    "\"obfuscation\":\"" o "\"}"
    static const char *const seqs[][8] = {
        /* text, escapes, an empty text, the pad changing length */
        { D("c1", "\"content\":\"a\"", "x"), D("c1", "\"content\":\"b\"", "yy"),
          D("c1", "\"content\":\"\\u00e9\\n\"", "z"),
          D("c1", "\"content\":\"\"", "zzzz"), D("c1", "\"content\":\"a\"", "x"),
          D("c1", "\"content\":\"\\u0000x\"", ""), NULL },
        /* empty texts only: no part is made */
        { D("c1", "\"content\":\"\"", "x"), D("c1", "\"content\":\"\"", "yy"),
          NULL },
        /* the id changing (a string the fold reads): the whole fold */
        { D("c1", "\"content\":\"a\"", "x"), D("c2", "\"content\":\"b\"", "x"),
          D("c2", "\"content\":\"c\"", "x"), NULL },
        /* no id kept yet: the first chunk's id is empty */
        { D("", "\"content\":\"a\"", "x"), D("", "\"content\":\"b\"", "x"),
          D("i", "\"content\":\"c\"", "x"), D("i", "\"content\":\"d\"", "x"),
          NULL },
        /* both reasoning spellings: the second is not appended, and a
         * change in it takes the whole fold */
        { D("c1", "\"reasoning_content\":\"r1\",\"reasoning\":\"r1\"", "x"),
          D("c1", "\"reasoning_content\":\"r2\",\"reasoning\":\"r2\"", "x"),
          D("c1", "\"reasoning_content\":\"r3\",\"reasoning\":\"r2\"", "x"),
          NULL },
        /* reasoning alone, then content null with a refusal */
        { D("c1", "\"reasoning\":\"r1\"", "x"), D("c1", "\"reasoning\":\"r2\"", "x"),
          D("c1", "\"content\":null,\"refusal\":\"no\"", "x"),
          D("c1", "\"content\":null,\"refusal\":\"pe\"", "x"), NULL },
        /* two texts: no delta template */
        { D("c1", "\"content\":\"a\",\"refusal\":\"b\"", "x"),
          D("c1", "\"content\":\"c\",\"refusal\":\"d\"", "x"), NULL },
        /* a finish reason in the shape: no delta template */
        { "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},"
          "\"finish_reason\":\"stop\"}]}",
          "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},"
          "\"finish_reason\":\"stop\"}]}",
          "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c\"},"
          "\"finish_reason\":\"stop\"}]}", NULL },
        /* legacy completions text; an index out of range; index 2 */
        { "{\"choices\":[{\"text\":\"a\",\"index\":0,\"finish_reason\":null}]}",
          "{\"choices\":[{\"text\":\"b\",\"index\":0,\"finish_reason\":null}]}",
          "{\"choices\":[{\"text\":\"b\",\"index\":99999999,"
          "\"finish_reason\":null}]}",
          "{\"choices\":[{\"text\":\"c\",\"index\":99999999,"
          "\"finish_reason\":null}]}",
          "{\"choices\":[{\"text\":\"d\",\"index\":2,\"finish_reason\":null}]}",
          "{\"choices\":[{\"text\":\"e\",\"index\":2,\"finish_reason\":null}]}",
          NULL },
        /* the same chunk again (no change at all) and usage in the shape */
        { D("c1", "\"content\":\"a\"", "x"), D("c1", "\"content\":\"a\"", "x"),
          "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
          "\"u\"}}],\"usage\":{\"prompt_tokens\":1}}",
          "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
          "\"v\"}}],\"usage\":{\"prompt_tokens\":1}}", NULL },
    };
#undef D
    long before = at_openai_delta_hits;
    size_t i, k;

    for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        pair p;
        char what[32];

        pair_init(&p);
        for (k = 0; k < 8 && seqs[i][k] != NULL; k++)
            pair_feed(&p, seqs[i][k], strlen(seqs[i][k]));
        snprintf(what, sizeof(what), "delta sequence %zu", i);
        pair_check(&p, what);
    }
    cr_expect_geq(at_openai_delta_hits - before, 8, "%ld delta chunks",
                  at_openai_delta_hits - before);
}

/* Random streams of chunks of a few shapes: texts with escapes, pads of
 * every length, an id or model changing now and then, finish reasons and
 * usage: the same answers as jansson, and the delta path taken. */
Test(fast_path, delta_random_streams)
{
    static const char *const texts[] = { "a", "bc", "\\u00e9", "\\n", "",
                                         "\\\"q\\\"", "\\ud83d\\ude00",
                                         "word ", "\\u0000" };
    static const char *const keys[] = { "content", "reasoning_content",
                                        "refusal", "reasoning" };
    uint32_t seed = 12345;
    long before = at_openai_delta_hits;
    int stream, n;

    for (stream = 0; stream < 40; stream++) {
        pair p;
        char what[32];

        pair_init(&p);
        for (n = 0; n < 60; n++) {
            char chunk[512];
            uint32_t r;
            int len;

            seed = seed * 1103515245u + 12345u;
            r = seed >> 8;
            len = snprintf(chunk, sizeof(chunk),
                           "{\"id\":\"%s\",\"model\":\"%s\",\"choices\":[{"
                           "\"index\":%d,\"delta\":{\"%s\":\"%s\"},"
                           "\"finish_reason\":%s}],\"obfuscation\":\"%.*s\"%s}",
                           r % 29 == 0 ? "c2" : "c1",
                           r % 31 == 0 ? "m2" : (stream & 1 ? "" : "m1"),
                           r % 37 == 0 ? 1 : 0,
                           keys[stream % 4 == 3 ? (int)((r >> 3) % 4) : stream % 4],
                           texts[(r >> 6) % 9],
                           r % 23 == 0 ? "\"stop\"" : "null",
                           (int)((r >> 11) % 12), "pppppppppppp",
                           r % 41 == 0 ? ",\"usage\":{\"prompt_tokens\":2}"
                                       : "");
            cr_assert(len > 0 && (size_t)len < sizeof(chunk));
            pair_feed(&p, chunk, (size_t)len);
        }
        snprintf(what, sizeof(what), "random stream %d", stream);
        pair_check(&p, what);
    }
    cr_expect_geq(at_openai_delta_hits - before, 500, "%ld delta chunks",
                  at_openai_delta_hits - before);
}

static const char *const anthropic_events[] = {
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":"
    "\"claude-x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}",
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}",
    "{\"type\":\"ping\"}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Hi \\u00e9\\n\"}}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"\"}}",
    "{\"type\":\"content_block_delta\",\"index\":1.0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"real index\"}}",
    "{\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"neg\"}}",
    "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"thinking_delta\",\"thinking\":\"hmm\"}}",
    "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"signature_delta\",\"signature\":\"abc\"}}",
    "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"tu_1\",\"name\":\"get\",\"input\":{}}}",
    "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}",
    "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"1}\"}}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":\"x\"}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":7}}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text\\u005fdelta\",\"text\":\"escaped type\"}}",
    "{\"type\":\"content_block\\u005fdelta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"escaped event\"}}",
    "{\"type\":\"content_block_delta\\u0000x\",\"index\":0,\"delta\":{"
    "\"type\":\"text_delta\",\"text\":\"nul in type\"}}",
    "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"no type\"}}",
    "{\"type\":\"content_block_stop\",\"index\":0}",
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
    "\"usage\":{\"output_tokens\":15}}",
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
    "\"message\":\"Overloaded\"}}",
    "{\"type\":\"message_stop\"}",
    "not json", "[]",
};

Test(fast_path, anthropic_same_as_jansson_on_tricky_events)
{
    events_both(AT_API_ANTHROPIC_MESSAGES, anthropic_events,
                sizeof(anthropic_events) / sizeof(anthropic_events[0]));
}

/* The Responses API's events: every delta the fast path takes, with
 * indexes missing, negative, real, too large or given twice, pieces
 * empty, escaped or not strings, types it leaves to the tree (escaped,
 * missing, other events), more tokens than its room; then the same in
 * one stream, and a stream of one shape, as a real answer's. */
static const char *const responses_events[] = {
    "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
    "{\"id\":\"resp_1\",\"model\":\"gpt-4.1\",\"status\":\"in_progress\"}}",
    "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":"
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[]}}",
    "{\"type\":\"response.output_text.delta\",\"sequence_number\":3,"
    "\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,"
    "\"delta\":\"Hel\",\"logprobs\":[],\"obfuscation\":\"abcd\"}",
    "{\"type\":\"response.output_text.delta\",\"sequence_number\":4,"
    "\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,"
    "\"delta\":\"lo \\u00e9\\n\\\"q\\\" \\ud83d\\ude00\",\"logprobs\":[],"
    "\"obfuscation\":\"x\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"content_index\":1,\"delta\":\"second part\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"delta\":\"no content index\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":-1,"
    "\"content_index\":0,\"delta\":\"negative\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0.0,"
    "\"content_index\":0,\"delta\":\"real index\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":4096,"
    "\"content_index\":0,\"delta\":\"too large\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":4095,"
    "\"content_index\":4095,\"delta\":\"largest\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"output_index\":2,\"content_index\":0,\"delta\":\"a\",\"delta\":\"b\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":7}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"nul \\u0000 inside\"}",
    "{\"type\":\"response.output_text.delt\\u0061\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"escaped type\"}",
    "{\"output_index\":0,\"content_index\":0,\"delta\":\"no type\"}",
    "{\"type\":\"response.refusal.delta\",\"output_index\":1,"
    "\"content_index\":0,\"delta\":\"I cannot\"}",
    "{\"type\":\"response.reasoning_summary_text.delta\",\"output_index\":0,"
    "\"summary_index\":0,\"delta\":\"thinking\"}",
    "{\"type\":\"response.reasoning_summary_text.delta\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"summary without its index\"}",
    "{\"type\":\"response.reasoning_text.delta\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"raw reasoning\"}",
    "{\"type\":\"response.output_item.added\",\"output_index\":2,\"item\":"
    "{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"call_1\","
    "\"name\":\"search\",\"arguments\":\"\"}}",
    "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":2,"
    "\"item_id\":\"fc_1\",\"delta\":\"{\\\"q\\\":\"}",
    "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":2,"
    "\"delta\":\"1}\"}",
    "{\"type\":\"response.custom_tool_call_input.delta\",\"output_index\":3,"
    "\"delta\":\"raw input\"}",
    "{\"type\":\"response.function_call_arguments.delta\",\"delta\":\"x\"}",
    "{\"type\":\"response.function_call_arguments.done\",\"output_index\":2,"
    "\"arguments\":\"{\\\"q\\\":1}\"}",
    "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"many tokens\",\"logprobs\":[1,2,3,4,"
    "5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,"
    "30,31,32,33]}",
    "{\"type\":\"response.content_part.added\",\"output_index\":0}",
    "{\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\","
    "\"status\":\"completed\",\"usage\":{\"input_tokens\":5,"
    "\"output_tokens\":9,\"total_tokens\":14}}}",
    "{\"type\":\"error\",\"message\":\"boom\"}",
    "[1]", "{bad", "{\"type\":7}",
};

/* a delta of an answer's stream, its piece and pad changing */
static int responses_delta(char *b, size_t cap, size_t i)
{
    return snprintf(b, cap,
                    "{\"type\":\"response.output_text.delta\","
                    "\"sequence_number\":%zu,\"item_id\":\"msg_1\","
                    "\"output_index\":0,\"content_index\":%d,"
                    "\"delta\":\"%s\",\"logprobs\":[],"
                    "\"obfuscation\":\"%.*s\"}",
                    i + 2, i % 97 == 0 ? 1 : 0, stream_pieces[i % 5],
                    (int)(i % 9), "abcdefghi");
}

Test(fast_path, responses_same_as_jansson_on_tricky_events)
{
    events_both(AT_API_OPENAI_RESPONSES, responses_events,
                sizeof(responses_events) / sizeof(responses_events[0]));
    one_shape_both(AT_API_OPENAI_RESPONSES, responses_events[0],
                   responses_delta);
}

/* Gemini's chunks: texts and thoughts in both spellings, indexes of
 * every kind, candidates and parts that are not objects, the members the
 * fast path leaves to the tree (a finish reason, tool calls, other parts,
 * an error, a blocked prompt, a list of chunks, too many tokens); then
 * all in one stream, and a stream of one shape. */
static const char *const gemini_chunks[] = {
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],"
    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{"
    "\"promptTokenCount\":5,\"totalTokenCount\":5},\"modelVersion\":"
    "\"gemini-2.5-flash\",\"responseId\":\"r1\"}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo \\u00e9\\n"
    "\\\"q\\\"\"},{\"text\":\"think\",\"thought\":true},{\"text\":\"\"},"
    "{\"text\":7},5,{\"thoughtSignature\":\"abc\"}]},\"index\":0}],"
    "\"usage_metadata\":{\"prompt_token_count\":6,"
    "\"candidates_token_count\":2.0,\"thoughts_token_count\":-1,"
    "\"cachedContentTokenCount\":3,\"cached_content_token_count\":4},"
    "\"model_version\":\"snake\",\"response_id\":\"\\u0000x\"}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"second\"}]},"
    "\"index\":1},{\"content\":{\"parts\":[{\"text\":\"no index\"}]}},"
    "{\"content\":{\"parts\":[{\"text\":\"real\"}]},\"index\":1.0},"
    "{\"content\":{\"parts\":[{\"text\":\"neg\"}]},\"index\":-1},"
    "{\"content\":{\"parts\":[{\"text\":\"big\"}]},\"index\":65536},"
    "\"not a candidate\",{\"content\":\"no parts\"},{\"content\":{"
    "\"parts\":{\"text\":\"not a list\"}}}]}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"largest\"}]},"
    "\"index\":65535},{\"content\":{\"parts\":[{\"text\":\"not a thought\","
    "\"thought\":false}]},\"index\":2}],\"usageMetadata\":{"
    "\"thoughtsTokenCount\":3,\"candidatesTokenCount\":4}}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\","
    "\"text\":\"b\",\"thought\":false,\"thought\":true}]}}],"
    "\"modelVersion\":7,\"model_version\":\"ignored\",\"responseId\":\"\"}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"before\"},"
    "{\"functionCall\":{\"name\":\"search\",\"args\":{\"q\":1}}}]}}]}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"function_call\":{"
    "\"name\":\"snake\"}}]}}]}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{"
    "\"mimeType\":\"image/png\"}},{\"text\":\"with text\",\"fileData\":{}}"
    "]}}]}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"end\"}]},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
    "\"promptTokenCount\":5,\"candidatesTokenCount\":9}}",
    "{\"candidates\":[{\"finish_reason\":null}]}",
    "{\"candidates\":[],\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}",
    "{\"error\":{\"code\":429,\"message\":\"quota\",\"status\":"
    "\"RESOURCE_EXHAUSTED\"}}",
    "{\"error\":null,\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
    "\"ok\"}]}}]}",
    "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"in a list\"}]}"
    "}]}]",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"many\"},1,2,3,"
    "4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
    "29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,"
    "52,53,54,55,56,57,58,59,60,61,62,63,64]}}]}",
    "{\"candidates\":7}", "{\"usageMetadata\":[1]}", "[1]", "{bad", "7",
};

/* a chunk of an answer's stream, its text and counts changing */
static int gemini_chunk(char *b, size_t cap, size_t i)
{
    return snprintf(b, cap,
                    "{\"candidates\":[{\"content\":{\"parts\":[{"
                    "\"text\":\"%s\"%s}],\"role\":\"model\"},"
                    "\"index\":0}],\"usageMetadata\":{"
                    "\"promptTokenCount\":12,\"candidatesTokenCount\":"
                    "%zu,\"totalTokenCount\":%zu},\"modelVersion\":"
                    "\"gemini-2.5-flash\",\"responseId\":\"r%zu\"}",
                    stream_pieces[i % 5],
                    i % 37 == 0 ? ",\"thought\":true" : "",
                    i, i + 12, i / 100);
}

Test(fast_path, gemini_same_as_jansson_on_tricky_chunks)
{
    events_both(AT_API_GEMINI_GENERATE, gemini_chunks,
                sizeof(gemini_chunks) / sizeof(gemini_chunks[0]));
    one_shape_both(AT_API_GEMINI_GENERATE, NULL, gemini_chunk);
}

/* Ollama's lines (/api/chat and /api/generate): texts and thinking in
 * the message and at the top, models of every kind, what the fast path
 * leaves to the tree (tool calls, the last line, errors, too many
 * tokens); then all in one stream, and a stream of one shape. */
static const char *const ollama_lines[] = {
    "{\"model\":\"llama3.2\",\"created_at\":\"2026-01-01T00:00:00Z\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"done\":false}",
    "{\"model\":\"other\",\"message\":{\"role\":\"assistant\",\"content\":"
    "\"lo \\u00e9\\n\\\"q\\\"\",\"thinking\":\"hmm\"},\"thinking\":\"top\","
    "\"response\":\"generate\"}",
    "{\"model\":\"\",\"message\":{\"content\":\"\",\"content\":\"last wins\"}}",
    "{\"message\":{\"content\":\"text after\"},\"thinking\":\"thinking first\"}",
    "{\"model\":7,\"message\":\"not an object\",\"response\":5}",
    "{\"message\":{\"content\":\"nul \\u0000 in\"},\"done\":\"true\"}",
    "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
    "[{\"function\":{\"name\":\"search\",\"arguments\":{\"q\":1}}}]}}",
    "{\"message\":{\"tool_calls\":null,\"content\":\"null calls\"}}",
    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\","
    "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
    "\"prompt_eval_count\":12,\"eval_count\":9}",
    "{\"error\":\"model not found\"}",
    "{\"error\":null,\"message\":{\"content\":\"x\"}}",
    "{\"message\":{\"content\":\"many\"},\"context\":[1,2,3,4,5,6,7,8,9,10,"
    "11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32]}",
    "[1]", "{bad", "\"s\"",
};

/* a line of an answer's stream, its time and text changing */
static int ollama_line(char *b, size_t cap, size_t i)
{
    return snprintf(b, cap,
                    "{\"model\":\"llama3.2\",\"created_at\":"
                    "\"2026-01-01T00:00:00.%06zuZ\",\"message\":{"
                    "\"role\":\"assistant\",\"content\":\"%s\"%s},"
                    "\"done\":false}",
                    i, stream_pieces[i % 5],
                    i % 41 == 0 ? ",\"thinking\":\"t\"" : "");
}

Test(fast_path, ollama_same_as_jansson_on_tricky_lines)
{
    events_both(AT_API_OLLAMA_CHAT, ollama_lines,
                sizeof(ollama_lines) / sizeof(ollama_lines[0]));
    one_shape_both(AT_API_OLLAMA_CHAT, NULL, ollama_line);
}

/* ------------------------------------- trees from the scanner's tokens */

extern int at_llm_scan_off;
json_t *at_llm_parse(const char *p, size_t n);

/* both readers on one text: the same tree, member order included, or
 * both refuse it.  Returns 1 when the text was read. */
static int same_tree(const char *p, size_t n)
{
    json_t *a, *b;
    char *da, *db;

    at_llm_scan_off = 0;
    a = at_llm_parse(p, n);
    at_llm_scan_off = 1;
    b = at_llm_parse(p, n);
    at_llm_scan_off = 0;
    cr_assert_eq(a == NULL, b == NULL, "one reader refused: %.*s",
                 (int)(n > 300 ? 300 : n), p);
    if (a == NULL)
        return 0;
    da = json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT);
    db = json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT);
    cr_assert_str_eq(da, db, "%.*s", (int)(n > 300 ? 300 : n), p);
    cr_assert(json_equal(a, b));
    free(da);
    free(db);
    json_decref(a);
    json_decref(b);
    return 1;
}

Test(tree, same_as_jansson_on_tricky_values)
{
    static const char *const docs[] = {
        "{\"a\":1,\"b\":2,\"a\":3}", "[1,2.5,-0,-0.0,1e5,1E-5,2.2250738585072014e-308]",
        "\"top string\"", "42", "-7.25", "true", "false", "null", " [ ] ",
        "{\"s\":\"\\u0000\\ud83d\\ude00\\n\",\"t\":\"\xe2\x82\xac\"}",
        "{\"x\":{\"y\":{\"z\":[[],[{}],{\"k\":null}]}}}",
        "{\"big\":123456789012345678,\"r\":0.1,\"r2\":123456.789e-3}",
        "{\"\":\"empty key\"}", "{\"k\\u0041\":1}", "{\"a\":1}x",
        "[99999999999999999999]", "{\"n\":1e400}",
    };
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        same_tree(docs[i], strlen(docs[i]));
}

Test(tree, same_as_jansson_in_a_foreign_locale)
{
    /* a host that set a comma decimal point must not change the reals */
    const char *doc = "{\"temperature\":0.7,\"top_p\":1.5e-1}";
    json_t *v;

    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL) {
        /* none installed: compile one (glibc's localedef) where
         * LOCPATH points */
        char dir[] = "/tmp/at-locale-XXXXXX", cmd[256];

        cr_assert_not_null(mkdtemp(dir));
        snprintf(cmd, sizeof(cmd),
                 "localedef -c -i de_DE -f UTF-8 %s/de_DE.UTF-8 "
                 ">/dev/null 2>&1", dir);
        if (system(cmd) != 0)
            cr_skip_test("no comma-decimal locale, and localedef failed");
        setenv("LOCPATH", dir, 1);
        cr_assert_not_null(setlocale(LC_NUMERIC, "de_DE.UTF-8"));
    }
    cr_assert_eq(*localeconv()->decimal_point, ',');
    v = at_llm_parse(doc, strlen(doc));
    cr_assert_not_null(v);
    cr_expect_float_eq(json_real_value(json_object_get(v, "temperature")),
                       0.7, 1e-12);
    cr_expect_float_eq(json_real_value(json_object_get(v, "top_p")), 0.15,
                       1e-12);
    json_decref(v);
    setlocale(LC_NUMERIC, "C");
    if (getenv("LOCPATH") != NULL &&
        strncmp(getenv("LOCPATH"), "/tmp/at-locale-", 15) == 0) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", getenv("LOCPATH"));
        cr_expect_eq(system(cmd), 0);
    }
}

/* Every recorded body, every line of it, and the same with bytes changed,
 * through both readers. */
Test(tree, same_as_jansson_on_the_corpus)
{
    glob_t g;
    size_t f;
    int read = 0;
    unsigned seed = 99;

    cr_assert_eq(glob(CORPUS "/*/*/*.body", 0, NULL, &g), 0);
    for (f = 0; f < g.gl_pathc; f++) {
        size_t len, i = 0;
        char *body = slurp(g.gl_pathv[f], &len);

        cr_assert_not_null(body);
        read += same_tree(body, len);
        while (i < len) {
            size_t e = i, off = 0, n, k;
            char *line = body + i, *copy;

            while (e < len && body[e] != '\n')
                e++;
            if (e - i >= 5 && memcmp(line, "data:", 5) == 0)
                off = line[5] == ' ' ? 6 : 5;
            n = e - i - off;
            if (n > 0) {
                read += same_tree(line + off, n);
                copy = malloc(n);
                for (k = 0; k < 8; k++) {
                    memcpy(copy, line + off, n);
                    seed = seed * 1103515245u + 12345u;
                    copy[(seed >> 8) % n] = "\"\\{}[]:,0.e-a\xc3 "[(seed >> 20) % 15];
                    same_tree(copy, n);
                }
                free(copy);
            }
            i = e + 1;
        }
        free(body);
    }
    globfree(&g);
    cr_expect_gt(read, 100);
}

/* ------------------------- whole bodies: scanner decoders vs tree ones */

extern int at_llm_body_fast_off;
extern long at_llm_body_fast_hits;

/* gunzip_file: a corpus body, inflated when it is gzip (gzread reads a
 * plain file as it is).  NUL-terminated; *len its length. */
static char *gunzip_file(const char *path, size_t *len)
{
    gzFile z = gzopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap + 1);
    int k;

    cr_assert(z != NULL && p != NULL);
    while ((k = gzread(z, p + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)k;
        if (n == cap) {
            cap *= 2;
            p = realloc(p, cap + 1);
            cr_assert_not_null(p);
        }
    }
    gzclose(z);
    p[n] = '\0';
    *len = n;
    return p;
}

/* list_text: the list as the span line holds it. */
static char *list_text(const at_attrs *l)
{
    at_buf b;
    char *t;

    at_buf_init(&b, (size_t)1 << 30);
    cr_assert_eq(at_attrs_write(&b, l), 0);
    t = strdup(b.p ? b.p : "");
    at_buf_free(&b);
    return t;
}

/* decode_both: a body through the chat decoders both ways: the same
 * attributes, in the same order, and the same answer; through the jansson
 * API, and written from the flat list as the span line holds them (the
 * fast way writes messages as text, the tree way as trees: the bytes must
 * not tell them apart). */
static void decode_both_at(const char *host, const char *path, int request,
                           const char *p, size_t n)
{
    at_llm_route r;
    json_t *a = json_object(), *b = json_object();
    at_attrs la, lb;
    char *da, *db;
    int ra, rb;

    cr_assert_eq(at_llm_route_find("POST", host, path, &r), 1);
    at_llm_body_fast_off = 0;
    ra = request ? at_llm_request_decode(&r, p, n, a)
                 : at_llm_response_decode(r.api, p, n, a);
    at_llm_body_fast_off = 1;
    rb = request ? at_llm_request_decode(&r, p, n, b)
                 : at_llm_response_decode(r.api, p, n, b);
    at_llm_body_fast_off = 0;
    da = json_dumps(a, JSON_COMPACT);
    db = json_dumps(b, JSON_COMPACT);
    cr_assert_eq(ra, rb, "%s %.*s", request ? "request" : "response",
                 (int)(n > 400 ? 400 : n), p);
    cr_assert_str_eq(da, db, "%s %.*s", request ? "request" : "response",
                     (int)(n > 400 ? 400 : n), p);
    free(da);
    free(db);
    json_decref(a);
    json_decref(b);

    at_attrs_init(&la);
    at_attrs_init(&lb);
    at_llm_body_fast_off = 0;
    ra = request ? at_llm_request_decode_list(&r, p, n, &la)
                 : at_llm_response_decode_list(r.api, p, n, &la);
    at_llm_body_fast_off = 1;
    rb = request ? at_llm_request_decode_list(&r, p, n, &lb)
                 : at_llm_response_decode_list(r.api, p, n, &lb);
    at_llm_body_fast_off = 0;
    da = list_text(&la);
    db = list_text(&lb);
    cr_assert_eq(ra, rb);
    cr_assert_str_eq(da, db, "list %s %.*s",
                     request ? "request" : "response",
                     (int)(n > 400 ? 400 : n), p);
    free(da);
    free(db);
    at_attrs_free(&la);
    at_attrs_free(&lb);
}

#define GEMINI_HOST "generativelanguage.googleapis.com"
#define GEMINI_PATH "/v1beta/models/gemini-2.5-flash:generateContent"

static void decode_both(int request, const char *p, size_t n)
{
    decode_both_at("api.openai.com", "/v1/chat/completions", request, p, n);
}

/* Every recorded request and response body (whatever its provider: the
 * decoders must agree on any JSON), each also with bytes changed. */
Test(body_fast, same_attributes_as_the_tree_decoders_on_the_corpus)
{
    glob_t g;
    size_t f;
    unsigned seed = 4711;
    long hits0 = at_llm_body_fast_hits, chat = 0;

    cr_assert_eq(glob(CORPUS "/*/*/*.body", 0, NULL, &g), 0);
    for (f = 0; f < g.gl_pathc; f++) {
        size_t len, k;
        char *body = gunzip_file(g.gl_pathv[f], &len);
        int request = strstr(g.gl_pathv[f], "request.body") != NULL;

        decode_both(request, body, len);
        decode_both_at("api.anthropic.com", "/v1/messages", request, body,
                       len);
        decode_both_at("api.openai.com", "/v1/responses", request, body, len);
        decode_both_at(GEMINI_HOST, GEMINI_PATH, request, body, len);
        decode_both_at("localhost:11434", "/api/chat", request, body, len);
        if (strstr(g.gl_pathv[f], "/chat_basic") != NULL ||
            strstr(g.gl_pathv[f], "/chat_streaming/request") != NULL)
            chat++;
        for (k = 0; len > 0 && k < (size_t)runs(40); k++) {
            char *copy = malloc(len);

            memcpy(copy, body, len);
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % len] =
                "\"\\{}[]:,0.e-a\xc3 n"[(seed >> 20) % 16];
            decode_both(request, copy, len);
            decode_both_at("api.anthropic.com", "/v1/messages", request, copy,
                           len);
            decode_both_at("api.openai.com", "/v1/responses", request, copy,
                           len);
            decode_both_at(GEMINI_HOST, GEMINI_PATH, request, copy, len);
            decode_both_at("localhost:11434", "/api/chat", request, copy, len);
            free(copy);
        }
        free(body);
    }
    globfree(&g);
    /* the plain chat bodies (4 basic ones, a streamed request) at least */
    cr_expect_geq(chat, 5);
    cr_expect_geq(at_llm_body_fast_hits - hits0, chat * 2,
                  "the scanner decoders took %ld bodies",
                  at_llm_body_fast_hits - hits0);
}

/* Shapes at the edges of what the scanner decoders take. */
Test(body_fast, same_attributes_at_the_edges)
{
    static const char *const requests[] = {
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be \\\"brief\\\""
        "\\u0000\"},"
        "{\"role\":\"user\",\"content\":\"\"},{\"role\":\"user\",\"content\""
        ":null},"
        "{\"role\":\"user\"},{\"content\":\"no role\"},{\"role\":7,\"content"
        "\":\"x\"},"
        "{\"role\":\"us\\u0065r\",\"content\":\"escaped role\"},\"not an obj"
        "ect\","
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"parts"
        "\"}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\""
        "c1\","
        "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\""
        "{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"42\"},"
        "{\"role\":\"assistant\",\"content\":\"a\",\"reasoning_content\":\"r"
        "\"},"
        "{\"role\":\"user\",\"content\":5},{\"role\":\"user\",\"role\":\"ass"
        "istant\","
        "\"content\":\"dup\",\"content\":\"last\"}],"
        "\"model\":\"gpt-4o-mini\",\"temperature\":0.5,\"top_p\":1,\"max_tok"
        "ens\":10,"
        "\"max_completion_tokens\":20,\"seed\":3,\"stop\":[\"x\"],\"stream\""
        ":true,"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"parameters\":{\"type\":\"object\"}}}],\"messages\":[{\"role\":\"u"
        "ser\","
        "\"content\":\"the last messages win\"}]}",
        "{\"messages\":{\"role\":\"user\"},\"model\":null}",
        "{\"messages\":[],\"functions\":[{\"name\":\"g\"}]}",
        "{}",
        "[{\"model\":\"not an object\"}]",
        "{\"model\":\"x\",\"messages\":[{\"role\":\"" /* truncated */,
        "{\"model\":123456789012345678901234567890,\"messages\":[]}",
    };
    static const char *const responses[] = {
        "{\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":\"Hello\",\"refusal\":null,"
        "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,"
        "\"total_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":1},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
        "{\"id\":\"\",\"model\":7,\"choices\":[],\"usage\":null}",
        "{\"choices\":[{\"message\":{\"content\":\"no role\"},\"finish_reaso"
        "n\":null}]}",
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"refusal\":\"I can't\"},\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"\\"
        "u00e9\\n\","
        "\"tool_calls\":null},\"finish_reason\":\"length\"}],\"usage\":"
        "{\"prompt_tokens\":1.0,\"completion_tokens\":-1}}",
        "{\"choices\":[{\"index\":1,\"message\":{\"role\":\"assistant\",\"co"
        "ntent\":\"b\"},"
        "\"finish_reason\":\"stop\"},{\"index\":0,\"message\":{\"role\":\"as"
        "sistant\","
        "\"content\":\"a\"},\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{"
        "\"name\":"
        "\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_"
        "calls\"}]}",
        "{\"choices\":[{\"text\":\"legacy\",\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"x\","
        "\"reasoning\":\"think\"}}]}",
        "{\"choices\":[{\"message\":\"not an object\"}]}",
        "{\"choices\":[7]}",
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":[{\""
        "type\":"
        "\"text\",\"text\":\"parts\"}]}}]}",
        "{\"choices\":[{\"message\":{\"role\":\"r\\u00f4le\",\"content\":\"x"
        "\"},"
        "\"finish_reason\":\"st\\u006fp\"}],\"id\":\"a\",\"id\":\"b\"}",
        "{\"choices\":{\"message\":{}}}",
        "{\"error\":{\"message\":\"bad\"}}",
        /* usage counts: reals, negatives, details, DeepSeek's, repeats */
        "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2e1,"
        "\"prompt_tokens_details\":{\"cached_tokens\":-3},"
        "\"prompt_cache_hit_tokens\":4,\"completion_tokens_details\":"
        "{\"reasoning_tokens\":1.5}}}",
        "{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":\"7\","
        "\"prompt_tokens_details\":null,\"prompt_cache_hit_tokens\":4,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":3,"
        "\"reasoning_tokens\":9}},\"usage\":{\"prompt_tokens\":11,"
        "\"prompt_tokens_details\":{\"cached_tokens\":0,"
        "\"cached_tokens\":2},\"prompt_cache_hit_tokens\":4}}",
        "{\"usage\":{\"prompt_tokens\":-0,\"completion_tokens\":0,"
        "\"prompt_tokens_details\":[1],\"prompt_cache_hit_tokens\":1.0}}",
        "{\"usage\":[],\"choices\":[]}",
    };
    size_t i;
    long hits0 = at_llm_body_fast_hits;

    for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
        decode_both(1, requests[i], strlen(requests[i]));
    for (i = 0; i < sizeof(responses) / sizeof(responses[0]); i++)
        decode_both(0, responses[i], strlen(responses[i]));
    cr_expect_geq(at_llm_body_fast_hits - hits0, 12);
}

/* at_jw_jstr_canonical says yes exactly when the text is what at_jw_jstr
 * writes of the bytes it decodes to: random strings of control
 * characters, quotes, backslashes, slashes and UTF-8, each escaped the
 * way at_jw_jstr does and in other ways JSON allows. */
Test(jw, jstr_canonical_is_exactly_at_jw_jstr)
{
    static const char *const pieces[] = {
        "a", "\"", "\\", "/", "\n", "\t", "\b", "\f", "\r", "\x01", "\x0b",
        "\x1f", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80", " ", "A"};
    unsigned seed = 99, yes = 0, no = 0;
    int round;

    for (round = 0; round < runs(20000); round++) {
        char raw[64], text[512];
        size_t rn = 0, tn = 0, k, m;
        at_buf canon, dec;
        at_js_tok tk[4];
        at_js_doc_t d;
        at_js v;
        int want, got;

        seed = seed * 1103515245u + 12345u;
        m = (seed >> 8) % 6;
        for (k = 0; k < m; k++) {
            const char *pc;
            size_t pl;

            seed = seed * 1103515245u + 12345u;
            pc = pieces[(seed >> 8) % 17];
            pl = strlen(pc);
            memcpy(raw + rn, pc, pl);
            rn += pl;
        }
        /* the text: each byte as at_jw_jstr would, or another way */
        text[tn++] = '"';
        for (k = 0; k < rn; k++) {
            unsigned char c = (unsigned char)raw[k];
            unsigned r;

            seed = seed * 1103515245u + 12345u;
            r = (seed >> 8) % 8;
            if (r == 0 || (c >= 0x80 && r < 3)) {
                /* \u escape, lower or upper case, of a byte < 0x80; a
                 * UTF-8 sequence's code point */
                unsigned cp = c;

                if (c >= 0x80) {
                    if ((c & 0xE0) == 0xC0) {
                        cp = ((c & 0x1Fu) << 6) | (raw[k + 1] & 0x3Fu);
                        k += 1;
                    } else {
                        /* a four-byte one: leave it raw */
                        text[tn++] = (char)c;
                        continue;
                    }
                }
                tn += (size_t)snprintf(text + tn, sizeof(text) - tn,
                                       (seed >> 20) & 1 ? "\\u%04x" : "\\u%04X",
                                       cp);
            } else if (c == '/' && r < 4) {
                text[tn++] = '\\';
                text[tn++] = '/';
            } else if (c < 0x20 || c == '"' || c == '\\') {
                /* as at_jw_jstr: its own writing of this one byte */
                at_buf one;

                at_buf_init(&one, 64);
                at_jw_jstr(&one, (const char *)&c, 1);
                memcpy(text + tn, one.p + 1, one.len - 2);
                tn += one.len - 2;
                at_buf_free(&one);
            } else {
                text[tn++] = (char)c;
            }
        }
        text[tn++] = '"';
        cr_assert(at_js_doc(text, tn, tk, 4, &d, &v), "%.*s", (int)tn, text);
        at_buf_init(&dec, 1024);
        at_js_str_append(v, &dec);
        at_buf_init(&canon, 1024);
        at_jw_jstr(&canon, dec.p ? dec.p : "", dec.len);
        want = canon.len == tn && memcmp(canon.p, text, tn) == 0;
        got = at_jw_jstr_canonical(text + 1, tn - 2);
        cr_assert_eq(got, want, "%.*s: canonical %d, at_jw_jstr %.*s",
                     (int)tn, text, got, (int)canon.len, canon.p);
        if (want)
            yes++;
        else
            no++;
        at_buf_free(&dec);
        at_buf_free(&canon);
    }
    cr_expect_gt(yes, (unsigned)runs(20000) / 10);
    cr_expect_gt(no, (unsigned)runs(20000) / 10);
}

/* Escapes at every position of a string and of the scanner's 16-byte
 * blocks (the document shifted by 0 to 20 blanks), one or two at a time,
 * valid and not: read as jansson reads them. */
Test(jscan, escapes_at_every_block_position)
{
    static const char *const escs[] = {"\\\"", "\\\\", "\\n", "\\/",
                                       "\\u0041", "\\x", "\\"};
    char text[128];
    size_t shift, at, e1, e2, n;
    int checked = 0;

    for (shift = 0; shift <= (size_t)runs(20); shift += 1 + (runs(8) < 8) * 4)
        for (at = 0; at < 40; at++)
            for (e1 = 0; e1 < 7; e1++)
                for (e2 = 0; e2 < 8; e2++) {
                    at_js_tok tk[4];
                    at_js_doc_t d;
                    at_js v;
                    int ok, want;

                    n = 0;
                    memset(text, ' ', shift);
                    n = shift;
                    text[n++] = '"';
                    memset(text + n, 'a', at);
                    n += at;
                    n += (size_t)sprintf(text + n, "%s", escs[e1]);
                    if (e2 < 7)
                        n += (size_t)sprintf(text + n, "%s", escs[e2]);
                    n += (size_t)sprintf(text + n, "bcdefghijklmnopqrstu\"");
                    want = jansson_ok(text, n);
                    ok = at_js_doc(text, n, tk, 4, &d, &v);
                    cr_assert_eq(ok, want, "%.*s", (int)n, text);
                    if (ok) {
                        at_buf a;
                        json_t *j = json_loadb(text, n, JSON_DECODE_ANY, NULL);

                        at_buf_init(&a, 256);
                        at_js_str_append(v, &a);
                        cr_assert_eq(a.len, json_string_length(j));
                        cr_assert(memcmp(a.p, json_string_value(j), a.len) == 0,
                                  "%.*s", (int)n, text);
                        at_buf_free(&a);
                        json_decref(j);
                        checked++;
                    }
                }
    cr_expect_gt(checked, runs(20000) / (runs(8) < 8 ? 2 : 1));
}

/* qd: a copy of s with ' made " (request texts without a wall of
 * backslashes). */
static char *qd(const char *s)
{
    char *t = strdup(s), *p;

    for (p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

extern long at_jf_tree_msgs;

/* An agent's conversation: tool calls, their results, tool definitions;
 * and every variation of them the decoders read.  The scanner decoders
 * write the messages and definitions as text the tree would write; the
 * common shapes take no tree at all. */
Test(body_fast, agent_conversations_same_as_the_tree)
{
    static const char *const common[] = {
        /* a loop of two turns, as the SDKs send it */
        "{'model':'gpt-4o','messages':[{'role':'system','content':'Be "
        "brief.'},{'role':'user','content':'Weather in Paris and "
        "Lyon?'},{'role':'assistant','content':null,'tool_calls':[{'id':"
        "'call_1','type':'function','function':{'name':'weather',"
        "'arguments':'{\\'city\\': \\'Paris\\', \\'days\\': [1, 2.5e0, "
        "-3], \\'x\\': {\\'deep\\': [true, false, null, \\'\\\\u00e9\\']}}"
        "'}},{'id':'call_2','type':'function','function':{'name':'weather',"
        "'arguments':'{\\'city\\':\\'Lyon\\'}'}}]},{'role':'tool',"
        "'tool_call_id':'call_1','content':'{\\'t\\': 21}'},{'role':"
        "'tool','tool_call_id':'call_2','content':'18C, \\\\\\'cloudy\\\\\\''}"
        ",{'role':'assistant','content':'Paris 21C, Lyon 18C.'},{'role':"
        "'user','content':[{'type':'text','text':'And tomorrow?'},"
        "{'type':'image_url','image_url':{'url':'data:x'}}]}],"
        "'tools':[{'type':'function','function':{'name':'weather',"
        "'description':'The weather.','parameters':{'type':'object',"
        "'properties':{'city':{'type':'string'},'days':{'type':'array',"
        "'items':{'type':'number','minimum':0.5}}},'required':['city']},"
        "'strict':true}}],'temperature':0.2}",
        /* Python's json.dumps: blanks, non-ASCII escaped */
        "{\n 'model': 'gpt-4o-mini',\n 'messages': [\n  {'role': 'user', "
        "'content': 'caf\\u00e9 \\ud83d\\ude00'},\n  {'role': 'assistant', "
        "'content': null, 'tool_calls': [{'id': 'c', 'type': 'function', "
        "'function': {'name': 'f', 'arguments': '{}'}}]},\n  {'role': "
        "'tool', 'tool_call_id': 'c', 'content': 'ok'}\n ]\n}",
    };
    static const char *const variants[] = {
        /* tool results of every kind */
        "{'messages':[{'role':'tool','tool_call_id':'a','content':{'k':[1,"
        "{'z':null}]}},{'role':'tool','tool_call_id':'b','content':42},"
        "{'role':'tool','tool_call_id':'c','content':null},{'role':'tool',"
        "'tool_call_id':'d'},{'role':'tool','content':'no id'},{'role':"
        "'tool','tool_call_id':7,'content':''},{'role':'tool',"
        "'tool_call_id':'e\\u0031','content':'esc id'},{'role':'tool',"
        "'tool_call_id':'f','content':[{'type':'text','text':'a'},'b',7]},"
        "{'role':'tool','tool_call_id':'g','content':true,'tool_calls':[{'id'"
        ":'x','function':{'name':'n','arguments':'{}'}}]},{'role':'tool',"
        "'tool_call_id':'h','content':1.10},{'role':'tool','tool_call_id':"
        "'i','content':{'dup':1,'dup':2}}]}",
        /* tool calls of every shape */
        "{'messages':[{'role':'assistant','tool_calls':[7,'x',null,{'id':"
        "'n1','name':'flat','arguments':'{}'},{'id':'n2','function':'f'},"
        "{'id':'n3','type':'custom','custom':{'name':'c','input':'raw "
        "text'}},{'id':'n4','type':'fun\\u0063tion','function':{'name':'e'}"
        "},{'id':'n5','type':5,'function':{'name':'t5','arguments':'[1]'}},"
        "{'type':'function','function':{'name':'noid'}},{'id':9,'function':"
        "{'name':7,'arguments':{'obj':1}}},{'id':'n6','function':{"
        "'arguments':null,'input':{'i':1}}},{'id':'n7','function':{'input':"
        "{'i':2}}},{'id':'n8','function':{'input':'itext'}},{'id':'n9',"
        "'function':{'name':'a\\u00e9','arguments':'\\u00e9'}}],"
        "'function_call':{'name':'legacy','arguments':'{\\'a\\':1}'}},"
        "{'role':'assistant','function_call':'not an object','content':'t'}"
        ",{'role':'assistant','tool_calls':{'id':'obj'}},{'role':"
        "'assistant','tool_calls':[],'content':''}]}",
        /* arguments strings of every kind */
        "{'messages':[{'role':'assistant','tool_calls':["
        "{'id':'1','function':{'name':'f','arguments':''}},"
        "{'id':'2','function':{'name':'f','arguments':'null'}},"
        "{'id':'3','function':{'name':'f','arguments':'42'}},"
        "{'id':'4','function':{'name':'f','arguments':'\\'s\\''}},"
        "{'id':'5','function':{'name':'f','arguments':'not json'}},"
        "{'id':'6','function':{'name':'f','arguments':'{\\'a\\':1,\\'a\\':2}'"
        "}},{'id':'7','function':{'name':'f','arguments':'{\\'a\\':1.10}'}},"
        "{'id':'8','function':{'name':'f','arguments':'{\\'b\\':"
        "123456789012345678901234567890}'}},{'id':'9','function':{'name':"
        "'f','arguments':'[1,2'}},{'id':'10','function':{'name':'f',"
        "'arguments':' { \\'ws\\' : [ 1 , 2 ] } '}},{'id':'11','function':{"
        "'name':'f','arguments':'{\\'k\\':\\'\\\\u00e9\\\\n\\\\u0000\\'}'}},"
        "{'id':'12','function':{'name':'f','arguments':'{\\'e\\':1e400}'}},"
        "{'id':'13','function':{'name':'f','arguments':'-0'}},"
        "{'id':'14','function':{'name':'f','arguments':'{\\'k\\\\u0031\\':1}'"
        "}},{'id':'15','function':{'name':'f','arguments':'  '}},"
        "{'id':'16','function':{'name':'f','arguments':'[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'}}"
        "]}]}",
        /* content of every kind */
        "{'messages':[{'role':'user','content':[{'type':'text','text':'a'},"
        "{'type':'input_text','text':'b'},{'type':'output_text','text':''},"
        "{'type':'refusal','refusal':'no'},{'type':'image_url','image_url':"
        "{'url':'x'}},{'type':'te\\u0078t','text':'esc'},{'type':5},{'text':"
        "'no type'},'plain','',7,null,{'type':'text','text':5},{'type':"
        "'refusal','refusal':null},{'type':'text','type':'refusal',"
        "'refusal':'dup'},{'type':'text','text':'x','text':'last'}]},"
        "{'role':'assistant','reasoning_content':'think','content':'a'},"
        "{'role':'assistant','reasoning_content':'','content':null},"
        "{'role':'assistant','reasoning_content':5,'content':{'x':1}},"
        "{'role':'user','content':'first','content':'second'},"
        "{'role':'tool','role':'user','content':'was a tool'},"
        "{'role':'user','role':'tool','tool_call_id':'z','content':'now "
        "a tool'},{'role':'r\\u00f4le','content':'escaped role'},"
        "{'role':'','content':'empty role'},{'role':"
        "'a-role-name-longer-than-sixty-four-bytes-is-read-by-the-tree-"
        "instead','content':'x'}]}",
        /* tool definitions of every shape */
        "{'messages':[],'tools':[{'type':'function','function':{'name':'f',"
        "'description':'d','parameters':{'type':'object','properties':{'a':"
        "{'type':'number','minimum':1.5,'maximum':1e2}},'required':['a']}}},"
        "{'type':'custom','custom':{'name':'c','description':'cd'}},"
        "{'function':{'name':'no type'}},{'type':'function'},7,{'type':"
        "'fun\\u0063tion','function':{'name':'esc'}},{'type':'function',"
        "'function':{'name':'dup','parameters':{'a':1,'a':2}}},{'type':"
        "'function','function':{'name':'np','parameters':null}},{'type':"
        "'function','function':{'name':'n2','parameters':'str','name':"
        "'last'}},{'type':'web_search'}],'functions':[{'name':'g',"
        "'parameters':{'x':[1,2.5e3,-0,true,null]}},5,{'name':'h',"
        "'description':'\\u00e9'}]}",
        "{'tools':{},'functions':[]}",
        "{'tools':5,'functions':[{'name':'only'}]}",
        "{'tools':[],'messages':[{'role':'user','content':'x'}]}",
    };
    static const char *const replies[] = {
        /* the common one: tool calls, no text */
        "{'id':'c','model':'m','choices':[{'index':0,'message':{'role':"
        "'assistant','content':null,'tool_calls':[{'id':'call_1','type':"
        "'function','function':{'name':'weather','arguments':'{\\'city\\"
        "':\\'Paris\\'}'}},{'id':'call_2','type':'function','function':{"
        "'name':'time','arguments':''}}],'refusal':null},'finish_reason':"
        "'tool_calls'}],'usage':{'prompt_tokens':5,'completion_tokens':3}}",
        /* text and tool calls, a legacy function_call, odd ones */
        "{'choices':[{'message':{'role':'assistant','content':'Let me "
        "look.','refusal':'no','tool_calls':[7,{'id':'x','type':'custom',"
        "'custom':{'name':'c','input':'raw'}},{'function':{'name':'n',"
        "'arguments':{'obj':[1,2.5]}}}],'function_call':{'name':'legacy',"
        "'arguments':'[1,2'}},'finish_reason':'stop'}]}",
        "{'choices':[{'message':{'tool_calls':[{'id':'d','function':{'name':"
        "'f','arguments':'{\\'a\\':1,\\'a\\':2}'}}]}}]}",
        "{'choices':[{'message':{'tool_calls':[{'type':'fun\\u0063tion',"
        "'function':{'name':'f'}}]}}]}",
        "{'choices':[{'message':{'tool_calls':[{'function':{'name':'f',"
        "'arguments':'{\\'b\\':123456789012345678901234567890}'}}]}}]}",
        "{'choices':[{'message':{'role':'assistant','tool_calls':null,"
        "'function_call':'str','content':'x'}}]}",
        "{'choices':[{'message':{'tool_calls':{'id':'not an array'}}}]}",
        "{'choices':[{'message':{'tool_calls':[{'id':'1'}],'tool_calls':"
        "null}}]}",
    };
    char big[32768];
    size_t i, n, k;
    long trees0 = at_jf_tree_msgs, hits0;

    for (i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        char *b = qd(common[i]);

        cr_assert(jansson_ok(b, strlen(b)), "common %zu is JSON", i);
        decode_both(1, b, strlen(b));
        free(b);
    }
    cr_expect_eq(at_jf_tree_msgs, trees0,
                 "the common shapes took %ld trees",
                 at_jf_tree_msgs - trees0);
    for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        char *b = qd(variants[i]);

        cr_assert(jansson_ok(b, strlen(b)), "variant %zu is JSON", i);
        decode_both(1, b, strlen(b));
        free(b);
    }
    cr_expect_gt(at_jf_tree_msgs, trees0, "the odd ones went to trees");
    hits0 = at_llm_body_fast_hits;
    for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        char *b = qd(replies[i]);

        cr_assert(jansson_ok(b, strlen(b)), "reply %zu is JSON", i);
        decode_both(0, b, strlen(b));
        if (i == 0)
            cr_expect_gt(at_llm_body_fast_hits, hits0,
                         "a reply with tool calls: no tree");
        free(b);
    }
    /* arguments and parameters past the scanner's first token array; an
     * object past the repeated-key check's 64 members; arguments (a key
     * given twice: the tree reads them) large enough to be scanned into
     * the tokens kept for large bodies while the body's are in use; the
     * same body again, into the kept tokens */
    for (k = 0; k < 2; k++) {
        n = (size_t)snprintf(big, sizeof(big), "{\"messages\":[");
        for (i = 0; i < 80; i++)
            n += (size_t)snprintf(big + n, sizeof(big) - n,
                                  "{\"role\":\"user\",\"content\":\"m%zu\"},",
                                  i);
        n += (size_t)snprintf(big + n, sizeof(big) - n,
                              "{\"role\":\"assistant\","
                              "\"tool_calls\":[{\"id\":\"b\",\"function\":{"
                              "\"name\":\"f\",\"arguments\":\"{");
        for (i = 0; i < 300; i++)
            n += (size_t)snprintf(big + n, sizeof(big) - n,
                                  "%s\\\"k%zu\\\":%zu", i ? "," : "",
                                  k && i == 299 ? (size_t)0 : i, i);
        n += (size_t)snprintf(big + n, sizeof(big) - n,
                              "}\"}}]}],\"tools\":[{\"type\":\"function\","
                              "\"function\":{\"name\":\"f\",\"parameters\":{");
        for (i = 0; i < 70; i++)
            n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"p%zu\":[%zu]",
                                  i ? "," : "", i, i);
        n += (size_t)snprintf(big + n, sizeof(big) - n, "}}}]}");
        cr_assert_lt(n, sizeof(big) - 1);
        cr_assert(jansson_ok(big, n));
        decode_both(1, big, n);
        decode_both(1, big, n);
    }
}

/* edge_both: bodies (' made ") through decode_both_at for route
 * host/path, each checked to be JSON; the first must be taken by the
 * scanner decoders. */
static void edge_both(const char *host, const char *path, int request,
                      const char *const *bodies, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char *b = qd(bodies[i]);
        long hits0 = at_llm_body_fast_hits;

        cr_assert(jansson_ok(b, strlen(b)), "%s %s %zu is JSON", path,
                  request ? "request" : "response", i);
        decode_both_at(host, path, request, b, strlen(b));
        if (i == 0)
            cr_expect_gt(at_llm_body_fast_hits, hits0,
                         "%s: the first %s takes no tree", path,
                         request ? "request" : "response");
        free(b);
    }
}

/* Anthropic Messages: the same, for its blocks (text, thinking, tool_use,
 * tool_result with text or blocks, images, odd ones), system prompts,
 * stop sequences, client and server tools; requests and responses. */
Test(body_fast, anthropic_same_as_the_tree)
{
    static const char *const requests[] = {
        /* a tool loop as the SDK sends it */
        "{'model':'claude-sonnet-4-5','max_tokens':1024,'system':[{'type':"
        "'text','text':'Be brief.','cache_control':{'type':'ephemeral'}}],"
        "'messages':[{'role':'user','content':'Weather in Paris?'},{'role':"
        "'assistant','content':[{'type':'thinking','thinking':'Use the "
        "tool.','signature':'abc'},{'type':'text','text':'Checking.'},"
        "{'type':'tool_use','id':'toolu_1','name':'weather','input':{'city':"
        "'Paris','days':[1,2.5]}},{'type':'tool_use','id':'toolu_2','name':"
        "'time','input':{}}]},{'role':'user','content':[{'type':"
        "'tool_result','tool_use_id':'toolu_1','content':'21C'},{'type':"
        "'tool_result','tool_use_id':'toolu_2','content':[{'type':'text',"
        "'text':'12:'},{'type':'text','text':'30'}]}]}],'tools':[{'name':"
        "'weather','description':'The weather.','input_schema':{'type':"
        "'object','properties':{'city':{'type':'string'}}}},{'type':"
        "'web_search_20250305','name':'web_search','max_uses':5}],"
        "'stop_sequences':['END',7,'STOP'],'temperature':0.5,'top_p':1,"
        "'stream':true}",
        "{'model':'m','system':'plain system','messages':[{'role':'user',"
        "'content':[{'type':'image','source':{'type':'base64','data':'x'}},"
        "'a string block',{'type':'text'},{'type':'text','text':5},{'text':"
        "'no type'},7,null,{'type':'te\\u0078t','text':'esc'},{'type':"
        "'tool_result','tool_use_id':'t','is_error':true},{'type':"
        "'tool_result','content':null},{'type':'tool_result','tool_use_id':"
        "'u','content':{'k':[1,{'d':1,'d':2}]}},{'type':'tool_result',"
        "'tool_use_id':'v','content':[{'type':'image'},'s',{'text':7}]},"
        "{'type':'tool_use','id':'w','input':null},{'type':'tool_use',"
        "'name':'n'},{'type':'thinking','thinking':null},{'type':"
        "'redacted_thinking','data':'x'},{'type':'document'}]},{'role':"
        "'assistant','content':''},{'role':'assistant','content':{'x':1}},"
        "{'content':'no role'},{'role':'r\\u00f4le','content':'x'},{'role':"
        "7},{'role':'user','content':'a','content':'b'}],'tools':[{'type':"
        "'custom','name':'c','input_schema':null},{'name':'d','description':"
        "5},{'type':'fun\\u0063tion'},7,{'type':'bash_20250124','name':"
        "'bash','description':'not kept'}],'stop_sequences':'not an array'}",
        "{'system':[],'messages':[]}",
        "{'system':[{'type':'image'}],'messages':{},'tools':{}}",
        "{'system':[{'type':'text','text':''}],'max_tokens':1.0e3}",
        "{'system':7,'messages':[{'role':'user','content':[{'type':"
        "'tool_use','id':'x','input':{'a':1,'a':2}}]}]}",
    };
    static const char *const responses[] = {
        "{'id':'msg_1','type':'message','role':'assistant','model':"
        "'claude-sonnet-4-5','content':[{'type':'text','text':'Checking.'},"
        "{'type':'tool_use','id':'toolu_1','name':'weather','input':{"
        "'city':'Paris'}}],'stop_reason':'tool_use','stop_sequence':null,"
        "'usage':{'input_tokens':30,'output_tokens':10,"
        "'cache_read_input_tokens':5,'cache_creation_input_tokens':0}}",
        "{'content':[],'stop_reason':null,'usage':{'input_tokens':1.5}}",
        "{'content':'a string','usage':{'output_tokens':-1}}",
        "{'content':'a string','stop_reason':'end_turn'}",
        "{'content':[{'type':'thinking','thinking':'t'},{'type':"
        "'redacted_thinking'},{'type':'text','text':''}],'stop_reason':"
        "'max_tokens','usage':[]}",
        "{'content':[{'type':'tool_use','input':{'a':1,'a':2}}]}",
        "{'content':[{'type':'te\\u0078t','text':'x'}],'id':'a','id':'b'}",
        "{'type':'error','error':{'type':'overloaded_error'}}",
    };
    edge_both("api.anthropic.com", "/v1/messages", 1, requests,
              sizeof(requests) / sizeof(requests[0]));
    edge_both("api.anthropic.com", "/v1/messages", 0, responses,
              sizeof(responses) / sizeof(responses[0]));
}

/* Random chat bodies: members present or not, of any kind, in any order,
 * repeated; both decoders give the same attributes. */
typedef struct gen {
    char b[8192];
    size_t n;
    unsigned seed;
} gen;

static unsigned gen_r(gen *g, unsigned k)
{
    g->seed = g->seed * 1103515245u + 12345u;
    return (g->seed >> 8) % k;
}

static void gen_s(gen *g, const char *s)
{
    size_t k = strlen(s);

    if (g->n + k < sizeof(g->b)) {
        memcpy(g->b + g->n, s, k);
        g->n += k;
    }
}

/* a scalar or small value of any kind */
static void gen_any(gen *g, int depth)
{
    static const char *const strs[] = {
        "\"\"", "\"x\"", "\"h\\u00e9\\n\"", "\"a\\u0000b\"", "\"stop\"",
        "\"assistant\"", "\"tool\"", "\"user\"", "\"\\ud83d\\ude00\"",
    };
    static const char *const nums[] = {
        "0", "7", "-3", "1.5", "2e1", "-0", "12345678901234", "1.0",
    };

    switch (gen_r(g, depth > 3 ? 6 : 8)) {
    case 0:
    case 1:
    case 2:
        gen_s(g, strs[gen_r(g, 9)]);
        break;
    case 3:
        gen_s(g, nums[gen_r(g, 8)]);
        break;
    case 4:
        gen_s(g, gen_r(g, 2) ? "null" : "true");
        break;
    case 5:
        gen_s(g, "null");
        break;
    case 6:
        gen_s(g, "[");
        gen_any(g, depth + 1);
        gen_s(g, ",{\"type\":\"text\",\"text\":");
        gen_any(g, depth + 1);
        gen_s(g, "}]");
        break;
    default:
        gen_s(g, "{\"a\":");
        gen_any(g, depth + 1);
        gen_s(g, "}");
        break;
    }
}

typedef void (*gen_val)(gen *g, const char *key, int depth);
static void gen_obj(gen *g, const char *const *keys, size_t nkeys,
                    gen_val val, int depth);

/* an array of m such objects */
static void gen_arr(gen *g, unsigned m, const char *const *keys,
                    size_t nkeys, gen_val val, int depth)
{
    unsigned k;

    gen_s(g, "[");
    for (k = 0; k < m; k++) {
        if (k)
            gen_s(g, ",");
        gen_obj(g, keys, nkeys, val, depth);
    }
    gen_s(g, "]");
}

/* an object of members picked from `keys` (some repeated), each with a
 * value from `val` (or any value) */
static void gen_obj(gen *g, const char *const *keys, size_t nkeys,
                    gen_val val, int depth)
{
    size_t k, m = gen_r(g, (unsigned)nkeys + 2);

    gen_s(g, "{");
    for (k = 0; k < m; k++) {
        const char *key = keys[gen_r(g, (unsigned)nkeys)];

        if (k)
            gen_s(g, ",");
        gen_s(g, "\"");
        gen_s(g, key);
        gen_s(g, "\":");
        val(g, key, depth);
    }
    gen_s(g, "}");
}

static void gen_counts(gen *g, const char *key, int depth);
static void gen_usage_val(gen *g, const char *key, int depth)
{
    static const char *const det[] = {"cached_tokens", "reasoning_tokens",
                                      "audio_tokens"};

    if (strstr(key, "details") != NULL && gen_r(g, 4))
        gen_obj(g, det, 3, gen_counts, depth + 1);
    else
        gen_counts(g, key, depth);
}

static void gen_counts(gen *g, const char *key, int depth)
{
    (void)key;
    if (gen_r(g, 3))
        gen_s(g, (const char *[]){"3", "0", "12", "40"}[gen_r(g, 4)]);
    else
        gen_any(g, depth + 1);
}

static void gen_message_val(gen *g, const char *key, int depth)
{
    static const char *const roles[] = {"assistant", "user", "tool",
                                        "system"};

    if (!strcmp(key, "role") && gen_r(g, 4)) {
        gen_s(g, "\"");
        gen_s(g, roles[gen_r(g, 4)]);
        gen_s(g, "\"");
    } else if (!strcmp(key, "tool_calls") && gen_r(g, 2)) {
        static const char *const args[] = {
            "{}", "", "{\\\"a\\\":[1,2.5,{\\\"b\\\":null}]}",
            "{\\\"a\\\":1,\\\"a\\\":2}", "not json", "7",
            "{\\\"s\\\":\\\"\\\\u00e9\\\"}", "[1,"};
        unsigned k, m = gen_r(g, 3);

        gen_s(g, "[");
        for (k = 0; k < m; k++) {
            gen_s(g, k ? ",{" : "{");
            if (gen_r(g, 4))
                gen_s(g, "\"id\":\"c1\",");
            gen_s(g, gen_r(g, 4) ? "\"type\":\"function\"," : "\"type\":7,");
            gen_s(g, "\"function\":{\"name\":\"f\",\"arguments\":");
            if (gen_r(g, 5)) {
                gen_s(g, "\"");
                gen_s(g, args[gen_r(g, 8)]);
                gen_s(g, "\"");
            } else {
                gen_any(g, depth + 1);
            }
            gen_s(g, "}}");
        }
        gen_s(g, "]");
    } else if (!strcmp(key, "content") && gen_r(g, 3)) {
        gen_s(g, gen_r(g, 3) ? "\"Hello \\\"you\\\"\"" : "null");
    } else {
        gen_any(g, depth + 1);
    }
}

static void gen_choice_val(gen *g, const char *key, int depth)
{
    static const char *const mk[] = {"role", "content", "refusal",
                                     "tool_calls", "function_call",
                                     "reasoning_content", "reasoning",
                                     "annotations", "role", "content"};

    if (!strcmp(key, "message") && gen_r(g, 5))
        gen_obj(g, mk, 10, gen_message_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

static void gen_root_val(gen *g, const char *key, int depth)
{
    static const char *const ck[] = {"index", "message", "finish_reason",
                                     "logprobs", "text", "message",
                                     "finish_reason"};
    static const char *const uk[] = {"prompt_tokens", "completion_tokens",
                                     "total_tokens", "prompt_tokens_details",
                                     "completion_tokens_details",
                                     "prompt_cache_hit_tokens"};

    static const char *const mk[] = {"role", "content", "tool_calls",
                                     "tool_call_id", "name", "role",
                                     "content", "reasoning_content"};

    if (!strcmp(key, "choices") && gen_r(g, 5))
        gen_arr(g, gen_r(g, 4) ? 1 : gen_r(g, 3), ck, 7, gen_choice_val,
                depth + 1);
    else if (!strcmp(key, "usage") && gen_r(g, 5))
        gen_obj(g, uk, 6, gen_usage_val, depth + 1);
    else if (!strcmp(key, "messages") && gen_r(g, 5))
        gen_arr(g, gen_r(g, 4), mk, 8, gen_message_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

Test(body_fast, same_attributes_on_random_bodies)
{
    static const char *const rk[] = {"id", "model", "choices", "usage",
                                     "object", "choices", "usage"};
    static const char *const qk[] = {"model", "messages", "temperature",
                                     "max_tokens", "stream", "stop",
                                     "messages", "tools", "seed", "top_p",
                                     "max_completion_tokens", "functions"};
    gen g;
    int i;
    long hits0 = at_llm_body_fast_hits;

    g.seed = 2024;
    for (i = 0; i < runs(4000); i++) {
        g.n = 0;
        gen_obj(&g, rk, 7, gen_root_val, 0);
        decode_both(0, g.b, g.n);
        g.n = 0;
        gen_obj(&g, qk, 12, gen_root_val, 0);
        decode_both(1, g.b, g.n);
    }
    /* most are taken by the scanner decoders, some are left to the tree
     * (decode_both reads each body the fast way twice: through the
     * jansson API and into a list) */
    cr_expect_gt(at_llm_body_fast_hits - hits0, 2 * runs(4000));
    cr_expect_lt(at_llm_body_fast_hits - hits0, 2 * 2 * runs(4000));
}

/* Random Anthropic bodies: blocks of every type with members of any
 * kind, in any order, repeated. */
static void gen_block_val(gen *g, const char *key, int depth);
static void gen_blocks(gen *g, int depth)
{
    static const char *const bk[] = {"type", "text", "thinking", "id",
                                     "name", "input", "tool_use_id",
                                     "content", "type"};

    if (gen_r(g, 4) == 0) {
        gen_any(g, depth + 1);
        return;
    }
    gen_arr(g, gen_r(g, 4), bk, 9, gen_block_val, depth + 1);
}

static void gen_block_val(gen *g, const char *key, int depth)
{
    static const char *const types[] = {
        "\"text\"", "\"thinking\"", "\"tool_use\"", "\"tool_result\"",
        "\"image\"", "\"te\\u0078t\"", "7", "\"redacted_thinking\""};

    if (!strcmp(key, "type") && gen_r(g, 5))
        gen_s(g, types[gen_r(g, 8)]);
    else if (!strcmp(key, "content") && depth < 4 && gen_r(g, 2))
        gen_blocks(g, depth);
    else if (!strcmp(key, "input") && gen_r(g, 2))
        gen_s(g, gen_r(g, 2) ? "{\"city\":\"Paris\",\"n\":[1,2.5]}"
                             : "{\"a\":1,\"a\":2}");
    else
        gen_any(g, depth + 1);
}

static void gen_amsg_val(gen *g, const char *key, int depth)
{
    if (!strcmp(key, "role") && gen_r(g, 4))
        gen_s(g, gen_r(g, 2) ? "\"user\"" : "\"assistant\"");
    else if (!strcmp(key, "content") && gen_r(g, 4))
        gen_blocks(g, depth);
    else
        gen_any(g, depth + 1);
}

static void gen_aroot_val(gen *g, const char *key, int depth)
{
    static const char *const mk[] = {"role", "content", "role", "content"};
    static const char *const tk[] = {"type", "name", "description",
                                     "input_schema"};
    static const char *const uk[] = {"input_tokens", "output_tokens",
                                     "cache_read_input_tokens",
                                     "cache_creation_input_tokens"};

    if (!strcmp(key, "messages") && gen_r(g, 5))
        gen_arr(g, gen_r(g, 4), mk, 4, gen_amsg_val, depth + 1);
    else if ((!strcmp(key, "system") || !strcmp(key, "content")) &&
             gen_r(g, 3))
        gen_blocks(g, depth);
    else if (!strcmp(key, "tools") && gen_r(g, 3))
        gen_arr(g, gen_r(g, 3), tk, 4, gen_block_val, depth + 1);
    else if (!strcmp(key, "usage") && gen_r(g, 4))
        gen_obj(g, uk, 4, gen_counts, depth + 1);
    else if (!strcmp(key, "stop_sequences") && gen_r(g, 2))
        gen_s(g, "[\"a\",7,\"b\\n\"]");
    else
        gen_any(g, depth + 1);
}

/* random_both: n requests and n responses for route host/path, drawn
 * with `val` from keys qk and rk, through decode_both_at; returns how
 * many were JSON. */
static int random_both(const char *host, const char *path, unsigned seed,
                       int n, const char *const *qk, size_t nq,
                       const char *const *rk, size_t nr, gen_val val)
{
    gen g;
    int i, valid = 0;

    g.seed = seed;
    for (i = 0; i < n; i++) {
        g.n = 0;
        gen_obj(&g, qk, nq, val, 0);
        valid += jansson_ok(g.b, g.n);
        decode_both_at(host, path, 1, g.b, g.n);
        g.n = 0;
        gen_obj(&g, rk, nr, val, 0);
        valid += jansson_ok(g.b, g.n);
        decode_both_at(host, path, 0, g.b, g.n);
    }
    return valid;
}

Test(body_fast, anthropic_random_bodies)
{
    static const char *const qk[] = {"model", "messages", "system", "tools",
                                     "max_tokens", "stop_sequences",
                                     "temperature", "stream", "messages"};
    static const char *const rk[] = {"id", "model", "content", "usage",
                                     "stop_reason", "content", "type"};
    long hits0 = at_llm_body_fast_hits, trees0 = at_jf_tree_msgs;
    int valid = random_both("api.anthropic.com", "/v1/messages", 777, runs(4000),
                            qk, 9, rk, 7, gen_aroot_val);

    /* nearly all are JSON; most taken by the scanner decoders (twice
     * each), some of their messages left to trees */
    cr_expect_gt(valid, 2 * runs(4000) * 98 / 100, "%d valid", valid);
    cr_expect_gt(at_llm_body_fast_hits - hits0, 3 * runs(4000), "%ld hits",
                 at_llm_body_fast_hits - hits0);
    cr_expect_gt(at_jf_tree_msgs - trees0, runs(4000) / 40, "%ld trees",
                 at_jf_tree_msgs - trees0);
}

/* The Responses API: input items of every kind (messages of each role,
 * reasoning, function calls and their outputs, custom and built-in tool
 * calls, references), merged into assistant messages as the tree does;
 * instructions; tools; responses with output items and statuses. */
Test(body_fast, responses_same_as_the_tree)
{
    static const char *const requests[] = {
        /* an Agents SDK loop */
        "{'model':'gpt-4.1','instructions':'Be brief.','input':[{'role':"
        "'user','content':'Weather in Paris?'},{'type':'reasoning','id':"
        "'rs_1','summary':[{'type':'summary_text','text':'Use the tool.'}]},"
        "{'type':'function_call','call_id':'call_1','name':'weather',"
        "'arguments':'{\\'city\\':\\'Paris\\'}','id':'fc_1','status':"
        "'completed'},{'type':'function_call_output','call_id':'call_1',"
        "'output':'21C'},{'type':'message','role':'assistant','content':"
        "[{'type':'output_text','text':'21C in Paris.','annotations':[]}]},"
        "{'role':'user','content':[{'type':'input_text','text':'And "
        "Lyon?'},{'type':'input_image','image_url':'data:x'}]}],'tools':"
        "[{'type':'function','name':'weather','description':'Weather.',"
        "'parameters':{'type':'object','properties':{'city':{'type':"
        "'string'}}},'strict':true},{'type':'web_search_preview'}],"
        "'max_output_tokens':500,'temperature':0.3,'stream':true}",
        "{'input':'just a string','instructions':[{'role':'developer',"
        "'content':'dev text'},{'content':[{'type':'input_text','text':"
        "'second'}]},7]}",
        "{'input':'','instructions':''}",
        "{'input':[7,'str',null,{'type':'item_reference','id':'x'},{'type':"
        "'message'},{'role':'system','content':'sys'},{'role':'developer',"
        "'type':'message','content':[{'type':'refusal','refusal':'no'},"
        "{'type':'reasoning_text','text':'r'},{'type':'text','text':''},"
        "'s',7,{'text':'no type'},{'type':'input_file'}]},{'type':"
        "'custom_tool_call','call_id':'c1','input':'raw'},{'type':"
        "'custom_tool_call_output','call_id':'c1','output':[{'type':"
        "'input_text','text':'a'},'b']},{'type':'computer_call','call_id':"
        "'c2','action':{'type':'click','x':1}},{'type':'computer_call_output',"
        "'call_id':'c2','output':{'k':1}},{'type':'function_call_output',"
        "'output':'no call id'},{'type':'web_search_call','id':'ws'},"
        "{'type':'function_call','call_id':7,'name':'n'},{'type':"
        "'function_call','call_id':'c3','arguments':'not json'},{'type':"
        "'function_call','call_id':'c4','arguments':null,'input':'{}'},"
        "{'type':'function_call_output','call_id':'c4'},{'type':"
        "'function_call_output','call_id':'c5','output':null},{'type':"
        "'reasoning','content':[{'type':'reasoning_text','text':'deep'}],"
        "'summary':[]},{'type':'tool_x','role':'user'},{'type':'tool_y',"
        "'role':'assistant'},{'role':'assistant','content':'plain'}]}",
        "{'input':[{'type':'fun\\u0063tion_call','call_id':'c'}]}",
        "{'input':[{'type':'function_call','call_id':'c','arguments':"
        "'{\\'a\\':1,\\'a\\':2}'}],'tools':[{'name':'no type'},{'type':"
        "'fun\\u0063tion'}]}",
        "{'input':[{'role':'r\\u00f4le','content':'x'}],'max_tokens':5,"
        "'max_output_tokens':7.0}",
    };
    static const char *const responses[] = {
        "{'id':'resp_1','object':'response','status':'completed','model':"
        "'gpt-4.1','output':[{'type':'reasoning','summary':[]},{'type':"
        "'function_call','call_id':'call_1','name':'weather','arguments':"
        "'{\\'city\\':\\'Paris\\'}'},{'type':'message','role':'assistant',"
        "'content':[{'type':'output_text','text':'Checking.'}]}],'usage':{"
        "'input_tokens':30,'input_tokens_details':{'cached_tokens':4},"
        "'output_tokens':10,'output_tokens_details':{'reasoning_tokens':2},"
        "'total_tokens':40}}",
        "{'status':'','output':[]}",
        "{'status':'incomplete'}",
        "{'output':[{'type':'item_reference'},7,{'type':'custom_tool_call',"
        "'call_id':'x','input':'raw'}],'usage':{'input_tokens':1.5}}",
        "{'output':[{'type':'te\\u0078t'}]}",
        "{'output':{'not':'an array'},'status':'failed','error':{}}",
    };
    edge_both("api.openai.com", "/v1/responses", 1, requests,
              sizeof(requests) / sizeof(requests[0]));
    edge_both("api.openai.com", "/v1/responses", 0, responses,
              sizeof(responses) / sizeof(responses[0]));
}

static void gen_item_val(gen *g, const char *key, int depth)
{
    static const char *const types[] = {
        "\"message\"", "\"reasoning\"", "\"function_call\"",
        "\"function_call_output\"", "\"custom_tool_call\"",
        "\"item_reference\"", "\"web_search_call\"", "\"input_text\"",
        "\"output_text\"", "7"};
    static const char *const pk[] = {"type", "text", "refusal"};

    if (!strcmp(key, "type") && gen_r(g, 5))
        gen_s(g, types[gen_r(g, 10)]);
    else if (!strcmp(key, "role") && gen_r(g, 3))
        gen_s(g, (const char *[]){"\"user\"", "\"assistant\"",
                                  "\"developer\""}[gen_r(g, 3)]);
    else if (!strcmp(key, "call_id") && gen_r(g, 3))
        gen_s(g, "\"call_1\"");
    else if ((!strcmp(key, "content") || !strcmp(key, "summary") ||
              !strcmp(key, "output")) && depth < 4 && gen_r(g, 2))
        gen_arr(g, gen_r(g, 3), pk, 3, gen_item_val, depth + 1);
    else if (!strcmp(key, "arguments") && gen_r(g, 2))
        gen_s(g, gen_r(g, 2) ? "\"{\\\"a\\\":[1,2.5]}\"" : "\"{\\\"a\\\":1,\\\"a\\\":2}\"");
    else
        gen_any(g, depth + 1);
}

static void gen_rroot_val(gen *g, const char *key, int depth)
{
    static const char *const ik[] = {"type", "role", "content", "call_id",
                                     "name", "arguments", "input", "output",
                                     "summary", "type"};
    static const char *const tk[] = {"type", "name", "description",
                                     "parameters"};

    if ((!strcmp(key, "input") || !strcmp(key, "output") ||
         !strcmp(key, "instructions")) && gen_r(g, 4))
        gen_arr(g, gen_r(g, 5), ik, 10, gen_item_val, depth + 1);
    else if (!strcmp(key, "tools") && gen_r(g, 3))
        gen_arr(g, gen_r(g, 3), tk, 4, gen_item_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

Test(body_fast, responses_random_bodies)
{
    static const char *const qk[] = {"model", "input", "instructions",
                                     "tools", "max_output_tokens", "input",
                                     "stream"};
    static const char *const rk[] = {"id", "model", "output", "usage",
                                     "status", "output"};
    long hits0 = at_llm_body_fast_hits;
    int valid = random_both("api.openai.com", "/v1/responses", 4242, runs(4000),
                            qk, 7, rk, 6, gen_rroot_val);

    cr_expect_gt(valid, 2 * runs(4000) * 98 / 100, "%d valid", valid);
    cr_expect_gt(at_llm_body_fast_hits - hits0, 3 * runs(4000), "%ld hits",
                 at_llm_body_fast_hits - hits0);
}

/* Gemini: a request's contents read from the scanner (the small members
 * from their own trees): parts of every kind in both spellings, call ids
 * given, named or made up, thoughts, the roles it renames. */
Test(body_fast, gemini_same_as_the_tree)
{
    static const char *const requests[] = {
        "{'contents':[{'role':'user','parts':[{'text':'Weather in Paris?'}]},"
        "{'role':'model','parts':[{'text':'thinking','thought':true},"
        "{'functionCall':{'name':'weather','args':{'city':'Paris'}}},"
        "{'functionCall':{'id':'c2','name':'time','args':{}}},"
        "{'function_call':{'args':{'x':1}}}]},{'role':'user','parts':[{"
        "'functionResponse':{'name':'weather','response':{'t':21}}},{"
        "'functionResponse':{'id':'c2','name':'time','response':{'h':12}}}"
        "]}],'systemInstruction':{'parts':[{'text':'Be brief.'}]},"
        "'generationConfig':{'maxOutputTokens':100,'temperature':0.5,'topP':"
        "1,'topK':40,'seed':7,'stopSequences':['END']},'tools':[{"
        "'functionDeclarations':[{'name':'weather','description':'W.',"
        "'parameters':{'type':'OBJECT'}}]},{'googleSearch':{}}]}",
        "{'contents':[7,{'parts':[{'text':''},{'inline_data':{'data':'x'}},"
        "{'fileData':{}},{'executableCode':{}},{'code_execution_result':{}},"
        "{'other':1},'str',{'text':5,'functionCall':{'name':'n'}},"
        "{'functionCall':7,'function_call':{'name':'snake ignored'}},"
        "{'function_response':{'response':null}},{'functionResponse':{}}]},"
        "{'role':'','parts':[]},{'role':'function','parts':[{"
        "'functionResponse':{'name':'f','response':'r'}}]},{'role':'r\\u00f4le',"
        "'parts':[]},{'role':'x','parts':{'text':'not a list'}},{'role':"
        "'model','parts':[{'functionCall':{'id':'','name':'','args':null}}]},"
        "{'parts':[{'functionCall':{'id':'a\\u0062','name':'n'}}]},{'parts':"
        "[{'functionCall':{'args':{'d':1,'d':2}}}]}],'system_instruction':"
        "'plain','generation_config':{'max_output_tokens':5,'top_p':0.1}}",
        "{'contents':{'role':'user','parts':[{'text':'one content'}]}}",
        "{'contents':'a string'}",
        "{'contents':[],'systemInstruction':7,'tools':{}}",
    };

    edge_both(GEMINI_HOST, GEMINI_PATH, 1, requests,
              sizeof(requests) / sizeof(requests[0]));
}

static void gen_gpart_val(gen *g, const char *key, int depth)
{
    static const char *const fk[] = {"id", "name", "args", "response",
                                     "id"};

    if (!strcmp(key, "text") && gen_r(g, 3))
        gen_s(g, gen_r(g, 4) ? "\"some text\"" : "\"\"");
    else if (!strcmp(key, "thought") && gen_r(g, 2))
        gen_s(g, gen_r(g, 2) ? "true" : "false");
    else if ((strstr(key, "unction") != NULL) && gen_r(g, 4))
        gen_obj(g, fk, 5, gen_gpart_val, depth + 1);
    else if (!strcmp(key, "id") || !strcmp(key, "name"))
        gen_s(g, (const char *[]){"\"c1\"", "\"\"", "\"f\"", "7"}[gen_r(g, 4)]);
    else
        gen_any(g, depth + 1);
}

static void gen_gcontent_val(gen *g, const char *key, int depth)
{
    static const char *const pk[] = {"text", "thought", "functionCall",
                                     "function_call", "functionResponse",
                                     "function_response", "inlineData",
                                     "text"};

    if (!strcmp(key, "role") && gen_r(g, 4))
        gen_s(g, (const char *[]){"\"user\"", "\"model\"", "\"function\"",
                                  "\"\""}[gen_r(g, 4)]);
    else if (!strcmp(key, "parts") && depth < 4 && gen_r(g, 4))
        gen_arr(g, gen_r(g, 4), pk, 8, gen_gpart_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

static void gen_groot_val(gen *g, const char *key, int depth)
{
    static const char *const ck[] = {"role", "parts", "parts"};

    if (!strcmp(key, "contents") && gen_r(g, 6))
        gen_arr(g, gen_r(g, 5), ck, 3, gen_gcontent_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

Test(body_fast, gemini_random_bodies)
{
    static const char *const qk[] = {"contents", "systemInstruction",
                                     "generationConfig", "tools",
                                     "contents"};
    long hits0 = at_llm_body_fast_hits;
    int valid = random_both(GEMINI_HOST, GEMINI_PATH, 99, runs(4000), qk, 5, qk, 5,
                            gen_groot_val);

    /* the requests whose contents is a list (the replies here are
     * request-shaped: gemini_random_replies makes replies) */
    cr_expect_gt(valid, 2 * runs(4000) * 98 / 100, "%d valid", valid);
    cr_expect_gt(at_llm_body_fast_hits - hits0, runs(4000) * 3 / 4, "%ld hits",
                 at_llm_body_fast_hits - hits0);
}

/* Gemini's replies: read from the scanner's tokens through the stream's
 * merging, as the tree reads them: text and thoughts, finish reasons in
 * both spellings and of every kind, several candidates, counts; a tool
 * call, a blocked prompt, an error or a key given twice go to the tree. */
Test(body_fast, gemini_replies_same_as_the_tree)
{
    static const char *const replies[] = {
        "{'candidates':[{'content':{'role':'model','parts':[{'text':'Hello "
        "there'}]},'finishReason':'STOP','index':0,'safetyRatings':[{"
        "'category':'HARM_CATEGORY_HATE_SPEECH','probability':'NEGLIGIBLE'}]"
        "}],'usageMetadata':{'promptTokenCount':5,'candidatesTokenCount':2,"
        "'totalTokenCount':7,'promptTokensDetails':[{'modality':'TEXT',"
        "'tokenCount':5}]},'modelVersion':'gemini-2.5-flash','responseId':"
        "'r1'}",
        "{'candidates':[{'content':{'parts':[{'text':'snake'}]},"
        "'finish_reason':'MAX_TOKENS'}],'usage_metadata':{"
        "'prompt_token_count':3,'candidates_token_count':1,"
        "'thoughts_token_count':4,'cached_content_token_count':1},"
        "'model_version':'m','response_id':'r2'}",
        "{'candidates':[{'content':{'parts':[{'text':'think','thought':true},"
        "{'text':'answer'},{'text':''},{'text':'more','thought':false}]},"
        "'finishReason':'STOP'}],'usageMetadata':{'thoughtsTokenCount':9}}",
        "{'candidates':[{'index':1,'content':{'parts':[{'text':'b'}]},"
        "'finishReason':'SAFETY'},{'index':0,'content':{'parts':[{'text':"
        "'a'}]},'finishReason':'STOP'}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':"
        "''}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':7,"
        "'finish_reason':'STOP'}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':"
        "null}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':"
        "'ST\\u004fP'}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':"
        "'\\u0000STOP'}]}",
        "{'candidates':[{'content':{'parts':[{'functionCall':{'name':'f',"
        "'args':{'a':1}}}]},'finishReason':'STOP'}]}",
        "{'candidates':[],'promptFeedback':{'blockReason':'SAFETY'}}",
        "{'error':{'code':400,'message':'bad','status':'INVALID_ARGUMENT'}}",
        "{'candidates':[{'index':70000,'content':{'parts':[{'text':'far'}]},"
        "'finishReason':'STOP'},{'index':-1,'finishReason':'STOP'},{'index':"
        "1.5,'content':{'parts':[{'text':'half'}]}}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':"
        "'STOP','finishReason':'OTHER'}]}",
        "{'candidates':{'content':{'parts':[{'text':'not a list'}]}}}",
        "{'candidates':[7,'s',null,{'content':7},{'content':{'parts':7}},{"
        "'content':{'parts':[7,{'text':7},{'thought':true}]},'finishReason':"
        "'STOP'}]}",
        "{'candidates':[{'content':{'parts':[{'text':'x'}]},'finishReason':"
        "'STOP'}],'usageMetadata':7,'modelVersion':'','responseId':5}",
        "{}",
    };

    edge_both(GEMINI_HOST, GEMINI_PATH, 0, replies,
              sizeof(replies) / sizeof(replies[0]));
}

static void gen_gcand_val(gen *g, const char *key, int depth)
{
    static const char *const ck[] = {"role", "parts", "parts"};

    if ((!strcmp(key, "finishReason") || !strcmp(key, "finish_reason")) &&
        gen_r(g, 4))
        gen_s(g, (const char *[]){"\"STOP\"", "\"\"", "\"MAX_TOKENS\"",
                                  "7"}[gen_r(g, 4)]);
    else if (!strcmp(key, "index") && gen_r(g, 2))
        gen_s(g, (const char *[]){"0", "1", "70000", "-1"}[gen_r(g, 4)]);
    else if (!strcmp(key, "content") && depth < 4 && gen_r(g, 4))
        gen_obj(g, ck, 3, gen_gcontent_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

static void gen_greply_val(gen *g, const char *key, int depth)
{
    static const char *const ck[] = {"index", "content", "finishReason",
                                     "finish_reason", "safetyRatings",
                                     "content"};
    static const char *const uk[] = {"promptTokenCount",
                                     "candidatesTokenCount",
                                     "thoughtsTokenCount",
                                     "prompt_token_count"};

    if (!strcmp(key, "candidates") && gen_r(g, 6))
        gen_arr(g, gen_r(g, 3), ck, 6, gen_gcand_val, depth + 1);
    else if (!strcmp(key, "usageMetadata") && gen_r(g, 3))
        gen_obj(g, uk, 4, gen_gcand_val, depth + 1);
    else
        gen_any(g, depth + 1);
}

Test(body_fast, gemini_random_replies)
{
    static const char *const rk[] = {"candidates", "usageMetadata",
                                     "modelVersion", "responseId",
                                     "candidates"};
    long hits0 = at_llm_body_fast_hits;
    int valid = random_both(GEMINI_HOST, GEMINI_PATH, 1234, runs(4000), rk,
                            5, rk, 5, gen_greply_val);

    cr_expect_gt(valid, 2 * runs(4000) * 98 / 100, "%d valid", valid);
    cr_expect_gt(at_llm_body_fast_hits - hits0, runs(4000), "%ld hits",
                 at_llm_body_fast_hits - hits0);
}

/* Ollama's /api/chat: messages read from the scanner, the rest from a
 * tree of the body without them. */
Test(body_fast, ollama_same_as_the_tree)
{
    static const char *const requests[] = {
        "{'model':'llama3.2','messages':[{'role':'system','content':'Be "
        "brief.'},{'role':'user','content':'Weather?','images':['aGk=',7]},"
        "{'role':'assistant','content':'','thinking':'use the tool',"
        "'tool_calls':[{'function':{'name':'weather','arguments':{'city':"
        "'Paris'}}},{'id':'c2','function':{'name':'time','arguments':"
        "'{\\'tz\\':\\'UTC\\'}'}},7,{'function':{'arguments':null}}]},{'role':"
        "'tool','tool_name':'weather','content':'21C'},{'role':'tool',"
        "'tool_call_id':'c2','tool_name':'time','content':{'h':12}},{'role':"
        "'tool','tool_call_id':'','content':null},{'role':'tool'}],'tools':"
        "[{'type':'function','function':{'name':'weather','parameters':{"
        "'type':'object'}}}],'options':{'num_predict':100,'temperature':0.2,"
        "'top_k':40,'seed':1,'stop':['x']},'stream':false}",
        "{'model':'m','prompt':'generate-style','system':'sys','messages':[{"
        "'role':'user','content':'both'}]}",
        "{'messages':[{'content':'no role'},{'role':'r\\u00f4le'},{'role':"
        "'assistant','tool_calls':[{'function':{'name':'f','arguments':"
        "'{\\'a\\':1,\\'a\\':2}'}}]},7],'messages':[{'role':'user','content':"
        "'the last messages win'}]}",
        "{'messages':{'role':'user'}}",
    };

    edge_both("localhost:11434", "/api/chat", 1, requests,
              sizeof(requests) / sizeof(requests[0]));
}

Test(body_fast, ollama_random_bodies)
{
    static const char *const qk[] = {"model", "messages", "options",
                                     "stream", "messages", "tools",
                                     "prompt"};
    long hits0 = at_llm_body_fast_hits;
    int valid = random_both("localhost:11434", "/api/chat", 5150, runs(4000), qk,
                            7, qk, 7, gen_root_val);

    cr_expect_gt(valid, 2 * runs(4000) * 98 / 100, "%d valid", valid);
    cr_expect_gt(at_llm_body_fast_hits - hits0, runs(4000) * 3 / 4, "%ld hits",
                 at_llm_body_fast_hits - hits0);
}

extern long at_llm_body_redoc_hits;

/* Bodies of one shape, their strings and numbers drawn at random (ids,
 * texts with escapes, counts of every size, reals, a finish reason): read
 * by comparison with the kept shape (at_js_redoc) once the first is kept,
 * with the same attributes as the tree decoders. */
Test(body_fast, bodies_of_one_shape_by_comparison)
{
    static const char *const texts[] = { "Hi", "", "a\\\"b", "\\u00e9\\n",
                                         "long answer text", "\\ud83d\\ude00",
                                         "x\\u0000y" };
    static const char *const nums[] = { "0", "9", "12", "123456789", "-1",
                                        "1.5", "2e3", "18446744073709551616",
                                        "123456789012345678" };
    static const char *const reasons[] = { "stop", "length", "tool_calls",
                                           "content_filter" };
    uint32_t seed = 77;
    long hits0 = at_llm_body_redoc_hits;
    int i;

    for (i = 0; i < 600; i++) {
        char b[1024];
        int n;

        seed = seed * 1103515245u + 12345u;
        n = snprintf(b, sizeof(b),
                     "{\"id\":\"chatcmpl-%u\",\"object\":\"chat.completion\","
                     "\"created\":%u,\"model\":\"gpt-4o-mini\",\"choices\":"
                     "[{\"index\":0,\"message\":{\"role\":\"assistant\","
                     "\"content\":\"%s\",\"refusal\":null},\"logprobs\":null,"
                     "\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":"
                     "%s,\"completion_tokens\":%s,\"total_tokens\":%u},"
                     "\"system_fingerprint\":\"fp_%u\"}",
                     seed >> 8, 1700000000u + (seed >> 20),
                     texts[(seed >> 4) % 7], reasons[(seed >> 9) % 4],
                     nums[(seed >> 12) % 9], nums[(seed >> 16) % 9],
                     (seed >> 10) % 100000, seed % 1000);
        cr_assert(n > 0 && (size_t)n < sizeof(b));
        decode_both(0, b, (size_t)n);
        seed = seed * 1103515245u + 12345u;
        n = snprintf(b, sizeof(b),
                     "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":"
                     "\"system\",\"content\":\"%s\"},{\"role\":\"user\","
                     "\"content\":\"%s\"}],\"temperature\":%s,"
                     "\"max_tokens\":%s,\"stream\":false}",
                     texts[(seed >> 4) % 7], texts[(seed >> 8) % 7],
                     nums[(seed >> 12) % 9], nums[(seed >> 16) % 9]);
        cr_assert(n > 0 && (size_t)n < sizeof(b));
        decode_both(1, b, (size_t)n);
    }
    cr_expect_gt(at_llm_body_redoc_hits - hits0, 1000, "%ld by comparison",
                 at_llm_body_redoc_hits - hits0);
}

/* ---- the memo of the last request bodies (decode/jmemo.c) ------------ */

extern int at_llm_memo_off;

/* A conversation as an agent sends it, body after body: elements drawn
 * by `val` from `keys` (a pad member added to most, so that they are long
 * enough to be kept), and from one body to the next: a few appended, the
 * oldest few dropped (a window), one replaced, one repeated, a byte
 * changed (into invalid JSON too), a new conversation, or the other
 * conversation (two agents of one process alternate). */
#define CONV_MAX 48
typedef struct conv {
    char *el[CONV_MAX];
    int n;
} conv;

static char *conv_element(gen *g, const char *const *keys, size_t nkeys,
                          gen_val val)
{
    static const char *const pads[] = {
        "a plain run of text that makes the element long enough",
        "escapes \\\" and \\\\ and \\n and caf\\u00e9 \\ud83d\\ude00 too",
        "short"};
    char *e;

    g->n = 0;
    gen_obj(g, keys, nkeys, val, 1);
    if (gen_r(g, 5) != 0 && g->n < sizeof(g->b) - 200) {
        g->n--; /* the closing brace */
        if (g->n > 1)
            gen_s(g, ",");
        gen_s(g, "\"x_pad\":\"");
        gen_s(g, pads[gen_r(g, 3)]);
        gen_s(g, "\"}");
    }
    e = malloc(g->n + 1);
    cr_assert(e != NULL);
    memcpy(e, g->b, g->n);
    e[g->n] = '\0';
    return e;
}

static void conv_step(conv *c, conv *other, gen *g, const char *const *keys,
                      size_t nkeys, gen_val val)
{
    int i, k, op = (int)gen_r(g, 10);
    conv t;

    switch (op) {
    case 0: /* a new conversation */
        for (i = 0; i < c->n; i++)
            free(c->el[i]);
        c->n = 0;
        break;
    case 1: /* the other one's turn */
        t = *c;
        *c = *other;
        *other = t;
        break;
    case 2: /* a window: the oldest after the first dropped */
        k = 1 + (int)gen_r(g, 3);
        for (i = 0; i < k && c->n > 2; i++) {
            free(c->el[1]);
            memmove(&c->el[1], &c->el[2], (size_t)(c->n - 2) * sizeof(char *));
            c->n--;
        }
        break;
    case 3: /* one replaced */
        if (c->n > 0) {
            k = (int)gen_r(g, (unsigned)c->n);
            free(c->el[k]);
            c->el[k] = conv_element(g, keys, nkeys, val);
        }
        break;
    case 4: /* one repeated */
        if (c->n > 0 && c->n < CONV_MAX) {
            c->el[c->n] = strdup(c->el[gen_r(g, (unsigned)c->n)]);
            c->n++;
        }
        break;
    case 5: /* a byte changed: another element, or no JSON at all */
        if (c->n > 0) {
            char *e = c->el[gen_r(g, (unsigned)c->n)];
            size_t len = strlen(e);

            e[1 + gen_r(g, (unsigned)(len - 1))] =
                "\"\\{}[],: a0\x80"[gen_r(g, 12)];
        }
        break;
    default:
        break;
    }
    k = 1 + (int)gen_r(g, 3);
    for (i = 0; i < k && c->n < CONV_MAX; i++)
        c->el[c->n++] = conv_element(g, keys, nkeys, val);
}

static void conv_free(conv *c)
{
    int i;

    for (i = 0; i < c->n; i++)
        free(c->el[i]);
    c->n = 0;
}

/* conv_body: the body of c, its elements under `key`, with a tool list
 * (the same each time) and a long member before or after them. */
static char *conv_body(const conv *c, gen *g, const char *key, size_t *len)
{
    static const char *const seps[] = {",", ", ", ",\n  "};
    static const char tools[] =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search\","
        "\"description\":\"Search the documents for a text.\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"fetch\","
        "\"description\":\"Fetch a page by its address.\"}}]";
    static const char long_text[] =
        "a long member that takes the body past the memo's minimum ";
    const char *sep = seps[gen_r(g, 3)];
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    int i, pad_first = (int)gen_r(g, 2);

#define PUT(s, k)                                   \
    do {                                            \
        size_t k_ = (k);                            \
        while (n + k_ + 1 > cap)                    \
            cr_assert((b = realloc(b, cap *= 2)) != NULL); \
        memcpy(b + n, (s), k_);                     \
        n += k_;                                    \
    } while (0)
    cr_assert(b != NULL);
    PUT("{\"model\":\"m\",", 13);
    if (pad_first) {
        PUT("\"x_pad\":\"", 9);
        for (i = 0; i < 40; i++)
            PUT(long_text, sizeof(long_text) - 1);
        PUT("\",", 2);
    }
    PUT("\"", 1);
    PUT(key, strlen(key));
    PUT("\":[", 3);
    for (i = 0; i < c->n; i++) {
        if (i)
            PUT(sep, strlen(sep));
        PUT(c->el[i], strlen(c->el[i]));
    }
    PUT("],", 2);
    PUT(tools, sizeof(tools) - 1);
    if (!pad_first) {
        PUT(",\"x_pad\":\"", 10);
        for (i = 0; i < 40; i++)
            PUT(long_text, sizeof(long_text) - 1);
        PUT("\"", 1);
    }
    PUT("}", 1);
#undef PUT
    b[n] = '\0';
    *len = n;
    return b;
}

/* The scanner with the memo against the scanner alone: the same answer,
 * the same tokens, for conversations of every kind; a memo that holds
 * nothing of a body only costs lookups.  Some scans run out of tokens
 * first (as scan_body's first try does) and are made again; some bodies
 * are scanned and not committed (a decoder that failed). */
Test(jscan, memo_scan_is_at_js_doc)
{
    static const char *const mk[] = {"role", "content", "tool_calls",
                                     "tool_call_id", "name", "role",
                                     "content", "reasoning_content"};
    static at_js_tok t1[65536], t2[65536];
    at_jmemo m;
    conv c = {{NULL}, 0}, o = {{NULL}, 0};
    gen g;
    int i, took = 0;
    long hits0 = at_jm_scan_hits;

    memset(&m, 0, sizeof(m));
    g.seed = 31337;
    for (i = 0; i < runs(3000); i++) {
        at_js_doc_t d1, d2;
        at_js r1, r2;
        size_t n;
        char *body;
        int a, b;
        uint32_t cap = 65536;

        conv_step(&c, &o, &g, mk, 8, gen_message_val);
        body = conv_body(&c, &g, gen_r(&g, 4) ? "messages" : "contents", &n);
        memset(&d1, 0, sizeof(d1));
        memset(&d2, 0, sizeof(d2));
        if (gen_r(&g, 8) == 0)
            cap = 8 + gen_r(&g, 300); /* out of tokens, at some point */
        a = at_js_doc_memo(body, n, t1, cap, &d1, &r1, &m);
        b = at_js_doc(body, n, t2, cap, &d2, &r2);
        cr_assert_eq(a, b, "%.300s", body);
        cr_assert_eq(d1.full, d2.full);
        if (a) {
            cr_assert(same_doc(&d1, &r1, &d2, &r2), "%.300s", body);
            cr_assert_eq(d1.memo, &m);
        }
        if (!a && d1.full) {
            /* again with room, as scan_body does */
            a = at_js_doc_memo(body, n, t1, 65536, &d1, &r1, &m);
            b = at_js_doc(body, n, t2, 65536, &d2, &r2);
            cr_assert_eq(a, b);
            if (a)
                cr_assert(same_doc(&d1, &r1, &d2, &r2), "%.300s", body);
        }
        took += a;
        if (gen_r(&g, 10) != 0)
            at_jm_commit(&m);
        free(body);
    }
    conv_free(&c);
    conv_free(&o);
    at_jm_free(&m);
    /* most bodies are JSON, and most of their elements came from the memo */
    cr_expect_gt(took, runs(3000) * 3 / 5, "%d scanned", took);
    cr_expect_gt(at_jm_scan_hits - hits0, 8L * runs(3000), "%ld hits",
                 at_jm_scan_hits - hits0);
}

/* the marks of the messages attribute of l, as offsets in its value */
static char *marks_text(const at_attrs *l)
{
    const at_attr *x = at_attrs_find(l, "gen_ai.input.messages");
    const at_attr_mark *mk;
    size_t n, i, off;
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);

    cr_assert(f != NULL);
    if (x != NULL && at_attrs_marks(l, x, &mk, &n)) {
        off = x->v.s.off;
        for (i = 0; i < n; i++)
            fprintf(f, "[%zu %zu %zu %zu %d]", mk[i].off - off, mk[i].len,
                    mk[i].responses && mk[i].id_len ? mk[i].id_off - off : 0,
                    mk[i].id_len, mk[i].responses);
    }
    fclose(f);
    return s;
}

/* conv_route: conversations for one route's decoders: each body decoded
 * with the memo and without it gives the same list and the same marks
 * (the messages that may hold a tool's result), and the tree decoders
 * agree (decode_both_at, which reads it with the memo once more). */
static void conv_route(const char *host, const char *path, const char *key,
                       const char *const *keys, size_t nkeys, gen_val val,
                       unsigned seed, int bodies)
{
    at_llm_route r;
    conv c = {{NULL}, 0}, o = {{NULL}, 0};
    gen g;
    int i;
    long scan0 = at_jm_scan_hits, write0 = at_jm_write_hits;

    cr_assert_eq(at_llm_route_find("POST", host, path, &r), 1);
    g.seed = seed;
    for (i = 0; i < bodies; i++) {
        at_attrs la, lb;
        char *body, *ta, *tb, *ma, *mb;
        size_t n;
        int ra, rb;

        conv_step(&c, &o, &g, keys, nkeys, val);
        body = conv_body(&c, &g, key, &n);
        at_attrs_init(&la);
        at_attrs_init(&lb);
        ra = at_llm_request_decode_list(&r, body, n, &la);
        at_llm_memo_off = 1;
        rb = at_llm_request_decode_list(&r, body, n, &lb);
        at_llm_memo_off = 0;
        ta = list_text(&la);
        tb = list_text(&lb);
        ma = marks_text(&la);
        mb = marks_text(&lb);
        cr_assert_eq(ra, rb);
        cr_assert_str_eq(ta, tb, "%s body %d: %.400s", path, i, body);
        cr_assert_str_eq(ma, mb, "%s body %d: %.400s", path, i, body);
        free(ta);
        free(tb);
        free(ma);
        free(mb);
        at_attrs_free(&la);
        at_attrs_free(&lb);
        if (i % 4 == 0)
            decode_both_at(host, path, 1, body, n);
        free(body);
    }
    conv_free(&c);
    conv_free(&o);
    cr_expect_gt(at_jm_scan_hits - scan0, 10L * bodies, "%s: %ld scan hits",
                 path, at_jm_scan_hits - scan0);
    /* (fewer for the Responses API: its random items are more often ones
     * only the tree reads) */
    cr_expect_gt(at_jm_write_hits - write0,
                 (strcmp(path, "/v1/responses") ? 6L : 2L) * bodies,
                 "%s: %ld write hits", path, at_jm_write_hits - write0);
}

Test(body_fast, memo_conversations_same_as_without)
{
    static const char *const mk[] = {"role", "content", "tool_calls",
                                     "tool_call_id", "name", "role",
                                     "content", "reasoning_content"};
    static const char *const ak[] = {"role", "content", "role", "content"};
    static const char *const ik[] = {"type", "role", "content", "call_id",
                                     "name", "arguments", "input", "output",
                                     "summary", "type"};
    static const char *const gk[] = {"role", "parts", "parts"};

    conv_route("api.openai.com", "/v1/chat/completions", "messages", mk, 8,
               gen_message_val, 1, runs(1500));
    conv_route("api.anthropic.com", "/v1/messages", "messages", ak, 4,
               gen_amsg_val, 2, runs(1500));
    conv_route("api.openai.com", "/v1/responses", "input", ik, 10,
               gen_item_val, 3, runs(1500));
    conv_route(GEMINI_HOST, GEMINI_PATH, "contents", gk, 3, gen_gcontent_val,
               4, runs(1500));
    conv_route("localhost:11434", "/api/chat", "messages", mk, 8,
               gen_message_val, 5, runs(1500));
}

/* The memo at its bounds: bodies of distinct elements whose texts
 * together are more than it keeps (the ones beyond are scanned), then
 * bodies that repeat the older ones (kept or not, compacted away or not):
 * always the document at_js_doc makes. */
Test(jscan, memo_beyond_what_it_keeps)
{
    static at_js_tok t1[200000], t2[200000];
    at_jmemo m;
    size_t cap = (size_t)1 << 20, n;
    char *b = malloc(cap);
    int round, k;
    long hits0 = at_jm_scan_hits;

    cr_assert(b != NULL);
    memset(&m, 0, sizeof(m));
    for (round = 0; round < 12; round++) {
        at_js_doc_t d1, d2;
        at_js r1, r2;
        int a, c;
        /* rounds 0-5 new elements each; then the first rounds' again */
        int base = round < 6 ? round : round - 6;

        n = (size_t)snprintf(b, cap, "{\"messages\":[");
        for (k = 0; k < 3000; k++)
            n += (size_t)snprintf(b + n, cap - n,
                                  "%s{\"role\":\"user\",\"content\":\"message "
                                  "%d of body %d, long enough to be kept "
                                  "by the memo \\u00e9\"}",
                                  k ? "," : "", k, base);
        n += (size_t)snprintf(b + n, cap - n, "]}");
        cr_assert(n < cap - 1);
        a = at_js_doc_memo(b, n, t1, 200000, &d1, &r1, &m);
        c = at_js_doc(b, n, t2, 200000, &d2, &r2);
        cr_assert(a && c);
        cr_assert(same_doc(&d1, &r1, &d2, &r2), "round %d", round);
        at_jm_commit(&m);
        cr_assert_leq(m.text_len, AT_JM_MAX_TEXT);
        cr_assert_leq(m.tok_len, AT_JM_MAX_TOKENS);
    }
    /* some were taken from it: the kept part of the bodies repeated */
    cr_expect_gt(at_jm_scan_hits - hits0, 1000, "%ld hits",
                 at_jm_scan_hits - hits0);
    at_jm_free(&m);
    free(b);
}
