/* test_anthropic.c - unit tests of decode/anthropic.c: Messages API
 * request, response and stream events, as seen through decode/llm.h.
 *
 * Runs as a Criterion test program (each test in its own process).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "decode/llm.h"
#include "llm_expect.h"

/* The route the request decoder gets. */
#define R_MSG AT_ROUTE(AT_API_ANTHROPIC_MESSAGES)

/* A body or event text as a Criterion parameter (Criterion runs each
 * parameter in a new process image: parameters hold their strings). */
struct body {
    char s[200];
};

/* req: decode a request body into a new attrs object. */
static json_t *req(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(R_MSG, body,
                                       strlen(body), a),
                 0);
    return a;
}

/* resp: decode a response body into a new attrs object. */
static json_t *resp(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_response_decode(AT_API_ANTHROPIC_MESSAGES, body,
                                        strlen(body), a),
                 0);
    return a;
}

/* ev: feed one named SSE event. */
static int ev(at_llm_stream *s, const char *event, const char *data)
{
    return at_llm_stream_event(s, event, strlen(event), data, strlen(data));
}


/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

Test(anthropic_request, params_and_system_string)
{
    json_t *a = req("{\"model\":\"claude-3-haiku-20240307\","
                    "\"max_tokens\":1024,\"temperature\":0.5,\"top_p\":1,"
                    "\"top_k\":5,\"stop_sequences\":[\"\\n\\nHuman:\"],"
                    "\"stream\":true,\"system\":\"You are terse.\","
                    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

    expect_str(a, "gen_ai.request.model", "claude-3-haiku-20240307");
    expect_int(a, "gen_ai.request.max_tokens", 1024);
    expect_json(a, "gen_ai.request.temperature", "0.5");
    expect_json(a, "gen_ai.request.top_p", "1.0");
    expect_json(a, "gen_ai.request.stop_sequences", "[\"\\n\\nHuman:\"]");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_absent(a, "gen_ai.request.seed");
    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"You are terse.\"}]");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hi\"}]}]");
    json_decref(a);
}

Test(anthropic_request, system_blocks)
{
    json_t *a = req("{\"system\":[{\"type\":\"text\",\"text\":\"A\","
                    "\"cache_control\":{\"type\":\"ephemeral\"}},"
                    "{\"type\":\"text\",\"text\":\"B\"},5],"
                    "\"stream\":false}");

    expect_json(a, "gen_ai.system_instructions",
                "[{\"type\":\"text\",\"content\":\"A\"},"
                "{\"type\":\"text\",\"content\":\"B\"}]");
    expect_absent(a, "gen_ai.request.stream");
    expect_absent(a, "gen_ai.input.messages");
    json_decref(a);
}

Test(anthropic_request, empty_system_left_out)
{
    json_t *a = req("{\"system\":\"\",\"messages\":[]}");

    expect_absent(a, "gen_ai.system_instructions");
    expect_json(a, "gen_ai.input.messages", "[]");
    json_decref(a);
}

Test(anthropic_request, tool_round_trip)
{
    json_t *a = req(
        "{\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Weather?\"},{\"type\":\"image\",\"source\":{\"type\":"
        "\"base64\"}}]},"
        "{\"role\":\"assistant\",\"content\":["
        "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"S\"},"
        "{\"type\":\"redacted_thinking\",\"data\":\"xx\"},"
        "{\"type\":\"text\",\"text\":\"Let me look.\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\","
        "\"input\":{\"location\":\"SF\"}}]},"
        "{\"role\":\"user\",\"content\":["
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
        "\"content\":\"15 degrees\"},"
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\","
        "\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\"},"
        "{\"type\":\"text\",\"text\":\"b\"}],\"is_error\":true},"
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_3\"}]}]}");

    expect_json(
        a, "gen_ai.input.messages",
        "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"Weather?\"},{\"type\":\"image\"}]},"
        "{\"role\":\"assistant\",\"parts\":["
        "{\"type\":\"reasoning\",\"content\":\"hmm\"},"
        "{\"type\":\"redacted_thinking\"},"
        "{\"type\":\"text\",\"content\":\"Let me look.\"},"
        "{\"type\":\"tool_call\",\"id\":\"toolu_1\",\"name\":\"get_weather\","
        "\"arguments\":{\"location\":\"SF\"}}]},"
        "{\"role\":\"user\",\"parts\":["
        "{\"type\":\"tool_call_response\",\"id\":\"toolu_1\","
        "\"response\":\"15 degrees\"},"
        "{\"type\":\"tool_call_response\",\"id\":\"toolu_2\","
        "\"response\":\"ab\"},"
        "{\"type\":\"tool_call_response\",\"id\":\"toolu_3\","
        "\"response\":\"\"}]}]");
    json_decref(a);
}

