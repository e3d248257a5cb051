/* test_responses.c - unit tests of decode/responses.c: the OpenAI
 * Responses API request, response and stream events.
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
#define R_RESP AT_ROUTE(AT_API_OPENAI_RESPONSES)

/* req: decode a request body (NUL-terminated) into a new attrs object. */
static json_t *req(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(R_RESP, body, strlen(body), a), 0,
                 "%s", body);
    return a;
}

/* resp: decode a response body into a new attrs object. */
static json_t *resp(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_response_decode(AT_API_OPENAI_RESPONSES, body,
                                        strlen(body), a),
                 0, "%s", body);
    return a;
}

/* feed: one SSE event, named as the Responses API names them. */
static int feed(at_llm_stream *s, const char *event, const char *data)
{
    return at_llm_stream_event(s, event, strlen(event), data, strlen(data));
}

/* A body or event text as a Criterion parameter. */
struct body {
    char s[200];
};

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

Test(responses_request, string_input_and_params)
{
    json_t *a = req("{\"model\":\"gpt-4.1-nano\",\"input\":\"Hi?\","
                    "\"instructions\":\"Be brief.\",\"max_output_tokens\":"
                    "50,\"temperature\":0.5,\"top_p\":1,\"stream\":true,"
                    "\"reasoning\":{\"effort\":\"low\"}}");

    expect_str(a, "gen_ai.request.model", "gpt-4.1-nano");
    expect_int(a, "gen_ai.request.max_tokens", 50);
    expect_json(a, "gen_ai.request.temperature", "0.5");
    expect_json(a, "gen_ai.request.top_p", "1.0");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"Be brief.\"}]");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hi?\"}]}]");
    expect_absent(a, "gen_ai.tool.definitions");
    json_decref(a);
}

Test(responses_request, items_round_trip)
{
    json_t *a = req(
        "{\"input\":["
        "{\"role\":\"developer\",\"content\":\"dev\"},"
        "{\"type\":\"message\",\"role\":\"user\",\"content\":["
        "{\"type\":\"input_text\",\"text\":\"weather?\"},"
        "{\"type\":\"input_image\",\"image_url\":\"data:..\"}]},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":"
        "\"summary_text\",\"text\":\"think\"}]},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"output_text\",\"text\":\"Let me look.\"}]},"
        "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"gw\","
        "\"arguments\":\"{\\\"city\\\":\\\"P\\\"}\"},"
        "{\"type\":\"function_call\",\"call_id\":\"call_2\",\"name\":\"gw\","
        "\"arguments\":\"{bad\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"sunny\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_2\","
        "\"output\":[{\"type\":\"input_text\",\"text\":\"a\"},"
        "{\"type\":\"input_text\",\"text\":\"b\"}]},"
        "{\"type\":\"item_reference\",\"id\":\"msg_9\"},"
        "{\"type\":\"message\",\"role\":\"user\",\"content\":\"thanks\"}"
        "]}");

    expect_json(
        a, "gen_ai.input.messages",
        "[{\"role\":\"developer\",\"parts\":[{\"type\":\"text\","
        "\"content\":\"dev\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"weather?\"},{\"type\":\"input_image\"}]},"
        "{\"role\":\"assistant\",\"parts\":["
        "{\"type\":\"reasoning\",\"content\":\"think\"},"
        "{\"type\":\"text\",\"content\":\"Let me look.\"},"
        "{\"type\":\"tool_call\",\"id\":\"call_1\",\"name\":\"gw\","
        "\"arguments\":{\"city\":\"P\"}},"
        "{\"type\":\"tool_call\",\"id\":\"call_2\",\"name\":\"gw\","
        "\"arguments\":\"{bad\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"call_1\",\"response\":\"sunny\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"call_2\",\"response\":\"ab\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"thanks\"}]}]");
    json_decref(a);
}

