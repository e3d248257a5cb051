/* test_ollama.c - unit tests of decode/ollama.c: Ollama's /api/chat and
 * /api/generate requests, responses and NDJSON stream lines (fed line by
 * line, and through decode/ndjson.c whole and byte by byte).
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
#include "decode/ndjson.h"
#include "llm_expect.h"

/* req: decode a request body of `api` into a new attrs object. */
static json_t *req(at_api api, const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(AT_ROUTE(api), body, strlen(body), a),
                 0, "%s", body);
    return a;
}

/* resp: decode a response body of `api` into a new attrs object. */
static json_t *resp(at_api api, const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_response_decode(api, body, strlen(body), a), 0,
                 "%s", body);
    return a;
}

/* feed: one NDJSON line. */
static int feed(at_llm_stream *s, const char *line)
{
    return at_llm_stream_event(s, "", 0, line, strlen(line));
}

/* A body or line as a Criterion parameter. */
struct body {
    char s[200];
};

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

Test(ollama_request, chat_options_and_default_stream)
{
    json_t *a = req(AT_API_OLLAMA_CHAT,
                    "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\","
                    "\"content\":\"hi\"}],\"options\":{\"num_predict\":64,"
                    "\"temperature\":0.1,\"top_p\":0.9,\"top_k\":20,"
                    "\"seed\":7,\"stop\":[\"x\",1]}}");

    expect_str(a, "gen_ai.request.model", "llama3");
    expect_int(a, "gen_ai.request.max_tokens", 64);
    expect_json(a, "gen_ai.request.temperature", "0.1");
    expect_json(a, "gen_ai.request.top_p", "0.9");
    expect_json(a, "gen_ai.request.top_k", "20.0");
    expect_int(a, "gen_ai.request.seed", 7);
    expect_json(a, "gen_ai.request.stop_sequences", "[\"x\"]");
    /* no "stream": Ollama streams */
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"hi\"}]}]");
    json_decref(a);
    a = req(AT_API_OLLAMA_CHAT, "{\"stream\":false}");
    expect_absent(a, "gen_ai.request.stream");
    json_decref(a);
    a = req(AT_API_OLLAMA_CHAT, "{\"stream\":true,\"options\":{\"stop\":"
                                "\"END\"}}");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.request.stop_sequences", "[\"END\"]");
    json_decref(a);
}

Test(ollama_request, chat_tools_round_trip)
{
    json_t *a = req(
        AT_API_OLLAMA_CHAT,
        "{\"model\":\"llama3.1\",\"stream\":false,\"messages\":["
        "{\"role\":\"system\",\"content\":\"sys\"},"
        "{\"role\":\"user\",\"content\":\"look\",\"images\":[\"AAA=\"]},"
        "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hmm\","
        "\"tool_calls\":[{\"function\":{\"name\":\"gw\",\"arguments\":"
        "{\"location\":\"SF\"}}},{\"id\":\"call_2\",\"function\":{\"name\":"
        "\"gt\",\"arguments\":\"{\\\"tz\\\":1}\"}},5]},"
        "{\"role\":\"tool\",\"content\":\"70F\",\"tool_name\":\"gw\"},"
        "{\"role\":\"tool\",\"content\":\"1pm\",\"tool_call_id\":\"call_2\","
        "\"tool_name\":\"gt\"},"
        "{\"role\":\"tool\",\"content\":\"?\"},{\"content\":\"x\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"gw\","
        "\"description\":\"W\",\"parameters\":{\"type\":\"object\"}}}]}");

    expect_json(
        a, "gen_ai.input.messages",
        "[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"sys\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"look\"},{\"type\":\"image\"}]},"
        "{\"role\":\"assistant\",\"parts\":["
        "{\"type\":\"reasoning\",\"content\":\"hmm\"},"
        "{\"type\":\"tool_call\",\"id\":\"gw\",\"name\":\"gw\","
        "\"arguments\":{\"location\":\"SF\"}},"
        "{\"type\":\"tool_call\",\"id\":\"call_2\",\"name\":\"gt\","
        "\"arguments\":{\"tz\":1}}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"gw\",\"response\":\"70F\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"call_2\",\"response\":\"1pm\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"response\":\"?\"}]}]");
    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"gw\",\"description\":"
                "\"W\",\"parameters\":{\"type\":\"object\"}}]");
    json_decref(a);
}