Test(anthropic_request, tools)
{
    json_t *a = req(
        "{\"tools\":[{\"name\":\"get_weather\",\"description\":\"Get it\","
        "\"input_schema\":{\"type\":\"object\",\"properties\":{}}},"
        "{\"type\":\"custom\",\"name\":\"c\",\"input_schema\":{}},"
        "{\"type\":\"web_search_20250305\",\"name\":\"web_search\","
        "\"max_uses\":5},5]}");

    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"get_weather\","
                "\"description\":\"Get it\",\"parameters\":{\"type\":"
                "\"object\",\"properties\":{}}},"
                "{\"type\":\"function\",\"name\":\"c\",\"parameters\":{}},"
                "{\"type\":\"web_search_20250305\",\"name\":"
                "\"web_search\"}]");
    json_decref(a);
}

ParameterizedTestParameters(anthropic_request, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"model\":[],\"system\":5,\"messages\":\"x\",\"tools\":{}}"},
        {"{\"messages\":[5,{\"role\":3},{\"role\":\"user\",\"content\":5},"
         "{\"role\":\"user\",\"content\":[5,null,{},{\"type\":7}]}]}"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"tool_result\",\"content\":5,\"tool_use_id\":[]}]}]}"},
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
         "\"tool_use\"},{\"type\":\"text\",\"text\":5}]}]}"},
        {"{\"system\":[1,{\"type\":\"text\"}],\"stop_sequences\":\"x\","
         "\"max_tokens\":\"9\",\"temperature\":false}"},
        {"{\"tools\":[{\"type\":5,\"input_schema\":null}]}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, anthropic_request, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_request_decode(R_MSG, b->s,
                                       strlen(b->s), a),
                 0);
    expect_absent(a, "gen_ai.request.model");
    expect_absent(a, "gen_ai.request.max_tokens");
    expect_absent(a, "gen_ai.request.temperature");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

ParameterizedTestParameters(anthropic_request, not_an_object)
{
    static struct body bodies[] = {
        {""}, {"["}, {"[{}]"}, {"true"}, {"{\"model\":\"x\",}"},
        {"{\"a\":\"\\ud800\"}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, anthropic_request, not_an_object)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(R_MSG, b->s,
                                       strlen(b->s), a),
                 -1);
    cr_expect_eq(at_llm_response_decode(AT_API_ANTHROPIC_MESSAGES, b->s,
                                        strlen(b->s), a),
                 -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

Test(anthropic_response, text_and_tool_use)
{
    json_t *a = resp(
        "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-3-5-sonnet-20240620\",\"content\":["
        "{\"type\":\"text\",\"text\":\"Sure.\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_A\",\"name\":\"get_weather\","
        "\"input\":{\"location\":\"New York, NY\"}},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_B\",\"name\":\"get_time\","
        "\"input\":{}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":514,\"output_tokens\":152}}");

    expect_str(a, "gen_ai.response.id", "msg_01");
    expect_str(a, "gen_ai.response.model", "claude-3-5-sonnet-20240620");
    expect_int(a, "gen_ai.usage.input_tokens", 514);
    expect_int(a, "gen_ai.usage.output_tokens", 152);
    expect_absent(a, "gen_ai.usage.cache_read.input_tokens");
    expect_absent(a, "gen_ai.usage.cache_creation.input_tokens");
    expect_absent(a, "gen_ai.usage.reasoning.output_tokens");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_use\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"text\",\"content\":\"Sure.\"},"
                "{\"type\":\"tool_call\",\"id\":\"toolu_A\",\"name\":"
                "\"get_weather\",\"arguments\":{\"location\":"
                "\"New York, NY\"}},"
                "{\"type\":\"tool_call\",\"id\":\"toolu_B\",\"name\":"
                "\"get_time\",\"arguments\":{}}],"
                "\"finish_reason\":\"tool_use\"}]");
    json_decref(a);
}

Test(anthropic_response, cache_counts_added_to_input)
{
    json_t *a = resp("{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
                     "\"stop_reason\":\"end_turn\",\"usage\":{"
                     "\"input_tokens\":4,\"cache_creation_input_tokens\":0,"
                     "\"cache_read_input_tokens\":1163,"
                     "\"output_tokens\":230}}");

    expect_int(a, "gen_ai.usage.input_tokens", 1167);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 1163);
    expect_int(a, "gen_ai.usage.cache_creation.input_tokens", 0);
    expect_int(a, "gen_ai.usage.output_tokens", 230);
    json_decref(a);
}