Test(responses_request, other_items)
{
    json_t *a = req(
        "{\"input\":["
        "{\"type\":\"custom_tool_call\",\"call_id\":\"c1\",\"name\":\"sql\","
        "\"input\":\"SELECT 1\"},"
        "{\"type\":\"custom_tool_call_output\",\"call_id\":\"c1\","
        "\"output\":\"1\"},"
        "{\"type\":\"computer_call\",\"call_id\":\"c2\",\"action\":"
        "{\"type\":\"click\"}},"
        "{\"type\":\"web_search_call\",\"id\":\"ws_1\"},"
        "{\"type\":\"computer_call_output\",\"call_id\":\"c2\"},"
        "{\"type\":\"mcp_list_tools\",\"role\":\"system\"}]}");

    expect_json(
        a, "gen_ai.input.messages",
        "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\","
        "\"id\":\"c1\",\"name\":\"sql\",\"arguments\":\"SELECT 1\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"c1\",\"response\":\"1\"}]},"
        "{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\","
        "\"id\":\"c2\",\"name\":\"computer_call\",\"arguments\":{\"type\":"
        "\"click\"}},{\"type\":\"web_search_call\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"c2\",\"response\":\"\"}]},"
        "{\"role\":\"system\",\"parts\":[{\"type\":\"mcp_list_tools\"}]}]");
    json_decref(a);
}

Test(responses_request, tools_and_instruction_items)
{
    json_t *a = req(
        "{\"tools\":[{\"type\":\"function\",\"name\":\"gw\",\"description\":"
        "\"Weather.\",\"parameters\":{\"type\":\"object\"},\"strict\":true},"
        "{\"type\":\"web_search_preview\"},{\"name\":\"bare\"},5,"
        "{\"type\":\"custom\",\"name\":\"sql\",\"description\":\"SQL\"}],"
        "\"instructions\":[{\"role\":\"system\",\"content\":[{\"type\":"
        "\"input_text\",\"text\":\"sys\"}]}]}");

    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"gw\",\"description\":"
                "\"Weather.\",\"parameters\":{\"type\":\"object\"}},"
                "{\"type\":\"web_search_preview\"},"
                "{\"type\":\"function\",\"name\":\"bare\"},"
                "{\"type\":\"custom\",\"name\":\"sql\",\"description\":"
                "\"SQL\"}]");
    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"sys\"}]");
    json_decref(a);
}

Test(responses_request, empty_instructions_left_out)
{
    json_t *a = req("{\"instructions\":\"\",\"input\":[]}");

    expect_absent(a, "gen_ai.system_instructions");
    expect_json(a, "gen_ai.input.messages", "[]");
    json_decref(a);
}

