/* test_gemini.c - unit tests of decode/gemini.c: Gemini generateContent
 * requests, responses (an object, or the JSON array of a stream without
 * alt=sse), SSE stream chunks, and errors.
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

/* route: the route of a Gemini path on AI Studio's host. */
static at_llm_route route(const char *path)
{
    at_llm_route r;

    cr_assert_eq(at_llm_route_find("POST",
                                   "generativelanguage.googleapis.com", path,
                                   &r),
                 1, "%s", path);
    return r;
}

/* req: decode a generateContent request body into a new attrs object. */
static json_t *req(const char *body)
{
    at_llm_route r = route("/v1beta/models/gemini-2.5-flash:generateContent");
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(&r, body, strlen(body), a), 0, "%s",
                 body);
    return a;
}

/* resp: decode a response body into a new attrs object. */
static json_t *resp(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_response_decode(AT_API_GEMINI_GENERATE, body,
                                        strlen(body), a),
                 0, "%s", body);
    return a;
}

/* feed: one SSE event's data. */
static int feed(at_llm_stream *s, const char *data)
{
    return at_llm_stream_event(s, "", 0, data, strlen(data));
}

/* A body or event text as a Criterion parameter. */
struct body {
    char s[200];
};

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

Test(gemini_request, params_from_body_and_path)
{
    json_t *a = req("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":"
                    "\"Hi\"}]}],\"generationConfig\":{\"maxOutputTokens\":"
                    "100,\"temperature\":0.3,\"topP\":0.9,\"topK\":40,"
                    "\"stopSequences\":[\"END\",5],\"seed\":-3,"
                    "\"candidateCount\":1}}");

    expect_str(a, "gen_ai.request.model", "gemini-2.5-flash");
    expect_int(a, "gen_ai.request.max_tokens", 100);
    expect_json(a, "gen_ai.request.temperature", "0.3");
    expect_json(a, "gen_ai.request.top_p", "0.9");
    expect_json(a, "gen_ai.request.top_k", "40.0");
    expect_json(a, "gen_ai.request.stop_sequences", "[\"END\"]");
    expect_int(a, "gen_ai.request.seed", -3);
    expect_absent(a, "gen_ai.request.stream");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hi\"}]}]");
    json_decref(a);
}

Test(gemini_request, snake_case_and_stream_path)
{
    at_llm_route r = route("/v1beta/models/gemini-2.0-flash:"
                           "streamGenerateContent");
    const char *body = "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
                       "\"generation_config\":{\"max_output_tokens\":7,"
                       "\"top_p\":0.5,\"stop_sequences\":[\"a\"]},"
                       "\"system_instruction\":{\"parts\":[{\"text\":"
                       "\"sys\"}]}}";
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(&r, body, strlen(body), a), 0);
    expect_str(a, "gen_ai.request.model", "gemini-2.0-flash");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_int(a, "gen_ai.request.max_tokens", 7);
    expect_json(a, "gen_ai.request.top_p", "0.5");
    expect_json(a, "gen_ai.request.stop_sequences", "[\"a\"]");
    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"sys\"}]");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"x\"}]}]");
    json_decref(a);
}