Test(anthropic_response, saturating_sum)
{
    json_t *a = resp("{\"usage\":{\"input_tokens\":9223372036854775807,"
                     "\"cache_read_input_tokens\":9223372036854775807}}");

    expect_int(a, "gen_ai.usage.input_tokens", 9223372036854775807LL);
    expect_absent(a, "gen_ai.output.messages");
    json_decref(a);
}

Test(anthropic_response, thinking_and_other_blocks)
{
    json_t *a = resp(
        "{\"content\":[{\"type\":\"thinking\",\"thinking\":\"Count.\","
        "\"signature\":\"EqQB\"},{\"type\":\"redacted_thinking\","
        "\"data\":\"zz\"},{\"type\":\"server_tool_use\",\"id\":\"s\"},"
        "{\"type\":\"text\",\"text\":\"3\"}],\"stop_reason\":\"end_turn\","
        "\"usage\":{\"input_tokens\":52,\"output_tokens\":215,"
        "\"output_tokens_details\":{\"thinking_tokens\":1024}}}");

    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"Count.\"},"
                "{\"type\":\"redacted_thinking\"},"
                "{\"type\":\"server_tool_use\"},"
                "{\"type\":\"text\",\"content\":\"3\"}],"
                "\"finish_reason\":\"end_turn\"}]");
    /* output_tokens_details is not a documented Anthropic field */
    expect_absent(a, "gen_ai.usage.reasoning.output_tokens");
    json_decref(a);
}

ParameterizedTestParameters(anthropic_response, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"content\":5,\"usage\":[],\"stop_reason\":7}"},
        {"{\"content\":[5,null,[],{\"type\":3},{\"type\":\"text\"}]}"},
        {"{\"usage\":{\"input_tokens\":-1,\"output_tokens\":\"3\","
         "\"cache_read_input_tokens\":1e300}}"},
        {"{\"type\":\"error\",\"error\":{\"type\":\"x\",\"message\":\"y\"}}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *b, anthropic_response, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_response_decode(AT_API_ANTHROPIC_MESSAGES, b->s,
                                        strlen(b->s), a),
                 0);
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.usage.output_tokens");
    expect_absent(a, "gen_ai.usage.cache_read.input_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

Test(anthropic_stream, text_tool_use_and_usage)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    at_llm_status st;
    json_t *a;

    cr_assert_not_null(s);
    cr_expect_eq(ev(s, "message_start",
                    "{\"type\":\"message_start\",\"message\":{\"id\":"
                    "\"msg_0138\",\"type\":\"message\",\"role\":"
                    "\"assistant\",\"model\":\"claude-3-5-sonnet-20240620\","
                    "\"content\":[],\"stop_reason\":null,\"usage\":{"
                    "\"input_tokens\":506,\"cache_creation_input_tokens\":0,"
                    "\"cache_read_input_tokens\":0,\"output_tokens\":1}}"
                    "       }"),
                 0);
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":0,"
                    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),
                 0);
    cr_expect_eq(ev(s, "ping", "{\"type\": \"ping\"}"), 0);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"text_delta\",\"text\":"
                    "\"Certainly\"}}   "),
                 1);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}"),
                 1);
    cr_expect_eq(ev(s, "content_block_stop",
                    "{\"type\":\"content_block_stop\",\"index\":0    }"),
                 0);
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":1,"
                    "\"content_block\":{\"type\":\"tool_use\",\"id\":"
                    "\"toolu_014\",\"name\":\"get_weather\",\"input\":{}}}"),
                 1);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":1,"
                    "\"delta\":{\"type\":\"input_json_delta\","
                    "\"partial_json\":\"\"}}"),
                 0);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":1,"
                    "\"delta\":{\"type\":\"input_json_delta\","
                    "\"partial_json\":\"{\\\"location\\\": \\\"San\"}}"),
                 1);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":1,"
                    "\"delta\":{\"type\":\"input_json_delta\","
                    "\"partial_json\":\" Francisco\\\"}\"}}"),
                 1);
    cr_expect_eq(ev(s, "content_block_stop",
                    "{\"type\":\"content_block_stop\",\"index\":1}"),
                 0);
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":2,"
                    "\"content_block\":{\"type\":\"tool_use\",\"id\":"
                    "\"toolu_012\",\"name\":\"get_time\",\"input\":{}}}"),
                 1);
    cr_expect_eq(ev(s, "message_delta",
                    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                    "\"tool_use\",\"stop_sequence\":null},\"usage\":{"
                    "\"output_tokens\":153}}"),
                 0);
    cr_expect_eq(ev(s, "message_stop", "{\"type\":\"message_stop\"   }"),
                 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    cr_expect_str_eq(st.error_type, "");
    expect_str(a, "gen_ai.response.id", "msg_0138");
    expect_str(a, "gen_ai.response.model", "claude-3-5-sonnet-20240620");
    expect_int(a, "gen_ai.usage.input_tokens", 506);
    expect_int(a, "gen_ai.usage.output_tokens", 153);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 0);
    expect_int(a, "gen_ai.usage.cache_creation.input_tokens", 0);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_use\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"text\",\"content\":\"Certainly!\"},"
                "{\"type\":\"tool_call\",\"id\":\"toolu_014\",\"name\":"
                "\"get_weather\",\"arguments\":{\"location\":"
                "\"San Francisco\"}},"
                "{\"type\":\"tool_call\",\"id\":\"toolu_012\",\"name\":"
                "\"get_time\",\"arguments\":{}}],"
                "\"finish_reason\":\"tool_use\"}]");
    json_decref(a);
}