ParameterizedTestParameters(responses_request, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"model\":5,\"input\":5,\"tools\":{},\"instructions\":7}"},
        {"{\"input\":[1,null,\"x\",[],{},{\"type\":5},{\"role\":7}]}"},
        {"{\"input\":[{\"type\":\"function_call\"},{\"type\":"
         "\"function_call_output\",\"call_id\":5}]}"},
        {"{\"input\":[{\"role\":\"user\",\"content\":[1,{},{\"type\":"
         "\"input_text\",\"text\":5}]}]}"},
        {"{\"max_output_tokens\":-1,\"temperature\":\"x\",\"stream\":1}"},
        {"{\"input\":[{\"type\":\"reasoning\",\"summary\":5,\"content\":"
         "[1]}]}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, responses_request, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_request_decode(R_RESP, b->s, strlen(b->s), a), 0);
    expect_absent(a, "gen_ai.request.model");
    expect_absent(a, "gen_ai.request.max_tokens");
    expect_absent(a, "gen_ai.request.stream");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

ParameterizedTestParameters(responses_request, not_an_object)
{
    static struct body bodies[] = {
        {""}, {"[]"}, {"\"x\""}, {"{\"input\":"}, {"null"}, {"\xff"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, responses_request, not_an_object)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(R_RESP, b->s, strlen(b->s), a), -1);
    cr_expect_eq(at_llm_response_decode(AT_API_OPENAI_RESPONSES, b->s,
                                        strlen(b->s), a),
                 -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

Test(responses_response, reasoning_text_and_calls)
{
    json_t *a = resp(
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":"
        "\"completed\",\"model\":\"o4-mini-2025-04-16\",\"output\":["
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":"
        "\"summary_text\",\"text\":\"Plan.\"}]},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":["
        "{\"type\":\"output_text\",\"text\":\"Hello\",\"annotations\":[]},"
        "{\"type\":\"refusal\",\"refusal\":\"no\"}]},"
        "{\"type\":\"function_call\",\"call_id\":\"call_9\",\"name\":\"f\","
        "\"arguments\":\"{\\\"x\\\":1}\"},"
        "{\"type\":\"web_search_call\",\"id\":\"ws\",\"status\":"
        "\"completed\"}],"
        "\"usage\":{\"input_tokens\":100,\"input_tokens_details\":"
        "{\"cached_tokens\":40},\"output_tokens\":50,"
        "\"output_tokens_details\":{\"reasoning_tokens\":30},"
        "\"total_tokens\":150}}");

    expect_str(a, "gen_ai.response.id", "resp_1");
    expect_str(a, "gen_ai.response.model", "o4-mini-2025-04-16");
    expect_int(a, "gen_ai.usage.input_tokens", 100);
    expect_int(a, "gen_ai.usage.output_tokens", 50);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 40);
    expect_int(a, "gen_ai.usage.reasoning.output_tokens", 30);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"completed\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"Plan.\"},"
                "{\"type\":\"text\",\"content\":\"Hello\"},"
                "{\"type\":\"refusal\",\"content\":\"no\"},"
                "{\"type\":\"tool_call\",\"id\":\"call_9\",\"name\":\"f\","
                "\"arguments\":{\"x\":1}},"
                "{\"type\":\"web_search_call\"}],"
                "\"finish_reason\":\"completed\"}]");
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

Test(responses_response, incomplete)
{
    json_t *a = resp("{\"status\":\"incomplete\",\"incomplete_details\":"
                     "{\"reason\":\"max_output_tokens\"},\"output\":[]}");

    expect_json(a, "gen_ai.response.finish_reasons", "[\"incomplete\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[],"
                "\"finish_reason\":\"incomplete\"}]");
    json_decref(a);
}

ParameterizedTestParameters(responses_response, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"output\":5,\"usage\":[],\"status\":7,\"id\":5}"},
        {"{\"output\":[1,null,{},{\"type\":5},{\"type\":\"message\","
         "\"content\":5}]}"},
        {"{\"usage\":{\"input_tokens\":\"1\",\"input_tokens_details\":5}}"},
        {"{\"status\":\"\",\"output\":[{\"type\":\"function_call\"}]}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, responses_response, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_response_decode(AT_API_OPENAI_RESPONSES, b->s,
                                        strlen(b->s), a),
                 0);
    expect_absent(a, "gen_ai.response.id");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

#define RESP_OBJ(status, rest)                                             \
    "{\"id\":\"resp_7\",\"object\":\"response\",\"status\":\"" status      \
    "\",\"model\":\"gpt-4.1-nano-2025-04-14\"" rest "}"

/* The events of a stream with reasoning, text and a function call, in
 * order, as a table (event name, data). */
static const char *const stream_events[][2] = {
    {"response.created",
     "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
     RESP_OBJ("in_progress", ",\"output\":[],\"usage\":null") "}"},
    {"response.in_progress",
     "{\"type\":\"response.in_progress\",\"response\":"
     RESP_OBJ("in_progress", "") "}"},
    {"response.output_item.added",
     "{\"type\":\"response.output_item.added\",\"output_index\":0,"
     "\"item\":{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]}}"},
    {"response.reasoning_summary_part.added",
     "{\"type\":\"response.reasoning_summary_part.added\","
     "\"output_index\":0,\"summary_index\":0,\"part\":{\"type\":"
     "\"summary_text\",\"text\":\"\"}}"},
    {"response.reasoning_summary_text.delta",
     "{\"type\":\"response.reasoning_summary_text.delta\","
     "\"output_index\":0,\"summary_index\":0,\"delta\":\"Think\"}"},
    {"response.reasoning_summary_text.delta",
     "{\"type\":\"response.reasoning_summary_text.delta\","
     "\"output_index\":0,\"summary_index\":0,\"delta\":\"ing.\"}"},
    {"response.output_item.done",
     "{\"type\":\"response.output_item.done\",\"output_index\":0,"
     "\"item\":{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":"
     "[{\"type\":\"summary_text\",\"text\":\"Thinking.\"}]}}"},
    {"response.output_item.added",
     "{\"type\":\"response.output_item.added\",\"output_index\":1,"
     "\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":"
     "[]}}"},
    {"response.content_part.added",
     "{\"type\":\"response.content_part.added\",\"output_index\":1,"
     "\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":"
     "\"\"}}"},
    {"response.output_text.delta",
     "{\"type\":\"response.output_text.delta\",\"output_index\":1,"
     "\"content_index\":0,\"delta\":\"Hel\",\"obfuscation\":\"abc\"}"},
    {"response.output_text.delta",
     "{\"type\":\"response.output_text.delta\",\"output_index\":1,"
     "\"content_index\":0,\"delta\":\"lo\",\"logprobs\":[]}"},
    {"response.output_text.done",
     "{\"type\":\"response.output_text.done\",\"output_index\":1,"
     "\"content_index\":0,\"text\":\"Hello\"}"},
    {"response.output_item.added",
     "{\"type\":\"response.output_item.added\",\"output_index\":2,"
     "\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":"
     "\"call_A\",\"name\":\"get_weather\",\"arguments\":\"\"}}"},
    {"response.function_call_arguments.delta",
     "{\"type\":\"response.function_call_arguments.delta\","
     "\"output_index\":2,\"item_id\":\"fc_1\",\"delta\":\"{\\\"ci\"}"},
    {"response.function_call_arguments.delta",
     "{\"type\":\"response.function_call_arguments.delta\","
     "\"output_index\":2,\"item_id\":\"fc_1\","
     "\"delta\":\"ty\\\":\\\"P\\\"}\"}"},
    {"response.function_call_arguments.done",
     "{\"type\":\"response.function_call_arguments.done\","
     "\"output_index\":2,\"item_id\":\"fc_1\",\"arguments\":"
     "\"{\\\"city\\\":\\\"P\\\"}\"}"},
    {"response.completed",
     "{\"type\":\"response.completed\",\"response\":"
     RESP_OBJ("completed",
              ",\"output\":[{\"type\":\"reasoning\",\"summary\":[{\"type\":"
              "\"summary_text\",\"text\":\"Thinking.\"}]},{\"type\":"
              "\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
              "\"output_text\",\"text\":\"Hello\"}]},{\"type\":"
              "\"function_call\",\"call_id\":\"call_A\",\"name\":"
              "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"P\\\"}\"}],"
              "\"usage\":{\"input_tokens\":20,\"input_tokens_details\":"
              "{\"cached_tokens\":0},\"output_tokens\":15,"
              "\"output_tokens_details\":{\"reasoning_tokens\":5}}") "}"},
};

#define NEVENTS (sizeof(stream_events) / sizeof(stream_events[0]))

/* The output events of the table: 1 where at_llm_stream_event says so. */
static const int stream_output[NEVENTS] = {0, 0, 0, 0, 1, 1, 0, 0, 0, 1,
                                           1, 0, 1, 1, 1, 0, 0};

/* check_stream_attrs: what the whole table gives. */
static void check_stream_attrs(const json_t *a)
{
    expect_str(a, "gen_ai.response.id", "resp_7");
    expect_str(a, "gen_ai.response.model", "gpt-4.1-nano-2025-04-14");
    expect_int(a, "gen_ai.usage.input_tokens", 20);
    expect_int(a, "gen_ai.usage.output_tokens", 15);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 0);
    expect_int(a, "gen_ai.usage.reasoning.output_tokens", 5);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"completed\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"Thinking.\"},"
                "{\"type\":\"text\",\"content\":\"Hello\"},"
                "{\"type\":\"tool_call\",\"id\":\"call_A\",\"name\":"
                "\"get_weather\",\"arguments\":{\"city\":\"P\"}}],"
                "\"finish_reason\":\"completed\"}]");
}