Test(gemini_request, tool_round_trip)
{
    json_t *a = req(
        "{\"systemInstruction\":{\"role\":\"system\",\"parts\":[{\"text\":"
        "\"Be brief.\"},{\"text\":\"\"}]},"
        "\"contents\":["
        "{\"role\":\"user\",\"parts\":[{\"text\":\"weather?\"},"
        "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AA==\"}}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"hmm\",\"thought\":true},"
        "{\"functionCall\":{\"name\":\"gw\",\"args\":{\"city\":\"P\"}}},"
        "{\"functionCall\":{\"id\":\"fc-2\",\"name\":\"gt\",\"args\":{}}},"
        "{\"functionCall\":{\"args\":{}}}]},"
        "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":"
        "\"gw\",\"response\":{\"t\":20}}},{\"functionResponse\":{\"id\":"
        "\"fc-2\",\"name\":\"gt\",\"response\":{\"h\":\"1\"}}}]},"
        "{\"role\":\"function\",\"parts\":[{\"function_response\":{\"name\":"
        "\"x\"}}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"gw\","
        "\"description\":\"Weather.\",\"parameters\":{\"type\":\"OBJECT\"}},"
        "{\"name\":\"gt\",\"parametersJsonSchema\":{\"type\":\"object\"}}]},"
        "{\"googleSearch\":{}},{\"codeExecution\":{}}]}");

    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"Be brief.\"}]");
    expect_json(
        a, "gen_ai.input.messages",
        "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"weather?\"},{\"type\":\"inlineData\"}]},"
        "{\"role\":\"assistant\",\"parts\":["
        "{\"type\":\"reasoning\",\"content\":\"hmm\"},"
        "{\"type\":\"tool_call\",\"id\":\"gw\",\"name\":\"gw\","
        "\"arguments\":{\"city\":\"P\"}},"
        "{\"type\":\"tool_call\",\"id\":\"fc-2\",\"name\":\"gt\","
        "\"arguments\":{}},"
        "{\"type\":\"tool_call\",\"id\":\"call_2\",\"arguments\":{}}]},"
        "{\"role\":\"user\",\"parts\":["
        "{\"type\":\"tool_call_response\",\"id\":\"gw\",\"response\":"
        "{\"t\":20}},"
        "{\"type\":\"tool_call_response\",\"id\":\"fc-2\",\"response\":"
        "{\"h\":\"1\"}}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"x\",\"response\":null}]}]");
    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"gw\",\"description\":"
                "\"Weather.\",\"parameters\":{\"type\":\"OBJECT\"}},"
                "{\"type\":\"function\",\"name\":\"gt\",\"parameters\":"
                "{\"type\":\"object\"}},"
                "{\"type\":\"googleSearch\"},{\"type\":\"codeExecution\"}]");
    json_decref(a);
}

Test(gemini_request, one_content_or_a_string)
{
    json_t *a = req("{\"contents\":{\"parts\":[{\"text\":\"one\"}]}}");

    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"one\"}]}]");
    json_decref(a);
    a = req("{\"contents\":\"bare\",\"systemInstruction\":\"sys\"}");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"bare\"}]}]");
    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"sys\"}]");
    json_decref(a);
}

/* The body's own "model" (Vertex batch bodies carry one) does not hide the
 * path's. */
Test(gemini_request, vertex_path)
{
    at_llm_route r;
    json_t *a = json_object();
    const char *body = "{\"contents\":[]}";

    cr_assert_eq(at_llm_route_find("POST",
                                   "europe-west4-aiplatform.googleapis.com",
                                   "/v1/projects/p/locations/europe-west4/"
                                   "publishers/google/models/"
                                   "gemini-2.5-pro:generateContent",
                                   &r),
                 1);
    cr_expect_str_eq(r.provider, "gcp.vertex_ai");
    cr_assert_eq(at_llm_request_decode(&r, body, strlen(body), a), 0);
    expect_str(a, "gen_ai.request.model", "gemini-2.5-pro");
    json_decref(a);
}

