/* test_cli_eval.c - regression cases: --expect specs, the checks' verdicts,
 * a case made from a model call span, the replayed request in OpenAI and
 * Anthropic wire formats, and answers read back into a neutral output. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli/evalcase.h"
#include "cli/util.h"

typedef struct spec_case {
    char spec[96];
    char type[16]; /* "" when the spec is refused */
} spec_case;

static const spec_case check_specs_cases[] = {
    {"regex=sunny|warm", "regex"},
    {"not-regex=rain", "not_regex"},
    {"not_regex=rain", "not_regex"},
    {"tool=get_weather", "tool_call"},
    {"tool=get_weather:{\"city\":\"Paris\"}", "tool_call"},
    {"json", "json"},
    {"exact=42", "exact"},
    {"exact=", "exact"},
    {"regex=", ""},
    {"regex=(unclosed", ""},
    {"tool=", ""},
    {"tool=x:[1]", ""},
    {"tool=x:{bad", ""},
    {"exact", ""},
    {"contains=x", ""},
};

static void check_check_specs(const spec_case *c)
{
    char err[200] = "";
    json_t *ck = at_cli_check_parse(c->spec, err, sizeof(err));

    if (c->type[0] == '\0') {
        cr_assert_null(ck, "%s accepted", c->spec);
        cr_assert(err[0] != '\0');
        return;
    }
    cr_assert_not_null(ck, "%s: %s", c->spec, err);
    cr_assert_str_eq(json_string_value(json_object_get(ck, "type")), c->type);
    json_decref(ck);
}

Test(check, specs)
{
    size_t i;

    for (i = 0; i < sizeof(check_specs_cases) / sizeof(check_specs_cases[0]); i++)
        check_check_specs(&check_specs_cases[i]);
}

typedef struct verdict_case {
    char spec[96];
    char output[256];
    int passed;
} verdict_case;

static const verdict_case check_verdicts_cases[] = {
    {"regex=sunny", "{\"text\":\"It is sunny.\",\"tool_calls\":[]}", 1},
    {"regex=^sunny", "{\"text\":\"It is sunny.\",\"tool_calls\":[]}", 0},
    {"not-regex=rain", "{\"text\":\"It is sunny.\",\"tool_calls\":[]}",
     1},
    {"not-regex=sun", "{\"text\":\"It is sunny.\",\"tool_calls\":[]}", 0},
    {"tool=get_weather",
     "{\"text\":\"\",\"tool_calls\":[{\"name\":\"get_weather\","
     "\"arguments\":{\"city\":\"Paris\"}}]}",
     1},
    {"tool=get_weather:{\"city\":\"Paris\"}",
     "{\"text\":\"\",\"tool_calls\":[{\"name\":\"get_time\"},{\"name\":"
     "\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"unit\":"
     "\"C\"}}]}",
     1},
    {"tool=get_weather:{\"city\":\"Paris\"}",
     "{\"text\":\"\",\"tool_calls\":[{\"name\":\"get_weather\","
     "\"arguments\":{\"city\":\"Lyon\"}}]}",
     0},
    {"tool=get_weather", "{\"text\":\"no\",\"tool_calls\":[]}", 0},
    {"json", "{\"text\":\" {\\\"a\\\": [1]} \",\"tool_calls\":[]}", 1},
    {"json", "{\"text\":\"```json\\n{\\\"a\\\":1}\\n```\"}", 1},
    {"json", "{\"text\":\"{\\\"a\\\":\"}", 0},
    {"json", "{\"text\":\"\"}", 0},
    {"exact=42", "{\"text\":\" 42\\n\"}", 1},
    {"exact=42", "{\"text\":\"420\"}", 0},
    {"regex=x", "{}", 0},
};

static void check_check_verdicts(const verdict_case *c)
{
    char err[200];
    json_t *ck = at_cli_check_parse(c->spec, err, sizeof(err));
    json_t *out = json_loads(c->output, 0, NULL), *v;

    cr_assert_not_null(ck, "%s", err);
    cr_assert_not_null(out, "%s", c->output);
    v = at_cli_check_run(ck, out);
    cr_assert_eq(json_is_true(json_object_get(v, "passed")), c->passed,
                 "%s on %s: %s", c->spec, c->output,
                 json_string_value(json_object_get(v, "detail")));
    json_decref(v);
    json_decref(out);
    json_decref(ck);
}

Test(check, verdicts)
{
    size_t i;

    for (i = 0; i < sizeof(check_verdicts_cases) / sizeof(check_verdicts_cases[0]); i++)
        check_check_verdicts(&check_verdicts_cases[i]);
}