Test(responses_stream, event_by_event)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    at_llm_status st;
    json_t *a;
    size_t i;

    for (i = 0; i < NEVENTS; i++)
        cr_expect_eq(feed(s, stream_events[i][0], stream_events[i][1]),
                     stream_output[i], "event %zu (%s)", i,
                     stream_events[i][0]);
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    cr_expect_str_eq(st.error_type, "");
    check_stream_attrs(a);
    json_decref(a);
}

/* Without the data's "type", the SSE event name tells the event. */
Test(responses_stream, event_name_fallback)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    json_t *a;

    cr_expect_eq(feed(s, "response.output_text.delta",
                      "{\"output_index\":0,\"content_index\":0,"
                      "\"delta\":\"x\"}"),
                 1);
    cr_expect_eq(feed(s, "", "{\"output_index\":0,\"content_index\":0,"
                             "\"delta\":\"y\"}"),
                 0);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"x\"}]}]");
    json_decref(a);
}

/* Only the final event seen (the deltas lost): the output is rebuilt from
 * the response it carries; and the deltas alone suffice too. */
Test(responses_stream, completed_alone_or_deltas_alone)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    json_t *a;
    size_t i;

    cr_expect_eq(feed(s, "response.completed", stream_events[NEVENTS - 1][1]),
                 1);
    a = finish(s, NULL);
    check_stream_attrs(a);
    json_decref(a);

    s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    for (i = 0; i < NEVENTS - 1; i++)
        feed(s, stream_events[i][0], stream_events[i][1]);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"Thinking.\"},"
                "{\"type\":\"text\",\"content\":\"Hello\"},"
                "{\"type\":\"tool_call\",\"id\":\"call_A\",\"name\":"
                "\"get_weather\",\"arguments\":{\"city\":\"P\"}}]}]");
    expect_absent(a, "gen_ai.response.finish_reasons");
    expect_absent(a, "gen_ai.usage.input_tokens");
    json_decref(a);
}