ParameterizedTestParameters(gemini_request, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"contents\":5,\"tools\":{},\"generationConfig\":[]}"},
        {"{\"contents\":[1,null,\"x\",{\"parts\":5},{\"role\":5,"
         "\"parts\":[1,{},{\"text\":5},{\"functionCall\":5}]}]}"},
        {"{\"generationConfig\":{\"maxOutputTokens\":-1,\"temperature\":"
         "\"x\",\"topP\":[],\"seed\":1.5,\"stopSequences\":\"x\"}}"},
        {"{\"tools\":[1,{\"functionDeclarations\":5},{\"functionDeclarations"
         "\":[1,{}]}],\"systemInstruction\":{\"parts\":5}}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, gemini_request, wrong_types)
{
    at_llm_route r = route("/v1beta/models/m:generateContent");
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_request_decode(&r, b->s, strlen(b->s), a), 0);
    expect_str(a, "gen_ai.request.model", "m");
    expect_absent(a, "gen_ai.request.max_tokens");
    expect_absent(a, "gen_ai.request.seed");
    expect_absent(a, "gen_ai.request.stop_sequences");
    expect_absent(a, "gen_ai.system_instructions");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

ParameterizedTestParameters(gemini_request, not_an_object)
{
    static struct body bodies[] = {
        {""}, {"[]"}, {"\"x\""}, {"{\"contents\":"}, {"5"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, gemini_request, not_an_object)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(AT_ROUTE(AT_API_GEMINI_GENERATE), b->s,
                                       strlen(b->s), a),
                 -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

Test(gemini_response, thoughts_text_and_calls)
{
    json_t *a = resp(
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
        "{\"text\":\"Plan.\",\"thought\":true},"
        "{\"text\":\"Hel\"},{\"text\":\"lo\",\"thoughtSignature\":\"x\"},"
        "{\"functionCall\":{\"name\":\"gw\",\"args\":{\"c\":\"P\"}}},"
        "{\"functionCall\":{\"id\":\"i2\",\"name\":\"gt\",\"args\":{}}},"
        "{\"functionCall\":{}},"
        "{\"executableCode\":{\"code\":\"1\"}}]},"
        "\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":10,"
        "\"candidatesTokenCount\":20,\"thoughtsTokenCount\":30,"
        "\"cachedContentTokenCount\":4,\"totalTokenCount\":60},"
        "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}");

    expect_str(a, "gen_ai.response.model", "gemini-2.5-flash");
    expect_str(a, "gen_ai.response.id", "r1");
    expect_int(a, "gen_ai.usage.input_tokens", 10);
    expect_int(a, "gen_ai.usage.output_tokens", 50);
    expect_int(a, "gen_ai.usage.reasoning.output_tokens", 30);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 4);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"STOP\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"Plan.\"},"
                "{\"type\":\"text\",\"content\":\"Hello\"},"
                "{\"type\":\"tool_call\",\"id\":\"gw\",\"name\":\"gw\","
                "\"arguments\":{\"c\":\"P\"}},"
                "{\"type\":\"tool_call\",\"id\":\"i2\",\"name\":\"gt\","
                "\"arguments\":{}},"
                "{\"type\":\"tool_call\",\"id\":\"call_2\"},"
                "{\"type\":\"executableCode\"}],"
                "\"finish_reason\":\"STOP\"}]");
    json_decref(a);
}

Test(gemini_response, candidates_and_missing_counts)
{
    json_t *a = resp(
        "{\"candidates\":[{\"index\":1,\"content\":{\"parts\":[{\"text\":"
        "\"b\"}]},\"finishReason\":\"MAX_TOKENS\"},{\"content\":{\"parts\":"
        "[{\"text\":\"a\"}]},\"finishReason\":\"STOP\"}],"
        "\"usageMetadata\":{\"promptTokenCount\":3,\"thoughtsTokenCount\":"
        "9}}");

    /* the second entry has no index: its position, 1... and the first
     * said 1 too: both land in one message */
    expect_json(a, "gen_ai.response.finish_reasons", "[\"STOP\"]");
    expect_int(a, "gen_ai.usage.output_tokens", 9); /* thoughts only */
    json_decref(a);
    a = resp("{\"candidates\":[{\"index\":1,\"content\":{\"parts\":[{"
             "\"text\":\"b\"}]},\"finishReason\":\"MAX_TOKENS\"},{\"index\":"
             "0,\"content\":{\"parts\":[{\"text\":\"a\"}]},\"finishReason\":"
             "\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3}}");
    expect_json(a, "gen_ai.response.finish_reasons",
                "[\"STOP\",\"MAX_TOKENS\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"a\"}],\"finish_reason\":\"STOP\"},"
                "{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"b\"}],\"finish_reason\":\"MAX_TOKENS\"}]");
    expect_int(a, "gen_ai.usage.input_tokens", 3);
    expect_absent(a, "gen_ai.usage.output_tokens");
    json_decref(a);
}

Test(gemini_response, blocked_prompt)
{
    json_t *a = resp("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
                     "\"usageMetadata\":{\"promptTokenCount\":8}}");

    expect_json(a, "gen_ai.response.finish_reasons", "[\"SAFETY\"]");
    expect_int(a, "gen_ai.usage.input_tokens", 8);
    json_decref(a);
}

/* streamGenerateContent without alt=sse: one JSON array, merged. */
Test(gemini_response, stream_array)
{
    json_t *a = resp(
        "[{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
        "\"text\":\"Hel\"}]},\"index\":0}],\"usageMetadata\":{"
        "\"promptTokenCount\":4,\"candidatesTokenCount\":1},"
        "\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"q\"},\n"
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
        "\"text\":\"lo\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":4,"
        "\"candidatesTokenCount\":2},\"modelVersion\":\"gemini-2.0-flash\","
        "\"responseId\":\"q\"}, 5, null]");

    expect_str(a, "gen_ai.response.id", "q");
    expect_int(a, "gen_ai.usage.input_tokens", 4);
    expect_int(a, "gen_ai.usage.output_tokens", 2);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hello\"}],\"finish_reason\":\"STOP\"}]");
    json_decref(a);
}