Test(anthropic_stream, thinking_and_signature)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    json_t *a;

    ev(s, "message_start", "{\"type\":\"message_start\",\"message\":{"
                           "\"id\":\"m\",\"model\":\"claude-3-7-sonnet\","
                           "\"usage\":{\"input_tokens\":52,"
                           "\"output_tokens\":5}}}");
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":0,"
                    "\"content_block\":{\"type\":\"thinking\","
                    "\"thinking\":\"\",\"signature\":\"\"}}"),
                 0);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":"
                    "\"I need\"}}"),
                 1);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"signature_delta\",\"signature\":"
                    "\"ErUB\"}}"),
                 0);
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":1,"
                    "\"content_block\":{\"type\":\"redacted_thinking\","
                    "\"data\":\"xx\"}}"),
                 0);
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":2,"
                    "\"content_block\":{\"type\":\"text\",\"text\":\"Thr\"}}"),
                 1);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":2,"
                    "\"delta\":{\"type\":\"text_delta\",\"text\":\"ee\"}}"),
                 1);
    ev(s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{"
                           "\"stop_reason\":\"end_turn\"},\"usage\":{"
                           "\"output_tokens\":238}}");
    a = finish(s, NULL);
    expect_int(a, "gen_ai.usage.input_tokens", 52);
    expect_int(a, "gen_ai.usage.output_tokens", 238);
    expect_absent(a, "gen_ai.usage.cache_read.input_tokens");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"I need\"},"
                "{\"type\":\"redacted_thinking\"},"
                "{\"type\":\"text\",\"content\":\"Three\"}],"
                "\"finish_reason\":\"end_turn\"}]");
    json_decref(a);
}

Test(anthropic_stream, message_delta_with_input_counts)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    json_t *a;

    ev(s, "message_start", "{\"type\":\"message_start\",\"message\":{"
                           "\"usage\":{\"input_tokens\":10,"
                           "\"output_tokens\":1}}}");
    ev(s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{"
                           "\"stop_reason\":\"max_tokens\"},\"usage\":{"
                           "\"input_tokens\":12,"
                           "\"cache_read_input_tokens\":100,"
                           "\"cache_creation_input_tokens\":null,"
                           "\"output_tokens\":20}}");
    ev(s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{},"
                           "\"usage\":{\"output_tokens\":25}}");
    a = finish(s, NULL);
    expect_int(a, "gen_ai.usage.input_tokens", 112);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 100);
    expect_absent(a, "gen_ai.usage.cache_creation.input_tokens");
    expect_int(a, "gen_ai.usage.output_tokens", 25);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"max_tokens\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[],"
                "\"finish_reason\":\"max_tokens\"}]");
    json_decref(a);
}

Test(anthropic_stream, error_event)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    at_llm_status st;
    json_t *a;

    ev(s, "message_start", "{\"type\":\"message_start\",\"message\":{"
                           "\"id\":\"m1\"}}");
    ev(s, "content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
       "\"text_delta\",\"text\":\"Hi\"}}");
    cr_expect_eq(ev(s, "error",
                    "{\"type\":\"error\",\"error\":{\"type\":"
                    "\"overloaded_error\",\"message\":\"Overloaded\"}}"),
                 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 0);
    cr_expect_str_eq(st.error_type, "overloaded_error");
    cr_expect_str_eq(st.error_message, "Overloaded");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"text\",\"content\":\"Hi\"}]}]");
    expect_absent(a, "gen_ai.response.finish_reasons");
    json_decref(a);
}