/* The arguments of .done stand over fragments that went wrong. */
Test(responses_stream, arguments_done_wins)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    json_t *a;

    feed(s, "response.output_item.added",
         "{\"type\":\"response.output_item.added\",\"output_index\":0,"
         "\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":"
         "\"f\"}}");
    feed(s, "response.function_call_arguments.delta",
         "{\"type\":\"response.function_call_arguments.delta\","
         "\"output_index\":0,\"delta\":\"{\\\"a\\\":\"}");
    cr_expect_eq(feed(s, "response.function_call_arguments.done",
                      "{\"type\":\"response.function_call_arguments.done\","
                      "\"output_index\":0,\"arguments\":\"{\\\"a\\\":2}\"}"),
                 0);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":"
                "\"tool_call\",\"id\":\"c\",\"name\":\"f\",\"arguments\":"
                "{\"a\":2}}]}]");
    json_decref(a);
}

Test(responses_stream, failed)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    at_llm_status st;
    json_t *a;

    feed(s, "response.failed",
         "{\"type\":\"response.failed\",\"response\":"
         RESP_OBJ("failed", ",\"error\":{\"code\":\"server_error\","
                            "\"message\":\"The model failed.\"}") "}");
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    cr_expect_str_eq(st.error_type, "server_error");
    cr_expect_str_eq(st.error_message, "The model failed.");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"failed\"]");
    json_decref(a);
}

Test(responses_stream, error_event)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(feed(s, "error",
                      "{\"type\":\"error\",\"code\":\"rate_limit_exceeded\","
                      "\"message\":\"Slow down\",\"param\":null}"),
                 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 0);
    cr_expect_str_eq(st.error_type, "rate_limit_exceeded");
    cr_expect_str_eq(st.error_message, "Slow down");
    expect_absent(a, "gen_ai.output.messages");
    json_decref(a);

    s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    feed(s, "error", "{\"type\":\"error\",\"message\":\"x\"}");
    a = finish(s, &st);
    cr_expect_str_eq(st.error_type, "error");
    json_decref(a);

    s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    feed(s, "error", "{\"type\":\"error\",\"error\":{\"type\":"
                     "\"invalid_request_error\",\"message\":\"bad\"}}");
    a = finish(s, &st);
    cr_expect_str_eq(st.error_type, "invalid_request_error");
    cr_expect_str_eq(st.error_message, "bad");
    json_decref(a);
}