Test(ollama_request, generate)
{
    json_t *a = req(AT_API_OLLAMA_GENERATE,
                    "{\"model\":\"llama3\",\"prompt\":\"Tell me\","
                    "\"system\":\"Be funny\",\"images\":[\"A\",\"B\"],"
                    "\"context\":[1,2],\"stream\":false,\"raw\":false}");

    expect_str(a, "gen_ai.request.model", "llama3");
    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"Be funny\"}]");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Tell me\"},{\"type\":\"image\"},"
                "{\"type\":\"image\"}]}]");
    expect_absent(a, "gen_ai.request.stream");
    json_decref(a);
    a = req(AT_API_OLLAMA_GENERATE, "{\"prompt\":\"\",\"system\":\"\"}");
    expect_absent(a, "gen_ai.system_instructions");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[]}]");
    json_decref(a);
}

ParameterizedTestParameters(ollama_request, wrong_types)
{
    static struct body bodies[] = {
        {"{\"stream\":false}"},
        {"{\"model\":5,\"messages\":{},\"options\":5,\"stream\":false}"},
        {"{\"stream\":false,\"messages\":[1,null,{\"role\":5},{\"role\":"
         "\"user\",\"content\":5,\"images\":5,\"tool_calls\":[1,{}]}]}"},
        {"{\"stream\":false,\"options\":{\"num_predict\":-1,\"temperature\":"
         "\"x\",\"seed\":1.5,\"stop\":5},\"prompt\":5,\"system\":5}"},
        {"{\"stream\":false,\"tools\":[5,{\"function\":5}]}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, ollama_request, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_request_decode(AT_ROUTE(AT_API_OLLAMA_CHAT), b->s,
                                       strlen(b->s), a),
                 0);
    expect_absent(a, "gen_ai.request.model");
    expect_absent(a, "gen_ai.request.max_tokens");
    expect_absent(a, "gen_ai.request.seed");
    expect_absent(a, "gen_ai.request.stop_sequences");
    expect_absent(a, "gen_ai.request.stream");
    expect_absent(a, "gen_ai.system_instructions");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

ParameterizedTestParameters(ollama_request, not_an_object)
{
    static struct body bodies[] = {
        {""}, {"[]"}, {"5"}, {"{\"model\":"}, {"[1]\n[2]\n"}, {"x\ny"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, ollama_request, not_an_object)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(AT_ROUTE(AT_API_OLLAMA_GENERATE), b->s,
                                       strlen(b->s), a),
                 -1);
    cr_expect_eq(at_llm_response_decode(AT_API_OLLAMA_CHAT, b->s,
                                        strlen(b->s), a),
                 -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

Test(ollama_response, chat_with_tools_and_thinking)
{
    json_t *a = resp(AT_API_OLLAMA_CHAT,
                     "{\"model\":\"qwen3\",\"created_at\":\"2025-01-01T00:00:"
                     "00Z\",\"message\":{\"role\":\"assistant\",\"content\":"
                     "\"ok\",\"thinking\":\"t\",\"tool_calls\":[{"
                     "\"function\":{\"name\":\"gw\",\"arguments\":{\"c\":1}"
                     "}}]},\"done\":true,\"done_reason\":\"stop\","
                     "\"prompt_eval_count\":17,\"eval_count\":66}");

    expect_str(a, "gen_ai.response.model", "qwen3");
    expect_absent(a, "gen_ai.response.id");
    expect_int(a, "gen_ai.usage.input_tokens", 17);
    expect_int(a, "gen_ai.usage.output_tokens", 66);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"t\"},"
                "{\"type\":\"text\",\"content\":\"ok\"},"
                "{\"type\":\"tool_call\",\"id\":\"gw\",\"name\":\"gw\","
                "\"arguments\":{\"c\":1}}],\"finish_reason\":\"stop\"}]");
    json_decref(a);
}

Test(ollama_response, generate)
{
    json_t *a = resp(AT_API_OLLAMA_GENERATE,
                     "{\"model\":\"llama3\",\"response\":\"A joke\","
                     "\"done\":true,\"done_reason\":\"length\",\"context\":"
                     "[1,2,3],\"prompt_eval_count\":5,\"eval_count\":2}");

    expect_json(a, "gen_ai.response.finish_reasons", "[\"length\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"A joke\"}],\"finish_reason\":\"length\"}]");
    expect_int(a, "gen_ai.usage.output_tokens", 2);
    json_decref(a);
}

ParameterizedTestParameters(ollama_response, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"message\":5,\"done_reason\":5,\"prompt_eval_count\":\"1\"}"},
        {"{\"message\":{\"content\":5,\"tool_calls\":[1,{\"function\":5}]},"
         "\"done_reason\":\"\"}"},
        {"{\"response\":5,\"model\":[],\"eval_count\":-4}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, ollama_response, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_response_decode(AT_API_OLLAMA_CHAT, b->s,
                                        strlen(b->s), a),
                 0);
    expect_absent(a, "gen_ai.response.model");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.usage.output_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

Test(ollama_error, body)
{
    const char *b = "{\"error\":\"model 'llama9' not found\"}";
    at_llm_status st;

    cr_expect_eq(at_llm_error_decode(AT_API_OLLAMA_CHAT, b, strlen(b), &st),
                 0);
    cr_expect_str_eq(st.error_type, "");
    cr_expect_str_eq(st.error_message, "model 'llama9' not found");
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

/* A chat stream, one line per entry (as the server sends them, each
 * ending in "\n"). */
static const char *const chat_lines[] = {
    "{\"model\":\"llama3\",\"created_at\":\"t\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Why\"},\"done\":false}",
    "{\"model\":\"llama3\",\"created_at\":\"t\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\" not\"},\"done\":false}",
    "{\"model\":\"llama3\",\"created_at\":\"t\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{"
    "\"name\":\"gw\",\"arguments\":{\"c\":\"P\"}}}]},\"done\":false}",
    "{\"model\":\"llama3\",\"created_at\":\"t\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":"
    "true,\"total_duration\":1,\"prompt_eval_count\":17,\"eval_count\":3}",
};

#define NLINES (sizeof(chat_lines) / sizeof(chat_lines[0]))

/* check_chat: what the chat stream gives. */
static void check_chat(json_t *a, const at_llm_status *st)
{
    cr_expect_eq(st->done, 1);
    cr_expect_str_eq(st->error_type, "");
    expect_str(a, "gen_ai.response.model", "llama3");
    expect_int(a, "gen_ai.usage.input_tokens", 17);
    expect_int(a, "gen_ai.usage.output_tokens", 3);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"text\",\"content\":\"Why not\"},"
                "{\"type\":\"tool_call\",\"id\":\"gw\",\"name\":\"gw\","
                "\"arguments\":{\"c\":\"P\"}}],\"finish_reason\":"
                "\"stop\"}]");
}

/* A whole NDJSON stream decoded as a response body (a sink that kept it
 * as a body): the same attributes as line by line. */
Test(ollama_response, ndjson_body)
{
    char body[4096];
    size_t n = 0, i;
    json_t *a = json_object(), *b;
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);

    for (i = 0; i < NLINES; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\n",
                              chat_lines[i]);
        at_llm_stream_event(s, "", 0, chat_lines[i], strlen(chat_lines[i]));
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "not json\n");
    cr_assert_eq(at_llm_response_decode(AT_API_OLLAMA_CHAT, body, n, a), 0);
    b = finish(s, NULL);
    cr_expect(json_equal(a, b));
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_int(a, "gen_ai.usage.output_tokens", 3);
    json_decref(a);
    json_decref(b);
    /* embeddings have no such thing */
    a = json_object();
    cr_expect_eq(at_llm_response_decode(AT_API_OLLAMA_EMBED, body, n, a), -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

Test(ollama_stream, line_by_line)
{
    static const int output[NLINES] = {1, 1, 1, 0};
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);
    at_llm_status st;
    json_t *a;
    size_t i;

    for (i = 0; i < NLINES; i++)
        cr_expect_eq(feed(s, chat_lines[i]), output[i], "line %zu", i);
    a = finish(s, &st);
    check_chat(a, &st);
    json_decref(a);
}