ParameterizedTestParameters(gemini_response, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"[]"},
        {"[1,\"x\",[]]"},
        {"{\"candidates\":5,\"usageMetadata\":[]}"},
        {"{\"candidates\":[1,null,{\"index\":-1,\"content\":{\"parts\":[{"
         "\"text\":\"x\"}]}},{\"content\":5},{\"content\":{\"parts\":5}}]}"},
        {"{\"candidates\":[{\"finishReason\":5}],\"responseId\":5,"
         "\"modelVersion\":[]}"},
        {"{\"usageMetadata\":{\"promptTokenCount\":\"1\"},\"candidates\":"
         "[{\"content\":{\"parts\":[{\"functionCall\":[]}]}}]}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, gemini_response, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_response_decode(AT_API_GEMINI_GENERATE, b->s,
                                        strlen(b->s), a),
                 0);
    expect_absent(a, "gen_ai.response.id");
    expect_absent(a, "gen_ai.response.model");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

ParameterizedTestParameters(gemini_response, not_json)
{
    static struct body bodies[] = {
        {""}, {"\"x\""}, {"[{"}, {"5"}, {"null"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, gemini_response, not_json)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_response_decode(AT_API_GEMINI_GENERATE, b->s,
                                        strlen(b->s), a),
                 -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Streams (alt=sse)                                                   */
/* ------------------------------------------------------------------ */

/* The chunks of a stream, one per SSE event; the first has the thoughts,
 * the usage grows, the last has the finish reason. */
static const char *const chunks[] = {
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me\","
    "\"thought\":true}],\"role\":\"model\"},\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":7,\"thoughtsTokenCount\":12},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"The \"}],"
    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{"
    "\"promptTokenCount\":7,\"candidatesTokenCount\":2,"
    "\"thoughtsTokenCount\":12},\"modelVersion\":\"gemini-2.5-flash\","
    "\"responseId\":\"abc\"}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"answer.\"},"
    "{\"functionCall\":{\"name\":\"f\",\"args\":{\"k\":1}}}],\"role\":"
    "\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":5,"
    "\"thoughtsTokenCount\":12,\"totalTokenCount\":24},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}",
};

#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

Test(gemini_stream, chunk_by_chunk)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    at_llm_status st;
    json_t *a;
    size_t i;

    for (i = 0; i < NCHUNKS; i++)
        cr_expect_eq(feed(s, chunks[i]), 1, "chunk %zu", i);
    a = finish(s, &st);
    cr_expect_str_eq(st.error_type, "");
    cr_expect_eq(st.done, 1);
    expect_str(a, "gen_ai.response.model", "gemini-2.5-flash");
    expect_str(a, "gen_ai.response.id", "abc");
    expect_int(a, "gen_ai.usage.input_tokens", 7);
    expect_int(a, "gen_ai.usage.output_tokens", 17);
    expect_int(a, "gen_ai.usage.reasoning.output_tokens", 12);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"STOP\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"Let me\"},"
                "{\"type\":\"text\",\"content\":\"The answer.\"},"
                "{\"type\":\"tool_call\",\"id\":\"f\",\"name\":\"f\","
                "\"arguments\":{\"k\":1}}],\"finish_reason\":\"STOP\"}]");
    json_decref(a);
}

/* A stream whose last chunk is text with its finish reason (read from
 * the scanner's tokens, as the chunks before it) ends it as the tree's
 * reading does: the done flag, the reason, the whole text. */
extern int at_gemini_fast_off;

Test(gemini_stream, last_text_chunk_ends_it)
{
    static const char *const last =
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"end.\"}],"
        "\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":7,"
        "\"candidatesTokenCount\":3},\"modelVersion\":\"gemini-2.5-flash\","
        "\"responseId\":\"abc\"}";
    json_t *a[2];
    int off;

    for (off = 0; off < 2; off++) {
        at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
        at_llm_status st;

        at_gemini_fast_off = off;
        cr_expect_eq(feed(s, chunks[1]), 1);
        cr_expect_eq(feed(s, last), 1);
        at_gemini_fast_off = 0;
        a[off] = finish(s, &st);
        cr_expect_eq(st.done, 1, "fast path %s", off ? "off" : "on");
        expect_json(a[off], "gen_ai.response.finish_reasons",
                    "[\"MAX_TOKENS\"]");
        /* candidates 3, and the 12 thoughts an earlier chunk counted */
        expect_int(a[off], "gen_ai.usage.output_tokens", 15);
    }
    cr_expect(json_equal(a[0], a[1]));
    json_decref(a[0]);
    json_decref(a[1]);
}

/* The same chunks as one response array give the same attributes. */
Test(gemini_stream, same_as_array)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    char body[4096];
    json_t *a, *b = json_object();
    size_t i, n = 0;

    for (i = 0; i < NCHUNKS; i++) {
        feed(s, chunks[i]);
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s%s",
                              i ? ",\r\n" : "[", chunks[i]);
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "]");
    cr_assert_lt(n, sizeof(body));
    a = finish(s, NULL);
    cr_assert_eq(at_llm_response_decode(AT_API_GEMINI_GENERATE, body, n, b),
                 0);
    cr_expect(json_equal(a, b));
    json_decref(a);
    json_decref(b);
}