Test(responses_stream, refusal_and_reasoning_text)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    json_t *a;

    cr_expect_eq(feed(s, "response.reasoning_text.delta",
                      "{\"type\":\"response.reasoning_text.delta\","
                      "\"output_index\":0,\"content_index\":0,\"delta\":"
                      "\"r\"}"),
                 1);
    cr_expect_eq(feed(s, "response.refusal.delta",
                      "{\"type\":\"response.refusal.delta\","
                      "\"output_index\":1,\"content_index\":0,\"delta\":"
                      "\"no\"}"),
                 1);
    cr_expect_eq(feed(s, "response.output_text.delta",
                      "{\"type\":\"response.output_text.delta\","
                      "\"output_index\":1,\"content_index\":1,\"delta\":"
                      "\"\"}"),
                 0);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"r\"},"
                "{\"type\":\"refusal\",\"content\":\"no\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(responses_stream, unparseable)
{
    static struct body events[] = {
        {""}, {"[DONE]"}, {"{"}, {"[]"}, {"5"}, {"{\"type\":"},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *ev, responses_stream, unparseable)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    json_t *a;

    cr_expect_eq(feed(s, "response.output_text.delta", ev->s), -1);
    cr_expect_eq(feed(s, "response.output_text.delta",
                      "{\"output_index\":0,\"content_index\":0,"
                      "\"delta\":\"k\"}"),
                 1);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"k\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(responses_stream, wrong_types)
{
    static struct body events[] = {
        {"{}"},
        {"{\"type\":5}"},
        {"{\"type\":\"response.output_text.delta\",\"output_index\":-1,"
         "\"content_index\":0,\"delta\":\"x\"}"},
        {"{\"type\":\"response.output_text.delta\",\"output_index\":5000,"
         "\"content_index\":0,\"delta\":\"x\"}"},
        {"{\"type\":\"response.output_text.delta\",\"output_index\":0,"
         "\"delta\":\"x\"}"},
        {"{\"type\":\"response.output_text.delta\",\"output_index\":0,"
         "\"content_index\":0,\"delta\":5}"},
        {"{\"type\":\"response.function_call_arguments.delta\","
         "\"output_index\":\"0\",\"delta\":\"x\"}"},
        {"{\"type\":\"response.output_item.added\",\"output_index\":0,"
         "\"item\":5}"},
        {"{\"type\":\"response.output_item.done\",\"output_index\":0,"
         "\"item\":{\"type\":\"message\",\"content\":5}}"},
        {"{\"type\":\"response.completed\",\"response\":5}"},
        {"{\"type\":\"response.created\",\"response\":{\"id\":5,"
         "\"usage\":[]}}"},
        {"{\"type\":\"response.function_call_arguments.done\","
         "\"output_index\":0,\"arguments\":5}"},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *ev, responses_stream, wrong_types)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    at_llm_status st;
    json_t *a;
    char *dump;

    cr_expect_eq(feed(s, "", ev->s), 0, "event %s", ev->s);
    a = finish(s, &st);
    expect_absent(a, "gen_ai.response.id");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    cr_expect_eq(st.done, 0);
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

Test(responses_stream, many_deltas)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_RESPONSES);
    const json_t *c;
    json_t *a;
    int i, n = getenv("AT_UNDER_VALGRIND") ? 1000 : 20000;

    for (i = 0; i < n; i++)
        cr_assert_eq(feed(s, "response.output_text.delta",
                          "{\"type\":\"response.output_text.delta\","
                          "\"output_index\":0,\"content_index\":0,"
                          "\"delta\":\"ab\"}"),
                     1);
    a = finish(s, NULL);
    c = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(
                                           a, "gen_ai.output.messages"),
                                                      0),
                                       "parts"),
                       0),
        "content");
    cr_expect_eq(json_string_length(c), (size_t)n * 2);
    json_decref(a);
}
