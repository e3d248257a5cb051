/* test_embeddings.c - unit tests of the embeddings decoders: OpenAI
 * /v1/embeddings (decode/openai.c), Gemini :embedContent and
 * :batchEmbedContents (decode/gemini.c), Ollama /api/embed and
 * /api/embeddings (decode/ollama.c).
 *
 * Runs as a Criterion test program (each test in its own process).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/llm.h"
#include "llm_expect.h"

/* req: decode a request body of `api` into a new attrs object. */
static json_t *req(const at_llm_route *r, const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(r, body, strlen(body), a), 0, "%s",
                 body);
    return a;
}

/* resp: decode a response body of `api` into attrs. */
static void resp(at_api api, const char *body, json_t *a)
{
    cr_assert_eq(at_llm_response_decode(api, body, strlen(body), a), 0,
                 "%s", body);
}

/* A body as a Criterion parameter, with its API. */
struct body {
    at_api api;
    char s[160];
};

Test(embeddings, openai)
{
    json_t *a = req(AT_ROUTE(AT_API_OPENAI_EMBEDDINGS),
                    "{\"model\":\"text-embedding-3-small\",\"input\":"
                    "[\"a\",\"b\",[1,2]],\"encoding_format\":\"float\","
                    "\"dimensions\":3}");

    expect_str(a, "gen_ai.request.model", "text-embedding-3-small");
    expect_json(a, "gen_ai.request.encoding_formats", "[\"float\"]");
    expect_int(a, "gen_ai.embeddings.dimension.count", 3);
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"a\"},{\"type\":\"text\",\"content\":"
                "\"b\"}]}]");
    resp(AT_API_OPENAI_EMBEDDINGS,
         "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":"
         "0,\"embedding\":[0.1,-0.2,0.3]},{\"embedding\":[1,2,3]}],"
         "\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":"
         "4,\"completion_tokens\":0,\"total_tokens\":4}}",
         a);
    expect_str(a, "gen_ai.response.model", "text-embedding-3-small");
    expect_int(a, "gen_ai.usage.input_tokens", 4);
    expect_absent(a, "gen_ai.usage.output_tokens");
    expect_absent(a, "gen_ai.output.messages");
    expect_absent(a, "gen_ai.response.finish_reasons");
    expect_int(a, "gen_ai.embeddings.dimension.count", 3);
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

/* Base64 vectors: 4 bytes a float32; padding and line breaks count for
 * nothing; a string that is not base64 says nothing. */
struct b64_case {
    char s[64];
    int dims; /* -1: absent */
};

ParameterizedTestParameters(embeddings, base64_dims)
{
    static struct b64_case cases[] = {
        {"AAAAAAAAgD8=", 2},
        {"AACAPwAAAEA=", 2},
        {"AACAPw==", 1},
        {"AACAPwAAAEAAAEBA", 3},
        {"AACAPwAA\\nAEAAAEBA", 3}, /* a JSON escape: a line break */
        {"AACA-_AAAEAAAEBA", 3},     /* URL alphabet */
        {"", -1},
        {"AA", -1},                  /* one byte: no float */
        {"AACA Pw==", -1},
        {"not base64!", -1},
    };
    return cr_make_param_array(struct b64_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct b64_case *c, embeddings, base64_dims)
{
    char body[200];
    json_t *a = json_object();

    snprintf(body, sizeof(body), "{\"data\":[{\"embedding\":\"%s\"}]}",
             c->s);
    resp(AT_API_OPENAI_EMBEDDINGS, body, a);
    if (c->dims < 0)
        expect_absent(a, "gen_ai.embeddings.dimension.count");
    else
        expect_int(a, "gen_ai.embeddings.dimension.count", c->dims);
    json_decref(a);
}

Test(embeddings, gemini)
{
    at_llm_route r;
    json_t *a;

    cr_assert_eq(at_llm_route_find("POST",
                                   "generativelanguage.googleapis.com",
                                   "/v1beta/models/text-embedding-004:"
                                   "embedContent",
                                   &r),
                 1);
    cr_expect_str_eq(r.operation, "embeddings");
    a = req(&r, "{\"model\":\"models/text-embedding-004\",\"content\":{"
                "\"parts\":[{\"text\":\"Hello\"}]},\"taskType\":"
                "\"RETRIEVAL_QUERY\",\"outputDimensionality\":256}");
    expect_str(a, "gen_ai.request.model", "text-embedding-004");
    expect_int(a, "gen_ai.embeddings.dimension.count", 256);
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hello\"}]}]");
    resp(AT_API_GEMINI_EMBED, "{\"embedding\":{\"values\":[0.1,0.2,0.3,"
                              "0.4]}}",
         a);
    expect_int(a, "gen_ai.embeddings.dimension.count", 4);
    expect_absent(a, "gen_ai.usage.input_tokens");
    json_decref(a);

    cr_assert_eq(at_llm_route_find("POST",
                                   "generativelanguage.googleapis.com",
                                   "/v1beta/models/gemini-embedding-001:"
                                   "batchEmbedContents",
                                   &r),
                 1);
    a = req(&r, "{\"requests\":[{\"model\":\"models/gemini-embedding-001\","
                "\"content\":{\"parts\":[{\"text\":\"a\"}]}},"
                "{\"content\":{\"parts\":[{\"text\":\"b\"},{\"text\":"
                "\"c\"}]}},{\"content\":{\"parts\":[]}},5]}");
    expect_str(a, "gen_ai.request.model", "gemini-embedding-001");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"a\"}]},{\"role\":\"user\",\"parts\":["
                "{\"type\":\"text\",\"content\":\"b\"},{\"type\":\"text\","
                "\"content\":\"c\"}]}]");
    resp(AT_API_GEMINI_EMBED,
         "{\"embeddings\":[{\"values\":[1,2]},{\"values\":[3,4]}],"
         "\"usageMetadata\":{\"promptTokenCount\":3}}",
         a);
    expect_int(a, "gen_ai.embeddings.dimension.count", 2);
    expect_int(a, "gen_ai.usage.input_tokens", 3);
    json_decref(a);
}