/* A recorded second turn of a tool loop, with a system prompt. */
static const char SPAN_LINE[] =
    "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":"
    "\"00f067aa0ba902b7\",\"name\":\"chat gpt-4o\",\"kind\":\"client\","
    "\"start_time_unix_nano\":1,\"end_time_unix_nano\":2,\"status\":"
    "{\"code\":\"ok\"},\"attributes\":{\"gen_ai.operation.name\":\"chat\","
    "\"gen_ai.provider.name\":\"openai\",\"gen_ai.request.model\":"
    "\"gpt-4o\",\"gen_ai.request.temperature\":0.2,"
    "\"gen_ai.request.max_tokens\":100,\"gen_ai.request.stop_sequences\":"
    "[\"END\"],\"gen_ai.system_instructions\":[{\"type\":\"text\","
    "\"content\":\"Be brief.\"}],\"gen_ai.input.messages\":["
    "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
    "\"Weather in Paris?\"}]},"
    "{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\",\"id\":"
    "\"call_1\",\"name\":\"get_weather\",\"arguments\":{\"city\":"
    "\"Paris\"}}]},"
    "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\",\"id\":"
    "\"call_1\",\"response\":{\"temp\":21}}]}],"
    "\"gen_ai.tool.definitions\":[{\"type\":\"function\",\"name\":"
    "\"get_weather\",\"description\":\"d\",\"parameters\":{\"type\":"
    "\"object\"}}],\"gen_ai.output.messages\":[{\"role\":\"assistant\","
    "\"parts\":[{\"type\":\"text\",\"content\":\"21 C and sunny\"}],"
    "\"finish_reason\":\"stop\"}],\"gen_ai.response.finish_reasons\":"
    "[\"stop\"]}}";

static json_t *make_case(void)
{
    at_cli_span s;
    char err[200];
    json_t *checks = json_array(), *c;

    cr_assert_eq(at_cli_span_parse(SPAN_LINE, strlen(SPAN_LINE), &s, err,
                                   sizeof(err)),
                 0, "%s", err);
    json_array_append_new(checks, at_cli_check_parse("regex=sunny", err,
                                                     sizeof(err)));
    c = at_cli_case_from_span(&s, "run.jsonl", "sunny answer", checks, err,
                              sizeof(err));
    cr_assert_not_null(c, "%s", err);
    json_decref(checks);
    at_cli_span_free(&s);
    return c;
}

Test(dataset, a_case_from_a_span)
{
    json_t *c = make_case(), *req = json_object_get(c, "request"), *out, *v;

    cr_assert_null(at_cli_case_check(c));
    cr_assert_str_eq(json_string_value(json_object_get(c, "id")),
                     "4bf92f35-00f067aa0ba902b7");
    cr_assert_str_eq(json_string_value(json_object_get(c, "label")),
                     "sunny answer");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(c, "source"), "span_id")),
                     "00f067aa0ba902b7");
    cr_assert_eq(json_array_size(json_object_get(req, "messages")), 3);
    cr_assert_float_eq(json_real_value(json_object_get(
                           json_object_get(req, "parameters"),
                           "temperature")),
                       0.2, 1e-12);
    cr_assert_eq(json_array_size(json_object_get(c, "checks")), 1);
    /* The recorded answer passes its own check. */
    out = at_cli_output_recorded(c);
    cr_assert_str_eq(json_string_value(json_object_get(out, "text")),
                     "21 C and sunny");
    v = at_cli_check_run(json_array_get(json_object_get(c, "checks"), 0),
                         out);
    cr_assert(json_is_true(json_object_get(v, "passed")));
    json_decref(v);
    json_decref(out);
    json_decref(c);
}

Test(dataset, refuses_what_cannot_be_replayed)
{
    at_cli_span s;
    char err[300];
    const char tool[] =
        "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":"
        "\"00f067aa0ba902b7\",\"name\":\"execute_tool x\","
        "\"start_time_unix_nano\":1,\"attributes\":{\"gen_ai.operation."
        "name\":\"execute_tool\"}}";
    const char bare[] =
        "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":"
        "\"00f067aa0ba902b7\",\"name\":\"chat m\","
        "\"start_time_unix_nano\":1,\"attributes\":{\"gen_ai.operation."
        "name\":\"chat\"}}";

    cr_assert_eq(at_cli_span_parse(tool, strlen(tool), &s, err, sizeof(err)),
                 0);
    cr_assert_null(at_cli_case_from_span(&s, "f", "l", NULL, err,
                                         sizeof(err)));
    cr_assert(strstr(err, "not a model call") != NULL, "%s", err);
    at_cli_span_free(&s);
    cr_assert_eq(at_cli_span_parse(bare, strlen(bare), &s, err, sizeof(err)),
                 0);
    cr_assert_null(at_cli_case_from_span(&s, "f", "l", NULL, err,
                                         sizeof(err)));
    cr_assert(strstr(err, "AGENTTRACE_CAPTURE_CONTENT=0") != NULL, "%s", err);
    at_cli_span_free(&s);
}