Test(anthropic_stream, event_name_when_data_has_no_type)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"index\":0,\"delta\":{\"type\":\"text_delta\","
                    "\"text\":\"x\"}}"),
                 1);
    cr_expect_eq(ev(s, "message_stop", "{}"), 0);
    cr_expect_eq(ev(s, "a_very_long_event_name_that_does_not_fit_anywhere",
                    "{}"),
                 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    json_decref(a);
}

Test(anthropic_stream, unknown_and_future_events)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    json_t *a;

    cr_expect_eq(ev(s, "brand_new", "{\"type\":\"brand_new\",\"x\":1}"), 0);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"citations_delta\","
                    "\"citation\":{}}}"),
                 0);
    cr_expect_eq(ev(s, "content_block_start",
                    "{\"type\":\"content_block_start\",\"index\":0,"
                    "\"content_block\":{\"type\":\"web_search_tool_result\","
                    "\"content\":[]}}"),
                 0);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":"
                "\"web_search_tool_result\"}]}]");
    json_decref(a);
}

Test(anthropic_stream, tool_use_without_fragments_keeps_start_input)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    json_t *a;

    ev(s, "content_block_start",
       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
       "\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":"
       "{\"k\":1}}}");
    ev(s, "content_block_start",
       "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
       "\"type\":\"tool_use\",\"id\":\"u\",\"name\":\"m\"}}");
    ev(s, "content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
       "\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}");
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"tool_call\",\"id\":\"t\",\"name\":\"n\","
                "\"arguments\":{\"k\":1}},"
                "{\"type\":\"tool_call\",\"id\":\"u\",\"name\":\"m\","
                "\"arguments\":\"{\\\"a\\\":\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(anthropic_stream, unparseable)
{
    static struct body events[] = {
        {""}, {"{"}, {"[]"}, {"null"}, {"event: ping"}, {"{\"type\":}"},
        {"\"message_stop\""},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *b, anthropic_stream, unparseable)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(ev(s, "message_stop", b->s), -1, "data '%s'", b->s);
    cr_expect_eq(ev(s, "content_block_delta",
                    "{\"type\":\"content_block_delta\",\"index\":0,"
                    "\"delta\":{\"type\":\"text_delta\",\"text\":\"k\"}}"),
                 1);
    a = finish(s, &st);
    cr_expect_eq(st.done, 0);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"k\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(anthropic_stream, wrong_types)
{
    static struct body events[] = {
        {"{\"type\":5}"},
        {"{\"type\":\"message_start\",\"message\":5}"},
        {"{\"type\":\"message_start\",\"message\":{\"id\":5,\"usage\":"
         "{\"input_tokens\":\"7\"}}}"},
        {"{\"type\":\"content_block_start\",\"index\":-1,"
         "\"content_block\":{\"type\":\"text\",\"text\":\"x\"}}"},
        {"{\"type\":\"content_block_start\",\"index\":0,"
         "\"content_block\":5}"},
        {"{\"type\":\"content_block_delta\",\"index\":\"0\","
         "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"},
        {"{\"type\":\"content_block_delta\",\"index\":99999999,"
         "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"},
        {"{\"type\":\"content_block_delta\",\"index\":0,"
         "\"delta\":{\"type\":\"text_delta\",\"text\":5}}"},
        {"{\"type\":\"message_delta\",\"delta\":5,\"usage\":5}"},
        {"{\"type\":\"error\",\"error\":5}"},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *b, anthropic_stream, wrong_types)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    at_llm_status st;
    json_t *a;
    char *dump;

    cr_expect_eq(ev(s, "", b->s), 0, "data '%s'", b->s);
    a = finish(s, &st);
    cr_expect_str_eq(st.error_type, "");
    expect_absent(a, "gen_ai.response.id");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

Test(anthropic_stream, fed_in_any_block_order)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    json_t *a;

    /* deltas for a block whose start never came still count */
    ev(s, "content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
       "\"text_delta\",\"text\":\"late\"}}");
    ev(s, "content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
       "\"text_delta\",\"text\":\"r\"}}");
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"later\"}]}]");
    json_decref(a);
}

Test(anthropic_stream, many_small_events)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_ANTHROPIC_MESSAGES);
    const json_t *c;
    json_t *a;
    int i, n;

    n = getenv("AT_UNDER_VALGRIND") ? 2000 : 20000;
    for (i = 0; i < n; i++)
        cr_assert_eq(ev(s, "content_block_delta",
                        "{\"type\":\"content_block_delta\",\"index\":0,"
                        "\"delta\":{\"type\":\"text_delta\",\"text\":"
                        "\"ab\"}}       "),
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
