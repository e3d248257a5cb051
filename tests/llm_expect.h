/* llm_expect.h - assertions on span attributes, shared by the provider
 * decoder tests.  Included by one test file each (static functions). */
#ifndef AT_TEST_LLM_EXPECT_H
#define AT_TEST_LLM_EXPECT_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "decode/llm.h"

/* AT_ROUTE: a route of API `a` whose path names no model and asks for no
 * stream, as at_llm_request_decode takes it. */
#define AT_ROUTE(a) (&(const at_llm_route){.api = (a)})

/* finish: finish a stream into a new attrs object and free it. */
static json_t *finish(at_llm_stream *s, at_llm_status *st)
{
    json_t *a = json_object();
    at_llm_status tmp;

    at_llm_stream_finish(s, a, st ? st : &tmp);
    at_llm_stream_del(s);
    return a;
}

/* expect_json: attrs[key] equals the JSON text `want`. */
static void expect_json(const json_t *attrs, const char *key,
                        const char *want)
{
    json_error_t err;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &err);
    json_t *got = json_object_get(attrs, key);
    char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

    cr_assert_not_null(w, "bad test JSON: %s", want);
    cr_expect(json_equal(w, got), "%s: got %s, want %s", key,
              g ? g : "(absent)", want);
    free(g);
    json_decref(w);
}

/* expect_int: attrs[key] is the integer `v`. */
static void expect_int(const json_t *attrs, const char *key, long long v)
{
    const json_t *j = json_object_get(attrs, key);

    cr_expect(json_is_integer(j), "%s is not an integer", key);
    cr_expect_eq(json_integer_value(j), v, "%s: %lld != %lld", key,
                 (long long)json_integer_value(j), v);
}

/* expect_str: attrs[key] is the string `v`. */
static void expect_str(const json_t *attrs, const char *key, const char *v)
{
    const char *got = json_string_value(json_object_get(attrs, key));

    cr_expect(got != NULL && strcmp(got, v) == 0, "%s: '%s' != '%s'", key,
              got ? got : "(absent)", v);
}

/* expect_absent: attrs has no `key`. */
static void expect_absent(const json_t *attrs, const char *key)
{
    cr_expect_null(json_object_get(attrs, key), "%s should be absent", key);
}

#endif