Test(replay, openai_body)
{
    json_t *c = make_case(), *b = at_cli_request_openai(c, NULL);
    char *s = at_cli_json_string(b, JSON_COMPACT | JSON_SORT_KEYS |
                                            JSON_REAL_PRECISION(15));

    cr_assert_str_eq(
        s,
        "{\"max_tokens\":100,\"messages\":["
        "{\"content\":\"Be brief.\",\"role\":\"system\"},"
        "{\"content\":\"Weather in Paris?\",\"role\":\"user\"},"
        "{\"content\":null,\"role\":\"assistant\",\"tool_calls\":[{"
        "\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\","
        "\"name\":\"get_weather\"},\"id\":\"call_1\",\"type\":"
        "\"function\"}]},"
        "{\"content\":\"{\\\"temp\\\":21}\",\"role\":\"tool\","
        "\"tool_call_id\":\"call_1\"}],"
        "\"model\":\"gpt-4o\",\"stop\":[\"END\"],\"temperature\":0.2,"
        "\"tools\":[{\"function\":{\"description\":\"d\",\"name\":"
        "\"get_weather\",\"parameters\":{\"type\":\"object\"}},\"type\":"
        "\"function\"}]}");
    free(s);
    json_decref(b);
    b = at_cli_request_openai(c, "other-model");
    cr_assert_str_eq(json_string_value(json_object_get(b, "model")),
                     "other-model");
    json_decref(b);
    json_decref(c);
}

Test(replay, anthropic_body)
{
    json_t *c = make_case(), *b = at_cli_request_anthropic(c, "claude");
    char *s = at_cli_json_string(b, JSON_COMPACT | JSON_SORT_KEYS |
                                            JSON_REAL_PRECISION(15));

    cr_assert_str_eq(
        s,
        "{\"max_tokens\":100,\"messages\":["
        "{\"content\":[{\"text\":\"Weather in Paris?\",\"type\":\"text\"}],"
        "\"role\":\"user\"},"
        "{\"content\":[{\"id\":\"call_1\",\"input\":{\"city\":\"Paris\"},"
        "\"name\":\"get_weather\",\"type\":\"tool_use\"}],\"role\":"
        "\"assistant\"},"
        "{\"content\":[{\"content\":\"{\\\"temp\\\":21}\",\"tool_use_id\":"
        "\"call_1\",\"type\":\"tool_result\"}],\"role\":\"user\"}],"
        "\"model\":\"claude\",\"stop_sequences\":[\"END\"],\"system\":"
        "\"Be brief.\",\"temperature\":0.2,\"tools\":[{\"description\":"
        "\"d\",\"input_schema\":{\"type\":\"object\"},\"name\":"
        "\"get_weather\"}]}");
    free(s);
    json_decref(b);
    json_decref(c);
}

Test(replay, anthropic_roles_alternate)
{
    json_t *c = json_loads(
        "{\"request\":{\"messages\":["
        "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
        "\"a\"}]},{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
        "\"content\":\"b\"}]},{\"role\":\"system\",\"parts\":[{\"type\":"
        "\"text\",\"content\":\"sys\"}]}]}}",
        0, NULL);
    json_t *b = at_cli_request_anthropic(c, NULL);
    json_t *msgs = json_object_get(b, "messages");

    cr_assert_eq(json_array_size(msgs), 1, "two user turns merged");
    cr_assert_eq(json_array_size(json_object_get(json_array_get(msgs, 0),
                                                 "content")),
                 2);
    cr_assert_str_eq(json_string_value(json_object_get(b, "system")), "sys");
    cr_assert_eq(json_integer_value(json_object_get(b, "max_tokens")), 1024,
                 "required by the API: a default");
    json_decref(b);
    json_decref(c);
}

Test(replay, answers_read_back)
{
    json_t *oa = json_loads(
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
        "null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]},"
        "\"finish_reason\":\"tool_calls\"}],\"model\":\"m\"}",
        0, NULL);
    json_t *an = json_loads(
        "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Hi \"},{\"type\":\"text\",\"text\":\"there\"},{\"type\":"
        "\"tool_use\",\"id\":\"t\",\"name\":\"g\",\"input\":{\"y\":2}}],"
        "\"stop_reason\":\"tool_use\"}",
        0, NULL);
    json_t *o;

    o = at_cli_output_openai(oa);
    cr_assert_str_eq(json_string_value(json_object_get(o, "text")), "");
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(json_array_get(
                                         json_object_get(o, "tool_calls"), 0),
                                     "arguments"),
                     "x")),
                 1, "arguments parsed from their JSON string");
    cr_assert_str_eq(json_string_value(json_object_get(o, "finish_reason")),
                     "tool_calls");
    json_decref(o);
    o = at_cli_output_anthropic(an);
    cr_assert_str_eq(json_string_value(json_object_get(o, "text")),
                     "Hi there");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(o, "tool_calls"), 0),
                         "name")),
                     "g");
    json_decref(o);
    cr_assert_null(at_cli_output_openai(an));
    cr_assert_null(at_cli_output_anthropic(oa));
    json_decref(oa);
    json_decref(an);
}