Test(embeddings, ollama)
{
    at_llm_route r;
    json_t *a;

    cr_assert_eq(at_llm_route_find("POST", "localhost", "/api/embed", &r), 1);
    a = req(&r, "{\"model\":\"all-minilm\",\"input\":[\"Why?\",\"How?\"],"
                "\"dimensions\":2}");
    expect_str(a, "gen_ai.request.model", "all-minilm");
    expect_int(a, "gen_ai.embeddings.dimension.count", 2);
    expect_absent(a, "gen_ai.request.stream"); /* embeddings never stream */
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Why?\"},{\"type\":\"text\",\"content\":"
                "\"How?\"}]}]");
    resp(AT_API_OLLAMA_EMBED,
         "{\"model\":\"all-minilm\",\"embeddings\":[[0.1,0.2],[0.3,0.4]],"
         "\"total_duration\":1,\"load_duration\":1,\"prompt_eval_count\":8}",
         a);
    expect_str(a, "gen_ai.response.model", "all-minilm");
    expect_int(a, "gen_ai.usage.input_tokens", 8);
    expect_int(a, "gen_ai.embeddings.dimension.count", 2);
    json_decref(a);

    cr_assert_eq(at_llm_route_find("POST", "localhost", "/api/embeddings", &r),
                 1);
    a = req(&r, "{\"model\":\"nomic-embed-text\",\"prompt\":\"Hi\"}");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hi\"}]}]");
    resp(AT_API_OLLAMA_EMBED, "{\"embedding\":[1,2,3]}", a);
    expect_int(a, "gen_ai.embeddings.dimension.count", 3);
    json_decref(a);
}

/* Embeddings do not stream: a stream of them takes no event. */
Test(embeddings, no_stream)
{
    static const at_api apis[] = {AT_API_OPENAI_EMBEDDINGS,
                                  AT_API_GEMINI_EMBED, AT_API_OLLAMA_EMBED};
    size_t i;

    for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
        at_llm_stream *s = at_llm_stream_new(apis[i]);
        json_t *a;

        cr_expect_eq(at_llm_stream_event(s, "", 0, "{}", 2), -1);
        a = finish(s, NULL);
        cr_expect_eq(json_object_size(a), 0);
        json_decref(a);
    }
}

ParameterizedTestParameters(embeddings, wrong_types)
{
    static struct body bodies[] = {
        {AT_API_OPENAI_EMBEDDINGS, "{}"},
        {AT_API_OPENAI_EMBEDDINGS,
         "{\"data\":5,\"usage\":[],\"model\":5}"},
        {AT_API_OPENAI_EMBEDDINGS,
         "{\"data\":[{\"embedding\":5}],\"usage\":{\"prompt_tokens\":-1}}"},
        {AT_API_OPENAI_EMBEDDINGS, "{\"data\":[{\"embedding\":[]}]}"},
        {AT_API_GEMINI_EMBED, "{}"},
        {AT_API_GEMINI_EMBED, "{\"embedding\":5,\"embeddings\":[5]}"},
        {AT_API_GEMINI_EMBED, "{\"embedding\":{\"values\":\"x!\"}}"},
        {AT_API_OLLAMA_EMBED, "{}"},
        {AT_API_OLLAMA_EMBED, "{\"embeddings\":[5],\"model\":[]}"},
        {AT_API_OLLAMA_EMBED, "{\"embedding\":{},\"prompt_eval_count\":"
                              "\"3\"}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, embeddings, wrong_types)
{
    json_t *a = json_object();
    json_t *q = json_object();

    resp(b->api, b->s, a);
    cr_expect_eq(json_object_size(a), 0, "%s", b->s);
    /* as a request body too */
    cr_expect_eq(at_llm_request_decode(AT_ROUTE(b->api), b->s, strlen(b->s),
                                       q),
                 0);
    expect_absent(q, "gen_ai.request.model");
    expect_absent(q, "gen_ai.input.messages");
    json_decref(a);
    json_decref(q);
}