/* One NDJSON line to the stream (the at_ndjson_cb). */
static void on_line(void *ud, const char *line, size_t len)
{
    cr_expect_neq(at_llm_stream_event(ud, "", 0, line, len), -1, "%.*s",
                  (int)len, line);
}

/* The same stream as bytes, cut by the NDJSON splitter fed in pieces of
 * each size in the table (0: whole), with LF or CRLF line ends and with
 * or without a final line end. */
struct split_case {
    size_t step;
    int crlf;
    int final_eol;
};

ParameterizedTestParameters(ollama_stream, through_ndjson)
{
    static struct split_case cases[] = {
        {0, 0, 1}, {1, 0, 1}, {2, 1, 1}, {3, 0, 0}, {1, 1, 0},
        {7, 1, 1}, {64, 0, 0}, {0, 1, 0},
    };
    return cr_make_param_array(struct split_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct split_case *c, ollama_stream, through_ndjson)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);
    at_ndjson nd;
    at_llm_status st;
    char body[4096];
    size_t n = 0, i, step;
    json_t *a;

    for (i = 0; i < NLINES; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s%s",
                              chat_lines[i],
                              i + 1 == NLINES && !c->final_eol ? ""
                              : c->crlf                        ? "\r\n"
                                                               : "\n");
    cr_assert_lt(n, sizeof(body));
    step = c->step ? c->step : n;
    at_ndjson_init(&nd, 1024);
    for (i = 0; i < n; i += step)
        cr_assert_eq(at_ndjson_feed(&nd, body + i,
                                    n - i < step ? n - i : step, on_line, s),
                     0);
    at_ndjson_finish(&nd, on_line, s);
    cr_expect_eq(nd.lines, NLINES);
    at_ndjson_free(&nd);
    a = finish(s, &st);
    check_chat(a, &st);
    json_decref(a);
}

