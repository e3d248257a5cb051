/* test_completions.c - unit tests of the legacy OpenAI Completions API in
 * decode/openai.c (POST /v1/completions): request, response, stream.
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

/* The route the request decoder gets. */
#define R_CMPL AT_ROUTE(AT_API_OPENAI_COMPLETIONS)

/* req: decode a request body into a new attrs object. */
static json_t *req(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(R_CMPL, body, strlen(body), a), 0,
                 "%s", body);
    return a;
}

/* resp: decode a response body into a new attrs object. */
static json_t *resp(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_response_decode(AT_API_OPENAI_COMPLETIONS, body,
                                        strlen(body), a),
                 0, "%s", body);
    return a;
}

/* feed: one data-only SSE event. */
static int feed(at_llm_stream *s, const char *data)
{
    return at_llm_stream_event(s, "", 0, data, strlen(data));
}

/* A body or event text as a Criterion parameter. */
struct body {
    char s[160];
};

Test(completions_request, params_and_prompt)
{
    json_t *a = req("{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":"
                    "\"Say this\",\"max_tokens\":7,\"temperature\":0,"
                    "\"top_p\":1,\"seed\":3,\"stop\":[\"\\n\"],\"stream\":"
                    "true,\"echo\":false,\"suffix\":\"x\"}");

    expect_str(a, "gen_ai.request.model", "gpt-3.5-turbo-instruct");
    expect_int(a, "gen_ai.request.max_tokens", 7);
    expect_json(a, "gen_ai.request.temperature", "0.0");
    expect_json(a, "gen_ai.request.top_p", "1.0");
    expect_int(a, "gen_ai.request.seed", 3);
    expect_json(a, "gen_ai.request.stop_sequences", "[\"\\n\"]");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Say this\"}]}]");
    json_decref(a);
}

Test(completions_request, prompt_shapes)
{
    json_t *a = req("{\"prompt\":[\"a\",\"\",\"b\",5]}");

    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"a\"},{\"type\":\"text\",\"content\":\"b\"}]}]");
    json_decref(a);
    /* token arrays hold no text */
    a = req("{\"prompt\":[1212,318,257]}");
    expect_absent(a, "gen_ai.input.messages");
    json_decref(a);
    a = req("{\"prompt\":[[1,2],[3]]}");
    expect_absent(a, "gen_ai.input.messages");
    json_decref(a);
    a = req("{\"prompt\":\"\"}");
    expect_absent(a, "gen_ai.input.messages");
    json_decref(a);
}

ParameterizedTestParameters(completions_request, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"model\":5,\"prompt\":{},\"stop\":5,\"max_tokens\":\"x\"}"},
        {"{\"prompt\":null,\"stream\":\"yes\",\"seed\":\"1\"}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, completions_request, wrong_types)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(R_CMPL, b->s, strlen(b->s), a), 0);
    cr_expect_eq(json_object_size(a), 0);
    cr_expect_eq(at_llm_request_decode(R_CMPL, "[]", 2, a), -1);
    json_decref(a);
}

Test(completions_response, choices)
{
    json_t *a = resp("{\"id\":\"cmpl-1\",\"object\":\"text_completion\","
                     "\"model\":\"davinci-002\",\"choices\":[{\"text\":"
                     "\" b\",\"index\":1,\"finish_reason\":\"stop\"},"
                     "{\"text\":\" a\",\"index\":0,\"logprobs\":null,"
                     "\"finish_reason\":\"length\"}],\"usage\":{"
                     "\"prompt_tokens\":8,\"completion_tokens\":16}}");

    expect_str(a, "gen_ai.response.id", "cmpl-1");
    expect_str(a, "gen_ai.response.model", "davinci-002");
    expect_int(a, "gen_ai.usage.input_tokens", 8);
    expect_int(a, "gen_ai.usage.output_tokens", 16);
    expect_json(a, "gen_ai.response.finish_reasons",
                "[\"length\",\"stop\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\" a\"}],\"finish_reason\":\"length\"},"
                "{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\" b\"}],\"finish_reason\":\"stop\"}]");
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

Test(completions_stream, chunk_by_chunk)
{
    static const char *const chunks[] = {
        "{\"id\":\"cmpl-2\",\"object\":\"text_completion\",\"model\":"
        "\"gpt-3.5-turbo-instruct\",\"choices\":[{\"text\":\"\\n\\n\","
        "\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}",
        "{\"id\":\"cmpl-2\",\"choices\":[{\"text\":\"This\",\"index\":0,"
        "\"finish_reason\":null}]}",
        "{\"id\":\"cmpl-2\",\"choices\":[{\"text\":\"\",\"index\":0,"
        "\"finish_reason\":\"length\"}]}",
        "{\"id\":\"cmpl-2\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
        "\"completion_tokens\":3}}",
        "[DONE]",
    };
    static const int output[] = {1, 1, 0, 0, 0};
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_COMPLETIONS);
    at_llm_status st;
    json_t *a;
    size_t i;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
        cr_expect_eq(feed(s, chunks[i]), output[i], "chunk %zu", i);
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    expect_str(a, "gen_ai.response.id", "cmpl-2");
    expect_str(a, "gen_ai.response.model", "gpt-3.5-turbo-instruct");
    expect_int(a, "gen_ai.usage.input_tokens", 5);
    expect_int(a, "gen_ai.usage.output_tokens", 3);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"length\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"\\n\\nThis\"}],\"finish_reason\":"
                "\"length\"}]");
    json_decref(a);
}

ParameterizedTestParameters(completions_stream, wrong_types)
{
    static struct body events[] = {
        {"{\"choices\":[{\"text\":5}]}"},
        {"{\"choices\":[{\"text\":null,\"index\":-3}]}"},
        {"{\"choices\":[{\"text\":[\"x\"]}]}"},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *ev, completions_stream, wrong_types)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_COMPLETIONS);
    json_t *a;

    cr_expect_eq(feed(s, ev->s), 0);
    cr_expect_eq(feed(s, "{"), -1);
    a = finish(s, NULL);
    expect_absent(a, "gen_ai.response.finish_reasons");
    json_decref(a);
}