Test(gemini_stream, error_chunk)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(feed(s, "{\"error\":{\"code\":503,\"message\":\"The model "
                         "is overloaded.\",\"status\":\"UNAVAILABLE\"}}"),
                 0);
    a = finish(s, &st);
    cr_expect_str_eq(st.error_type, "UNAVAILABLE");
    cr_expect_str_eq(st.error_message, "The model is overloaded.");
    json_decref(a);
}

ParameterizedTestParameters(gemini_stream, unparseable)
{
    static struct body events[] = {
        {""}, {"[DONE]"}, {"{"}, {"5"}, {"\"x\""},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *ev, gemini_stream, unparseable)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(feed(s, ev->s), -1);
    cr_expect_eq(feed(s, chunks[1]), 1);
    a = finish(s, &st);
    cr_expect_eq(st.done, 0); /* no finishReason yet */
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"The \"}]}]");
    json_decref(a);
}

Test(gemini_stream, many_chunks)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    json_t *a;
    int i, n = getenv("AT_UNDER_VALGRIND") ? 500 : 10000;

    for (i = 0; i < n; i++)
        cr_assert_eq(feed(s, chunks[1]), 1);
    a = finish(s, NULL);
    cr_expect_eq(json_string_length(json_object_get(
                     json_array_get(json_object_get(
                                        json_array_get(json_object_get(
                                                           a,
                                                           "gen_ai.output."
                                                           "messages"),
                                                       0),
                                        "parts"),
                                    0),
                     "content")),
                 (size_t)n * 4);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

Test(gemini_error, object_and_array)
{
    const char *obj = "{\"error\":{\"code\":429,\"message\":\"Quota\","
                      "\"status\":\"RESOURCE_EXHAUSTED\"}}";
    const char *arr = "[{\"error\":{\"code\":400,\"message\":\"Bad\","
                      "\"status\":\"INVALID_ARGUMENT\"}}]";
    at_llm_status st;

    cr_expect_eq(at_llm_error_decode(AT_API_GEMINI_GENERATE, obj,
                                     strlen(obj), &st),
                 0);
    cr_expect_str_eq(st.error_type, "RESOURCE_EXHAUSTED");
    cr_expect_str_eq(st.error_message, "Quota");
    cr_expect_eq(at_llm_error_decode(AT_API_GEMINI_GENERATE, arr,
                                     strlen(arr), &st),
                 0);
    cr_expect_str_eq(st.error_type, "INVALID_ARGUMENT");
    cr_expect_eq(at_llm_error_decode(AT_API_GEMINI_EMBED, arr, strlen(arr),
                                     &st),
                 0);
    /* the array form is Gemini's only */
    cr_expect_eq(at_llm_error_decode(AT_API_OPENAI_CHAT, arr, strlen(arr),
                                     &st),
                 -1);
    cr_expect_eq(at_llm_error_decode(AT_API_GEMINI_GENERATE, "[]", 2, &st),
                 -1);
    cr_expect_eq(at_llm_error_decode(AT_API_GEMINI_GENERATE, "[5]", 3, &st),
                 -1);
}