Test(ollama_stream, generate_and_thinking)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_GENERATE);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(feed(s, "{\"model\":\"m\",\"response\":\"\",\"thinking\":"
                         "\"hm\",\"done\":false}"),
                 1);
    cr_expect_eq(feed(s, "{\"model\":\"m\",\"response\":\"A\",\"done\":"
                         "false}"),
                 1);
    cr_expect_eq(feed(s, "{\"model\":\"m\",\"response\":\"\",\"done\":true,"
                         "\"done_reason\":\"length\",\"context\":[1],"
                         "\"prompt_eval_count\":4,\"eval_count\":2}"),
                 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"hm\"},"
                "{\"type\":\"text\",\"content\":\"A\"}],"
                "\"finish_reason\":\"length\"}]");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"length\"]");
    json_decref(a);
}

Test(ollama_stream, error_line)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);
    at_llm_status st;
    json_t *a;

    feed(s, chat_lines[0]);
    cr_expect_eq(feed(s, "{\"error\":\"an error was encountered while "
                         "running the model\"}"),
                 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 0);
    cr_expect_str_eq(st.error_type, "error");
    cr_expect_str_eq(st.error_message,
                     "an error was encountered while running the model");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Why\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(ollama_stream, unparseable)
{
    static struct body lines[] = {
        {""}, {"{"}, {"[1]"}, {"data: {}"}, {"5"}, {"{\"a\":1}{\"b\":2}"},
    };
    return cr_make_param_array(struct body, lines,
                               sizeof(lines) / sizeof(lines[0]));
}

ParameterizedTest(struct body *l, ollama_stream, unparseable)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);
    json_t *a;

    cr_expect_eq(feed(s, l->s), -1);
    cr_expect_eq(feed(s, chat_lines[0]), 1);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Why\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(ollama_stream, wrong_types)
{
    static struct body lines[] = {
        {"{}"},
        {"{\"message\":5,\"done\":\"yes\"}"},
        {"{\"message\":{\"content\":5,\"thinking\":[],\"tool_calls\":5}}"},
        {"{\"message\":{\"tool_calls\":[1,null]},\"model\":5}"},
        {"{\"done\":false,\"prompt_eval_count\":3}"},
        {"{\"error\":null}"},
        {"{\"error\":5}"},
    };
    return cr_make_param_array(struct body, lines,
                               sizeof(lines) / sizeof(lines[0]));
}

ParameterizedTest(struct body *l, ollama_stream, wrong_types)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);
    at_llm_status st;
    json_t *a;
    char *dump;

    cr_expect_eq(feed(s, l->s), 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 0);
    cr_expect_str_eq(st.error_type, "");
    expect_absent(a, "gen_ai.response.model");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

Test(ollama_stream, many_lines)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OLLAMA_CHAT);
    json_t *a;
    int i, n = getenv("AT_UNDER_VALGRIND") ? 500 : 20000;

    for (i = 0; i < n; i++)
        cr_assert_eq(feed(s, chat_lines[1]), 1);
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
