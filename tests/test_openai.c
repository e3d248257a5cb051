/* test_openai.c - unit tests of decode/openai.c (Chat Completions request,
 * response and stream) and of what decode/llm.c does for every provider:
 * routing, error bodies, cost.
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
#define R_CHAT AT_ROUTE(AT_API_OPENAI_CHAT)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* req: decode a request body (NUL-terminated) into a new attrs object. */
static json_t *req(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_request_decode(R_CHAT, body,
                                       strlen(body), a),
                 0);
    return a;
}

/* resp: decode a response body into a new attrs object. */
static json_t *resp(const char *body)
{
    json_t *a = json_object();

    cr_assert_eq(at_llm_response_decode(AT_API_OPENAI_CHAT, body,
                                        strlen(body), a),
                 0);
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

/* ------------------------------------------------------------------ */
/* Routing                                                             */
/* ------------------------------------------------------------------ */

/* Criterion runs each parameter in a new process image: parameters hold
 * their strings, not pointers.  An empty `op` means "chat". */
struct route_case {
    char method[8];
    char host[48];
    int null_host;
    char path[128];
    int ok;
    at_api api;
    char provider[24];
    char op[20];
    char model[48];
    int stream;
};

ParameterizedTestParameters(route, table)
{
    static struct route_case cases[] = {
        {"POST", "api.openai.com", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "openai", "", "", 0},
        {"POST", "API.OpenAI.com", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "openai", "", "", 0},
        {"POST", "api.openai.com.", 0, "/v1/chat/completions/", 1,
         AT_API_OPENAI_CHAT, "openai", "", "", 0},
        {"POST", "api.openai.com:443", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "openai", "", "", 0},
        {"POST", "api.groq.com", 0, "/openai/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "groq", "", "", 0},
        {"POST", "api.mistral.ai", 0, "/v1/chat/completions#stream", 1,
         AT_API_OPENAI_CHAT, "mistral_ai", "", "", 0},
        {"POST", "api.deepseek.com", 0, "/chat/completions", 1,
         AT_API_OPENAI_CHAT, "deepseek", "", "", 0},
        {"POST", "api.x.ai", 0, "/v1/chat/completions", 1, AT_API_OPENAI_CHAT,
         "x_ai", "", "", 0},
        {"POST", "openrouter.ai", 0, "/api/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "openrouter", "", "", 0},
        {"POST", "api.together.xyz", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "together_ai", "", "", 0},
        {"POST", "api.together.ai", 0, "/v1/completions", 1,
         AT_API_OPENAI_COMPLETIONS, "together_ai", "text_completion", "", 0},
        {"POST", "traceloop-stg.openai.azure.com", 0,
         "/openai/deployments/x/chat/completions", 1, AT_API_OPENAI_CHAT,
         "azure.ai.openai", "", "x", 0},
        {"POST", "r.cognitiveservices.azure.com", 0,
         "/openai/deployments/my%20gpt/chat/completions", 1,
         AT_API_OPENAI_CHAT, "azure.ai.openai", "", "my gpt", 0},
        {"POST", "r.openai.azure.com", 0,
         "/openai/deployments/dep-1/completions", 1,
         AT_API_OPENAI_COMPLETIONS, "azure.ai.openai", "text_completion",
         "dep-1", 0},
        {"POST", "r.openai.azure.com", 0,
         "/openai/deployments/emb/embeddings", 1, AT_API_OPENAI_EMBEDDINGS,
         "azure.ai.openai", "embeddings", "emb", 0},
        {"POST", "r.openai.azure.com", 0, "/openai/responses", 1,
         AT_API_OPENAI_RESPONSES, "azure.ai.openai", "", "", 0},
        {"POST", "r.openai.azure.com", 0, "/openai/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "azure.ai.openai", "", "", 0},
        {"POST", "openai.azure.com", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "openai", "", "", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/openai/chat/completions", 1, AT_API_OPENAI_CHAT,
         "gcp.gemini", "", "", 0},
        {"POST", "localhost", 0, "/v1/chat/completions", 1, AT_API_OPENAI_CHAT,
         "openai", "", "", 0},
        {"POST", "localhost:11434", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "ollama", "", "", 0},
        {"POST", "[::1]:11434", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "ollama", "", "", 0},
        {"POST", "[::1]", 0, "/v1/chat/completions", 1, AT_API_OPENAI_CHAT,
         "openai", "", "", 0},
        {"POST", "", 1, "/v1/chat/completions", 1, AT_API_OPENAI_CHAT,
         "openai", "", "", 0},
        {"POST", "", 0, "/v1/chat/completions?x=1", 1, AT_API_OPENAI_CHAT,
         "openai", "", "", 0},
        {"POST", "api.anthropic.com", 0, "/v1/messages", 1,
         AT_API_ANTHROPIC_MESSAGES, "anthropic", "", "", 0},
        {"POST", "proxy.example", 0, "/anthropic/v1/messages", 1,
         AT_API_ANTHROPIC_MESSAGES, "anthropic", "", "", 0},
        {"POST", "api.anthropic.com", 0, "/v1/chat/completions", 1,
         AT_API_OPENAI_CHAT, "anthropic", "", "", 0},
        /* the other OpenAI APIs */
        {"POST", "api.openai.com", 0, "/v1/responses", 1,
         AT_API_OPENAI_RESPONSES, "openai", "", "", 0},
        {"POST", "proxy.example", 0, "/v1/responses/", 1,
         AT_API_OPENAI_RESPONSES, "openai", "", "", 0},
        {"POST", "api.openai.com", 0, "/v1/completions", 1,
         AT_API_OPENAI_COMPLETIONS, "openai", "text_completion", "", 0},
        {"POST", "api.groq.com", 0, "/openai/v1/completions", 1,
         AT_API_OPENAI_COMPLETIONS, "groq", "text_completion", "", 0},
        {"POST", "api.openai.com", 0, "/v1/embeddings", 1,
         AT_API_OPENAI_EMBEDDINGS, "openai", "embeddings", "", 0},
        {"POST", "api.mistral.ai", 0, "/v1/embeddings", 1,
         AT_API_OPENAI_EMBEDDINGS, "mistral_ai", "embeddings", "", 0},
        {"POST", "openrouter.ai", 0, "/api/v1/embeddings", 1,
         AT_API_OPENAI_EMBEDDINGS, "openrouter", "embeddings", "", 0},
        /* Gemini and Vertex AI */
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/models/gemini-2.5-flash:generateContent", 1,
         AT_API_GEMINI_GENERATE, "gcp.gemini", "generate_content",
         "gemini-2.5-flash", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/models/gemini-2.0-flash:streamGenerateContent", 1,
         AT_API_GEMINI_GENERATE, "gcp.gemini", "generate_content",
         "gemini-2.0-flash", 1},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1/models/gemini%2D1.5%2Dpro%3AgenerateContent", 1,
         AT_API_GEMINI_GENERATE, "gcp.gemini", "generate_content",
         "gemini-1.5-pro", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/tunedModels/my-tuned:generateContent", 1,
         AT_API_GEMINI_GENERATE, "gcp.gemini", "generate_content",
         "my-tuned", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/models/text-embedding-004:embedContent", 1,
         AT_API_GEMINI_EMBED, "gcp.gemini", "embeddings",
         "text-embedding-004", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/models/gemini-embedding-001:batchEmbedContents", 1,
         AT_API_GEMINI_EMBED, "gcp.gemini", "embeddings",
         "gemini-embedding-001", 0},
        {"POST", "us-central1-aiplatform.googleapis.com", 0,
         "/v1/projects/p/locations/us-central1/publishers/google/models/"
         "gemini-2.5-pro:streamGenerateContent",
         1, AT_API_GEMINI_GENERATE, "gcp.vertex_ai", "generate_content",
         "gemini-2.5-pro", 1},
        {"POST", "aiplatform.googleapis.com", 0,
         "/v1/projects/p/locations/global/publishers/google/models/"
         "gemini-2.5-flash:generateContent",
         1, AT_API_GEMINI_GENERATE, "gcp.vertex_ai", "generate_content",
         "gemini-2.5-flash", 0},
        {"POST", "vertex-proxy.internal", 0,
         "/v1/projects/p/locations/l/publishers/google/models/"
         "g:generateContent",
         1, AT_API_GEMINI_GENERATE, "gcp.vertex_ai", "generate_content", "g",
         0},
        {"POST", "gemini-proxy.internal", 0,
         "/v1beta/models/g:generateContent", 1, AT_API_GEMINI_GENERATE,
         "gcp.gemini", "generate_content", "g", 0},
        /* Ollama: the path decides, whatever the host */
        {"POST", "127.0.0.1", 0, "/api/chat", 1, AT_API_OLLAMA_CHAT, "ollama",
         "", "", 0},
        {"POST", "ollama.internal", 0, "/api/generate", 1,
         AT_API_OLLAMA_GENERATE, "ollama", "text_completion", "", 0},
        {"POST", "localhost", 0, "/api/embed", 1, AT_API_OLLAMA_EMBED,
         "ollama", "embeddings", "", 0},
        {"POST", "localhost", 0, "/api/embeddings", 1, AT_API_OLLAMA_EMBED,
         "ollama", "embeddings", "", 0},
        {"POST", "webui.example", 0, "/ollama/api/chat", 1,
         AT_API_OLLAMA_CHAT, "ollama", "", "", 0},
        /* not model calls */
        {"GET", "api.openai.com", 0, "/v1/chat/completions", 0, AT_API_NONE,
         "", "", "", 0},
        {"post", "api.openai.com", 0, "/v1/chat/completions", 0, AT_API_NONE,
         "", "", "", 0},
        {"POST", "api.openai.com", 0, "/v1/chat/completionsX", 0, AT_API_NONE,
         "", "", "", 0},
        {"POST", "api.anthropic.com", 0, "/v1/messages/count_tokens", 0,
         AT_API_NONE, "", "", "", 0},
        {"POST", "api.anthropic.com", 0, "/v1/messages/batches", 0,
         AT_API_NONE, "", "", "", 0},
        {"POST", "api.openai.com", 0, "/v1/responses/resp_1/cancel", 0,
         AT_API_NONE, "", "", "", 0},
        {"POST", "api.openai.com", 0, "/responses", 0, AT_API_NONE, "", "",
         "", 0},
        {"POST", "api.openai.com", 0, "/completions", 0, AT_API_NONE, "", "",
         "", 0},
        {"POST", "api.openai.com", 0, "/v1/engines/x/completions", 0,
         AT_API_NONE, "", "", "", 0},
        {"POST", "api.openai.com", 0, "/v1/images/generations", 0,
         AT_API_NONE, "", "", "", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/models/g:countTokens", 0, AT_API_NONE, "", "", "", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/models/:generateContent", 0, AT_API_NONE, "", "", "", 0},
        {"POST", "generativelanguage.googleapis.com", 0,
         "/v1beta/files/g:generateContent", 0, AT_API_NONE, "", "", "", 0},
        {"POST", "generativelanguage.googleapis.com", 0, "g:generateContent",
         0, AT_API_NONE, "", "", "", 0},
        {"POST", "localhost", 0, "/api/chats", 0, AT_API_NONE, "", "", "",
         0},
        {"POST", "localhost", 0, "/api/pull", 0, AT_API_NONE, "", "", "", 0},
        {"POST", "api.openai.com", 0, "", 0, AT_API_NONE, "", "", "", 0},
        {"POST", "api.openai.com", 0, "/", 0, AT_API_NONE, "", "", "", 0},
    };
    return cr_make_param_array(struct route_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct route_case *c, route, table)
{
    at_llm_route r;
    const char *host = c->null_host ? NULL : c->host;

    memset(&r, 0x55, sizeof(r));
    cr_assert_eq(at_llm_route_find(c->method, host, c->path, &r), c->ok,
                 "%s %s %s", c->method, c->host, c->path);
    if (!c->ok) {
        cr_expect_eq(r.api, AT_API_NONE);
        return;
    }
    cr_expect_eq(r.api, c->api, "%s: api %d", c->path, (int)r.api);
    cr_expect_str_eq(r.provider, c->provider);
    cr_expect_str_eq(r.operation, c->op[0] ? c->op : "chat");
    cr_expect_str_eq(r.model, c->model);
    cr_expect_eq(r.stream, c->stream);
}

/* Model names from the path are cut to fit, never mid-character, and an
 * encoded NUL ends them. */
Test(route, model_cut_to_fit)
{
    char path[1024];
    at_llm_route r;
    size_t i, n;

    n = (size_t)snprintf(path, sizeof(path), "/v1beta/models/");
    for (i = 0; i < 100; i++) /* 200 bytes of two-byte characters */
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%%C3%%A9");
    snprintf(path + n, sizeof(path) - n, ":generateContent");
    cr_assert_eq(at_llm_route_find("POST", "x", path, &r), 1);
    cr_expect_eq(strlen(r.model), 126); /* not 127: mid-character */
    cr_expect_eq(memcmp(r.model, "\xc3\xa9", 2), 0);
    cr_assert_eq(at_llm_route_find("POST", "x",
                                   "/openai/deployments/ab%00cd/embeddings",
                                   &r),
                 1);
    cr_expect_str_eq(r.model, "ab");
    /* a Gemini method after an encoded NUL is not seen */
    cr_expect_eq(at_llm_route_find("POST", "x",
                                   "/v1/models/ab%00cd:generateContent", &r),
                 0);
    cr_assert_eq(at_llm_route_find("POST", "x",
                                   "/v1/models/a%zz%4:generateContent", &r),
                 1);
    cr_expect_str_eq(r.model, "a%zz%4");
    /* decoded once only */
    cr_assert_eq(at_llm_route_find("POST", "x",
                                   "/v1/models/a%2541:generateContent", &r),
                 1);
    cr_expect_str_eq(r.model, "a%41");
}

/* The route's model and stream flag reach the request attributes: the
 * path's model when the body names none, even for a body that is not
 * JSON. */
Test(route, facts_reach_the_request)
{
    at_llm_route r;
    json_t *a = json_object();

    cr_assert_eq(at_llm_route_find("POST", "r.openai.azure.com",
                                   "/openai/deployments/dep/chat/completions",
                                   &r),
                 1);
    cr_expect_eq(at_llm_request_decode(&r, "{\"messages\":[]}", 15, a), 0);
    expect_str(a, "gen_ai.request.model", "dep");
    json_object_clear(a);
    cr_expect_eq(at_llm_request_decode(&r, "{\"model\":\"gpt-4o\"}", 18, a),
                 0);
    expect_str(a, "gen_ai.request.model", "gpt-4o");
    json_object_clear(a);
    cr_assert_eq(at_llm_route_find("POST", "generativelanguage.googleapis.com",
                                   "/v1beta/models/gemini-2.0-flash:"
                                   "streamGenerateContent",
                                   &r),
                 1);
    cr_expect_eq(at_llm_request_decode(&r, "not json", 8, a), -1);
    expect_str(a, "gen_ai.request.model", "gemini-2.0-flash");
    expect_json(a, "gen_ai.request.stream", "true");
    cr_expect_eq(json_object_size(a), 2);
    json_decref(a);
}

Test(route, null_arguments)
{
    at_llm_route r;

    cr_expect_eq(at_llm_route_find(NULL, "h", "/v1/messages", &r), 0);
    cr_expect_eq(at_llm_route_find("POST", "h", NULL, &r), 0);
    cr_expect_eq(at_llm_route_find("POST", "h", "/v1/messages", NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

Test(openai_request, params)
{
    json_t *a = req("{\"model\":\"gpt-4o\",\"temperature\":1,"
                    "\"top_p\":0.5,\"max_tokens\":100,\"seed\":-7,"
                    "\"stop\":\"END\",\"stream\":true,\"n\":2,"
                    "\"messages\":[]}");

    expect_str(a, "gen_ai.request.model", "gpt-4o");
    expect_json(a, "gen_ai.request.temperature", "1.0");
    cr_expect(json_is_real(json_object_get(a, "gen_ai.request.temperature")));
    expect_json(a, "gen_ai.request.top_p", "0.5");
    expect_int(a, "gen_ai.request.max_tokens", 100);
    expect_int(a, "gen_ai.request.seed", -7);
    expect_json(a, "gen_ai.request.stop_sequences", "[\"END\"]");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.input.messages", "[]");
    expect_absent(a, "gen_ai.tool.definitions");
    expect_absent(a, "gen_ai.system_instructions");
    json_decref(a);
}

Test(openai_request, only_what_was_sent)
{
    json_t *a = req("{\"model\":\"m\",\"stream\":false,"
                    "\"max_completion_tokens\":64,\"stop\":[\"a\",5,\"b\"],"
                    "\"temperature\":null,\"seed\":1.5}");

    expect_int(a, "gen_ai.request.max_tokens", 64);
    expect_json(a, "gen_ai.request.stop_sequences", "[\"a\",\"b\"]");
    expect_absent(a, "gen_ai.request.stream");
    expect_absent(a, "gen_ai.request.temperature");
    expect_absent(a, "gen_ai.request.top_p");
    expect_absent(a, "gen_ai.request.seed");
    expect_absent(a, "gen_ai.input.messages");
    cr_expect_eq(json_object_size(a), 3);
    json_decref(a);
}

Test(openai_request, max_completion_tokens_wins)
{
    json_t *a = req("{\"max_tokens\":10,\"max_completion_tokens\":20}");

    expect_int(a, "gen_ai.request.max_tokens", 20);
    json_decref(a);
}

Test(openai_request, messages)
{
    json_t *a = req(
        "{\"model\":\"gpt-4o\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"be brief\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
        "\"text\":\"dev\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}},"
        "{\"type\":\"input_audio\",\"input_audio\":{}}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
        "{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"P\\\"}\"}},"
        "{\"id\":\"call_2\",\"type\":\"function\",\"function\":"
        "{\"name\":\"f\",\"arguments\":\"{not json\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
        "\"content\":\"sunny\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\","
        "\"text\":\"b\"}]},"
        "{\"content\":\"no role\"},"
        "{\"role\":\"assistant\",\"content\":\"\"}"
        "]}");

    expect_json(
        a, "gen_ai.input.messages",
        "[{\"role\":\"system\",\"parts\":[{\"type\":\"text\","
        "\"content\":\"be brief\"}]},"
        "{\"role\":\"developer\",\"parts\":[{\"type\":\"text\","
        "\"content\":\"dev\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"hi\"},"
        "{\"type\":\"image_url\"},{\"type\":\"input_audio\"}]},"
        "{\"role\":\"assistant\",\"parts\":["
        "{\"type\":\"tool_call\",\"id\":\"call_1\",\"name\":\"get_weather\","
        "\"arguments\":{\"city\":\"P\"}},"
        "{\"type\":\"tool_call\",\"id\":\"call_2\",\"name\":\"f\","
        "\"arguments\":\"{not json\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"call_1\",\"response\":\"sunny\"}]},"
        "{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\","
        "\"id\":\"call_2\",\"response\":\"ab\"}]},"
        "{\"role\":\"assistant\",\"parts\":[]}]");
    json_decref(a);
}

Test(openai_request, tools)
{
    json_t *a = req(
        "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"add\","
        "\"description\":\"Add.\",\"parameters\":{\"type\":\"object\"}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"bare\"}},"
        "7,{\"type\":\"custom\",\"custom\":{\"name\":\"grammar\"}}]}");

    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"add\","
                "\"description\":\"Add.\",\"parameters\":{\"type\":"
                "\"object\"}},"
                "{\"type\":\"function\",\"name\":\"bare\"},"
                "{\"type\":\"custom\",\"name\":\"grammar\"}]");
    json_decref(a);
}

Test(openai_request, legacy_functions)
{
    json_t *a = req("{\"functions\":[{\"name\":\"f\",\"parameters\":{}}],"
                    "\"messages\":[{\"role\":\"assistant\","
                    "\"function_call\":{\"name\":\"f\","
                    "\"arguments\":\"{}\"}}]}");

    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"f\","
                "\"parameters\":{}}]");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":"
                "\"tool_call\",\"name\":\"f\",\"arguments\":{}}]}]");
    json_decref(a);
}

Test(openai_request, nul_and_unicode)
{
    const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                        "\"content\":\"a\\u0000b \\ud83d\\ude00\"}]}";
    json_t *a = json_object();
    const json_t *c;

    cr_assert_eq(at_llm_request_decode(R_CHAT, body,
                                       sizeof(body) - 1, a),
                 0);
    c = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(
                                           a, "gen_ai.input.messages"),
                                                      0),
                                       "parts"),
                       0),
        "content");
    cr_assert(json_is_string(c));
    cr_expect_eq(json_string_length(c), 8);
    cr_expect_eq(memcmp(json_string_value(c), "a\0b \xf0\x9f\x98\x80", 8),
                 0);
    json_decref(a);
}

Test(openai_request, huge_integer_keeps_the_rest)
{
    json_t *a = req("{\"model\":\"m\",\"seed\":123456789012345678901234567,"
                    "\"max_tokens\":99999999999999999999,"
                    "\"temperature\":0.2}");

    expect_str(a, "gen_ai.request.model", "m");
    expect_json(a, "gen_ai.request.temperature", "0.2");
    expect_absent(a, "gen_ai.request.seed");
    expect_absent(a, "gen_ai.request.max_tokens");
    json_decref(a);
}

/* Bodies that are not a JSON object: -1 and attrs untouched. */
ParameterizedTestParameters(openai_request, not_an_object)
{
    static struct body bodies[] = {
        {""},
        {" "},
        {"{"},
        {"[]"},
        {"null"},
        {"42"},
        {"\"s\""},
        {"{\"a\":}"},
        {"{\"model\":\"m\""},
        {"\xff\xfe"},
        {"{\"model\":\"\xc3\"}"},
        {"{\"a\":1e99999}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *body, openai_request, not_an_object)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(R_CHAT, body->s,
                                       strlen(body->s), a),
                 -1);
    cr_expect_eq(at_llm_response_decode(AT_API_OPENAI_CHAT, body->s,
                                        strlen(body->s), a),
                 -1);
    cr_expect_eq(json_object_size(a), 0);
    json_decref(a);
}

/* Objects of the wrong shape: decoded without a crash, nothing wrong
 * written. */
ParameterizedTestParameters(openai_request, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"model\":5,\"messages\":{},\"tools\":\"x\",\"stop\":{}}"},
        {"{\"messages\":[1,null,\"x\",[],{\"role\":7},{\"role\":\"user\","
         "\"content\":7}]}"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[1,null,{},"
         "{\"type\":5},{\"type\":\"text\",\"text\":5}]}]}"},
        {"{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[1,{},"
         "{\"function\":5},{\"function\":{\"arguments\":5,\"name\":[]}}]}]}"},
        {"{\"messages\":[{\"role\":\"tool\",\"content\":{\"a\":1}}]}"},
        {"{\"messages\":[{\"role\":\"tool\"}]}"},
        {"{\"tools\":[{\"type\":7},{\"function\":[]}],\"functions\":[1]}"},
        {"{\"max_tokens\":-1,\"temperature\":\"hot\",\"top_p\":[],"
         "\"seed\":\"x\",\"stream\":\"yes\"}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *body, openai_request, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_request_decode(R_CHAT, body->s,
                                       strlen(body->s), a),
                 0);
    expect_absent(a, "gen_ai.request.model");
    expect_absent(a, "gen_ai.request.max_tokens");
    expect_absent(a, "gen_ai.request.stream");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

Test(openai_request, unknown_api)
{
    json_t *a = json_object();

    cr_expect_eq(at_llm_request_decode(AT_ROUTE(AT_API_NONE), "{}", 2, a), -1);
    cr_expect_eq(at_llm_response_decode(AT_API_NONE, "{}", 2, a), -1);
    cr_expect_eq(at_llm_request_decode(R_CHAT, NULL, 0, a), -1);
    cr_expect_eq(at_llm_request_decode(R_CHAT, "{}", 2, NULL),
                 -1);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

Test(openai_response, basic)
{
    json_t *a = resp(
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
        "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
        "\"message\":{\"role\":\"assistant\",\"content\":\"Hello\","
        "\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":15,"
        "\"completion_tokens\":31,\"total_tokens\":46,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":20}}}");

    expect_str(a, "gen_ai.response.id", "chatcmpl-1");
    expect_str(a, "gen_ai.response.model", "gpt-4o-mini-2024-07-18");
    expect_int(a, "gen_ai.usage.input_tokens", 15);
    expect_int(a, "gen_ai.usage.output_tokens", 31);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 4);
    expect_int(a, "gen_ai.usage.reasoning.output_tokens", 20);
    expect_absent(a, "gen_ai.usage.cache_creation.input_tokens");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hello\"}],\"finish_reason\":\"stop\"}]");
    json_decref(a);
}

Test(openai_response, choices_in_index_order)
{
    json_t *a = resp(
        "{\"choices\":[{\"index\":2,\"message\":{\"content\":\"c\"},"
        "\"finish_reason\":\"length\"},{\"index\":0,\"message\":"
        "{\"content\":\"a\"},\"finish_reason\":\"stop\"},{\"index\":1,"
        "\"message\":{\"content\":\"b\"},\"finish_reason\":null}]}");

    expect_json(a, "gen_ai.response.finish_reasons",
                "[\"stop\",\"length\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"a\"}],\"finish_reason\":\"stop\"},"
                "{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"b\"}]},"
                "{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"c\"}],\"finish_reason\":\"length\"}]");
    expect_absent(a, "gen_ai.usage.input_tokens");
    json_decref(a);
}

Test(openai_response, tool_calls)
{
    json_t *a = resp(
        "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"call_K\",\"type\":"
        "\"function\",\"function\":{\"name\":\"add_numbers\",\"arguments\":"
        "\"{\\\"a\\\":5,\\\"b\\\":7}\"}}]},\"finish_reason\":"
        "\"tool_calls\"}]}");

    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":"
                "\"tool_call\",\"id\":\"call_K\",\"name\":\"add_numbers\","
                "\"arguments\":{\"a\":5,\"b\":7}}],"
                "\"finish_reason\":\"tool_calls\"}]");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_calls\"]");
    json_decref(a);
}

Test(openai_response, reasoning_refusal_and_nulls)
{
    json_t *a = resp(
        "{\"id\":\"\",\"model\":null,\"choices\":[{\"message\":{"
        "\"reasoning_content\":\"think\",\"content\":\"x\",\"refusal\":"
        "\"no\",\"tool_calls\":null},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":null}}");

    expect_absent(a, "gen_ai.response.id");
    expect_absent(a, "gen_ai.response.model");
    expect_int(a, "gen_ai.usage.input_tokens", 1);
    expect_absent(a, "gen_ai.usage.output_tokens");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"think\"},"
                "{\"type\":\"text\",\"content\":\"x\"},"
                "{\"type\":\"refusal\",\"content\":\"no\"}],"
                "\"finish_reason\":\"stop\"}]");
    json_decref(a);
}

Test(openai_response, usage_edge_values)
{
    json_t *a = resp("{\"usage\":{\"prompt_tokens\":-3,"
                     "\"completion_tokens\":9007199254740993,"
                     "\"prompt_tokens_details\":{\"cached_tokens\":1.0},"
                     "\"completion_tokens_details\":{\"reasoning_tokens\":"
                     "2.5}},\"choices\":[]}");

    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_int(a, "gen_ai.usage.output_tokens", 9007199254740993LL);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 1);
    expect_absent(a, "gen_ai.usage.reasoning.output_tokens");
    expect_absent(a, "gen_ai.output.messages");
    expect_absent(a, "gen_ai.response.finish_reasons");
    json_decref(a);
}

Test(openai_response, huge_integer_reparsed_as_real)
{
    json_t *a = resp("{\"model\":\"m\",\"usage\":{\"prompt_tokens\":"
                     "100000000000000000000000,\"completion_tokens\":7}}");

    expect_str(a, "gen_ai.response.model", "m");
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_int(a, "gen_ai.usage.output_tokens", 7);
    json_decref(a);
}

ParameterizedTestParameters(openai_response, wrong_types)
{
    static struct body bodies[] = {
        {"{}"},
        {"{\"choices\":5,\"usage\":[]}"},
        {"{\"choices\":[1,null,\"x\",{\"message\":7},{\"index\":\"z\"}]}"},
        {"{\"choices\":[{\"index\":-5,\"message\":{\"content\":[1,{}]}}]}"},
        {"{\"choices\":[{\"index\":99999999999,\"message\":{\"tool_calls\":"
         "[{\"function\":{\"arguments\":\"[1,\"}}]}}]}"},
        {"{\"usage\":{\"prompt_tokens\":\"1\",\"prompt_tokens_details\":5}}"},
        {"{\"id\":5,\"model\":{},\"choices\":[{\"finish_reason\":7}]}"},
    };
    return cr_make_param_array(struct body, bodies,
                               sizeof(bodies) / sizeof(bodies[0]));
}

ParameterizedTest(struct body *body, openai_response, wrong_types)
{
    json_t *a = json_object();
    char *dump;

    cr_expect_eq(at_llm_response_decode(AT_API_OPENAI_CHAT, body->s,
                                        strlen(body->s), a),
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

#define CHUNK(rest)                                                        \
    "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\","         \
    "\"model\":\"gpt-4o-mini-2024-07-18\"," rest ",\"obfuscation\":\"xy\"}"

Test(openai_stream, text_with_usage)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    at_llm_status st;
    json_t *a;

    cr_assert_not_null(s);
    cr_expect_eq(feed(s, CHUNK("\"choices\":[{\"index\":0,\"delta\":"
                               "{\"role\":\"assistant\",\"content\":\"\","
                               "\"refusal\":null},\"finish_reason\":null}],"
                               "\"usage\":null")),
                 0);
    cr_expect_eq(feed(s, CHUNK("\"choices\":[{\"index\":0,\"delta\":"
                               "{\"content\":\"Hel\"},\"finish_reason\":"
                               "null}],\"usage\":null")),
                 1);
    cr_expect_eq(feed(s, CHUNK("\"choices\":[{\"index\":0,\"delta\":"
                               "{\"content\":\"lo\"},\"finish_reason\":"
                               "null}]")),
                 1);
    cr_expect_eq(feed(s, CHUNK("\"choices\":[{\"index\":0,\"delta\":{},"
                               "\"finish_reason\":\"stop\"}]")),
                 0);
    cr_expect_eq(feed(s, CHUNK("\"choices\":[],\"usage\":{"
                               "\"prompt_tokens\":23,\"completion_tokens\":8,"
                               "\"prompt_tokens_details\":{\"cached_tokens\":"
                               "0},\"completion_tokens_details\":{"
                               "\"reasoning_tokens\":0}}")),
                 0);
    cr_expect_eq(feed(s, "[DONE]"), 0);
    a = finish(s, &st);
    cr_expect_eq(st.done, 1);
    cr_expect_str_eq(st.error_type, "");
    expect_str(a, "gen_ai.response.id", "chatcmpl-9");
    expect_str(a, "gen_ai.response.model", "gpt-4o-mini-2024-07-18");
    expect_int(a, "gen_ai.usage.input_tokens", 23);
    expect_int(a, "gen_ai.usage.output_tokens", 8);
    expect_int(a, "gen_ai.usage.cache_read.input_tokens", 0);
    expect_int(a, "gen_ai.usage.reasoning.output_tokens", 0);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hello\"}],\"finish_reason\":\"stop\"}]");
    json_decref(a);
}

Test(openai_stream, no_usage_no_done)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    at_llm_status st;
    json_t *a;

    feed(s, CHUNK("\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                  "\"cut\"}}]"));
    a = finish(s, &st);
    cr_expect_eq(st.done, 0);
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.usage.output_tokens");
    expect_absent(a, "gen_ai.response.finish_reasons");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"cut\"}]}]");
    json_decref(a);
}

Test(openai_stream, azure_first_chunk)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    cr_expect_eq(feed(s, "{\"choices\":[],\"created\":0,\"id\":\"\","
                         "\"model\":\"\",\"object\":\"\","
                         "\"prompt_filter_results\":[{\"prompt_index\":0}]}"),
                 0);
    cr_expect_eq(feed(s, "{\"choices\":[{\"content_filter_results\":{},"
                         "\"delta\":{\"content\":\"Why\",\"role\":"
                         "\"assistant\"},\"finish_reason\":null,\"index\":0}],"
                         "\"id\":\"chatcmpl-A\",\"model\":\"gpt-35-turbo\"}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"delta\":{},\"finish_reason\":"
                         "\"stop\",\"index\":0}],\"id\":\"chatcmpl-B\","
                         "\"model\":\"other\"}"),
                 0);
    feed(s, " [DONE] ");
    a = finish(s, NULL);
    expect_str(a, "gen_ai.response.id", "chatcmpl-A");
    expect_str(a, "gen_ai.response.model", "gpt-35-turbo");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    json_decref(a);
}

Test(openai_stream, groq_usage)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    feed(s, "{\"id\":\"c\",\"model\":\"llama3-8b-8192\",\"choices\":["
            "{\"index\":0,\"delta\":{\"content\":\"A\"}}],\"x_groq\":"
            "{\"id\":\"req_1\"}}");
    feed(s, "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},"
            "\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"req_1\","
            "\"usage\":{\"queue_time\":0.28,\"prompt_tokens\":18,"
            "\"completion_tokens\":73,\"total_tokens\":91}}}");
    a = finish(s, NULL);
    expect_int(a, "gen_ai.usage.input_tokens", 18);
    expect_int(a, "gen_ai.usage.output_tokens", 73);
    json_decref(a);
}

Test(openai_stream, mistral_usage_and_padding)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    feed(s, "{\"id\":\"6d\",\"model\":\"mistral-tiny\",\"choices\":["
            "{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":"
            "null}],\"p\":\"abcdef\"}");
    feed(s, "{\"id\":\"6d\",\"model\":\"mistral-tiny\",\"choices\":["
            "{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":"
            "\"stop\"}],\"usage\":{\"prompt_tokens\":11,\"total_tokens\":91,"
            "\"completion_tokens\":80},\"p\":\"abc\"}");
    a = finish(s, NULL);
    expect_int(a, "gen_ai.usage.input_tokens", 11);
    expect_int(a, "gen_ai.usage.output_tokens", 80);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Hi\"}],\"finish_reason\":\"stop\"}]");
    json_decref(a);
}

Test(openai_stream, tool_call_fragments)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    cr_expect_eq(feed(s, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                         "\"assistant\",\"content\":null}}]}"),
                 0);
    cr_expect_eq(feed(s, "{\"choices\":[{\"index\":0,\"delta\":{"
                         "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                         "\"type\":\"function\",\"function\":{\"name\":"
                         "\"get_weather\",\"arguments\":\"\"}}]}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"index\":0,\"delta\":{"
                         "\"tool_calls\":[{\"index\":1,\"id\":\"call_2\","
                         "\"function\":{\"name\":\"get_time\","
                         "\"arguments\":\"{\\\"tz\"}}]}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"index\":0,\"delta\":{"
                         "\"tool_calls\":[{\"index\":0,\"function\":{"
                         "\"arguments\":\"{\\\"\"}}]}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"index\":0,\"delta\":{"
                         "\"tool_calls\":[{\"index\":0,\"function\":{"
                         "\"arguments\":\"city\\\":\\\"Paris\\\"}\"}},"
                         "{\"index\":1,\"function\":{\"arguments\":"
                         "\"\\\":\\\"UTC\\\"}\"}}]}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"index\":0,\"delta\":{"
                         "\"tool_calls\":[{\"index\":0,\"function\":{"
                         "\"arguments\":\"\"}}]}}]}"),
                 0);
    feed(s, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
            "\"tool_calls\"}]}");
    feed(s, "[DONE]");
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"tool_call\",\"id\":\"call_1\",\"name\":"
                "\"get_weather\",\"arguments\":{\"city\":\"Paris\"}},"
                "{\"type\":\"tool_call\",\"id\":\"call_2\",\"name\":"
                "\"get_time\",\"arguments\":{\"tz\":\"UTC\"}}],"
                "\"finish_reason\":\"tool_calls\"}]");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_calls\"]");
    json_decref(a);
}

Test(openai_stream, tool_call_bad_arguments_kept_as_string)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    feed(s, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":["
            "{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\","
            "\"arguments\":\"{\\\"a\\\":\"}}]}}]}");
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":"
                "\"tool_call\",\"id\":\"c\",\"name\":\"f\",\"arguments\":"
                "\"{\\\"a\\\":\"}]}]");
    json_decref(a);
}

Test(openai_stream, tool_calls_without_index)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    feed(s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\","
            "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}");
    feed(s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"b\","
            "\"function\":{\"name\":\"g\","
            "\"arguments\":\"{\\\"x\\\"\"}}]}}]}");
    feed(s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{"
            "\"function\":{\"arguments\":\":1}\"}}]}}]}");
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"tool_call\",\"id\":\"a\",\"name\":\"f\","
                "\"arguments\":{}},"
                "{\"type\":\"tool_call\",\"id\":\"b\",\"name\":\"g\","
                "\"arguments\":{\"x\":1}}]}]");
    json_decref(a);
}

Test(openai_stream, several_choices_interleaved)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    feed(s, "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}}]}");
    feed(s, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}");
    feed(s, "{\"choices\":[{\"index\":2,\"delta\":{\"content\":\"C\"}},"
            "{\"index\":1,\"delta\":{\"content\":\"b\"}}]}");
    feed(s, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
            "\"length\"},{\"index\":1,\"delta\":{},\"finish_reason\":"
            "\"stop\"},{\"index\":2,\"delta\":{},\"finish_reason\":"
            "\"stop\"}]}");
    a = finish(s, NULL);
    expect_json(a, "gen_ai.response.finish_reasons",
                "[\"length\",\"stop\",\"stop\"]");
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"A\"}],\"finish_reason\":\"length\"},"
                "{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Bb\"}],\"finish_reason\":\"stop\"},"
                "{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"C\"}],\"finish_reason\":\"stop\"}]");
    json_decref(a);
}

Test(openai_stream, reasoning_deltas)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    cr_expect_eq(feed(s, "{\"choices\":[{\"delta\":{\"reasoning_content\":"
                         "\"hm\",\"reasoning\":\"hm\"}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"delta\":{\"reasoning\":"
                         "\"m\"}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}"),
                 1);
    cr_expect_eq(feed(s, "{\"choices\":[{\"delta\":{\"refusal\":\"\"}}]}"),
                 0);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":["
                "{\"type\":\"reasoning\",\"content\":\"hmm\"},"
                "{\"type\":\"text\",\"content\":\"ok\"}]}]");
    json_decref(a);
}

Test(openai_stream, error_chunk)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    at_llm_status st;
    json_t *a;

    cr_expect_eq(feed(s, "{\"error\":{\"message\":\"The server had an "
                         "error\",\"type\":\"server_error\",\"code\":null}}"),
                 0);
    a = finish(s, &st);
    cr_expect_str_eq(st.error_type, "server_error");
    cr_expect_str_eq(st.error_message, "The server had an error");
    cr_expect_eq(st.done, 0);
    expect_absent(a, "gen_ai.output.messages");
    json_decref(a);
}

ParameterizedTestParameters(openai_stream, unparseable)
{
    static struct body events[] = {
        {""},
        {"DONE"},
        {"[DONE"},
        {"{"},
        {"[1]"},
        {"null"},
        {"\"x\""},
        {"{\"a\":1"},
        {": comment"},
        {"data: {}"},
        {"{\"choices\":[{\"delta\":{\"content\":"
         "\"\\ud800\"}}]}"},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *ev, openai_stream, unparseable)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    json_t *a;

    cr_expect_eq(feed(s, ev->s), -1, "event '%s'", ev->s);
    /* the stream goes on */
    cr_expect_eq(feed(s, "{\"choices\":[{\"delta\":{\"content\":\"k\"}}]}"),
                 1);
    a = finish(s, NULL);
    expect_json(a, "gen_ai.output.messages",
                "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"k\"}]}]");
    json_decref(a);
}

ParameterizedTestParameters(openai_stream, wrong_types)
{
    static struct body events[] = {
        {"{}"},
        {"{\"choices\":5}"},
        {"{\"choices\":[5,null,[],{\"delta\":5},{\"index\":-1,\"delta\":"
         "{\"content\":\"x\"}},{\"index\":\"0\",\"delta\":{\"content\":5}}]}"},
        {"{\"choices\":[{\"index\":9999999999,\"delta\":"
         "{\"content\":\"x\"}}]}"},
        {"{\"choices\":[{\"delta\":{\"tool_calls\":[5,{\"index\":-2},"
         "{\"index\":0,\"function\":5,\"id\":7}]}}]}"},
        {"{\"choices\":[{\"delta\":{\"tool_calls\":{}}}]}"},
        {"{\"usage\":{\"prompt_tokens\":-1},\"x_groq\":5,\"id\":7}"},
        {"{\"error\":5}"},
        {"{\"choices\":[{\"delta\":{},\"finish_reason\":5}]}"},
    };
    return cr_make_param_array(struct body, events,
                               sizeof(events) / sizeof(events[0]));
}

ParameterizedTest(struct body *ev, openai_stream, wrong_types)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    at_llm_status st;
    json_t *a;
    char *dump;

    cr_expect_eq(feed(s, ev->s), 0, "event '%s'", ev->s);
    a = finish(s, &st);
    expect_absent(a, "gen_ai.usage.input_tokens");
    expect_absent(a, "gen_ai.response.id");
    expect_absent(a, "gen_ai.response.finish_reasons");
    dump = json_dumps(a, 0);
    cr_expect_not_null(dump);
    free(dump);
    json_decref(a);
}

Test(openai_stream, null_and_misuse)
{
    at_llm_stream *s;
    at_llm_status st;
    json_t *a;

    cr_expect_eq(at_llm_stream_event(NULL, "", 0, "{}", 2), -1);
    at_llm_stream_finish(NULL, NULL, &st);
    cr_expect_eq(st.done, 0);
    at_llm_stream_del(NULL);
    s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    cr_expect_eq(at_llm_stream_event(s, NULL, 5, "[DONE]", 6), 0);
    cr_expect_eq(at_llm_stream_event(s, "", 0, NULL, 0), -1);
    feed(s, "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}");
    a = json_object();
    at_llm_stream_finish(s, a, NULL);
    /* a second finish writes nothing more */
    json_object_clear(a);
    at_llm_stream_finish(s, a, &st);
    cr_expect_eq(json_object_size(a), 0);
    cr_expect_eq(st.done, 1);
    at_llm_stream_del(s);
    json_decref(a);
    s = at_llm_stream_new(AT_API_NONE);
    cr_assert_not_null(s);
    cr_expect_eq(feed(s, "{}"), -1);
    at_llm_stream_del(s);
}

Test(openai_stream, many_chunks_are_cheap)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    const json_t *c;
    json_t *a;
    /* fewer under valgrind, which runs this 50 times slower */
    int i, n = getenv("AT_UNDER_VALGRIND") ? 2000 : 20000;

    for (i = 0; i < n; i++)
        cr_assert_eq(feed(s, CHUNK("\"choices\":[{\"index\":0,\"delta\":"
                                   "{\"content\":\"tok \"},"
                                   "\"finish_reason\":null}]")),
                     1);
    feed(s, "[DONE]");
    a = finish(s, NULL);
    c = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(
                                           a, "gen_ai.output.messages"),
                                                      0),
                                       "parts"),
                       0),
        "content");
    cr_expect_eq(json_string_length(c), (size_t)n * 4);
    json_decref(a);
}

Test(openai_stream, text_capped_at_64_mib, .timeout = 120)
{
    if (getenv("AT_UNDER_VALGRIND"))
        cr_skip_test("69 MiB of JSON takes minutes under valgrind");

    const size_t piece = (size_t)1 << 20; /* chars of 3 bytes each */
    const size_t cap = (size_t)64 << 20;
    at_llm_stream *s = at_llm_stream_new(AT_API_OPENAI_CHAT);
    const char *pre = "{\"choices\":[{\"delta\":{\"content\":\"";
    const char *post = "\"}}]}";
    size_t plen = strlen(pre), qlen = strlen(post), n, i;
    char *ev = malloc(plen + piece * 3 + qlen + 1);
    const json_t *c;
    json_t *a;

    cr_assert_not_null(ev);
    memcpy(ev, pre, plen);
    for (i = 0; i < piece; i++)
        memcpy(ev + plen + i * 3, "\xe2\x82\xac", 3); /* EURO SIGN */
    memcpy(ev + plen + piece * 3, post, qlen + 1);
    n = plen + piece * 3 + qlen;
    for (i = 0; i < 23; i++) /* 69 MiB in all */
        cr_assert_eq(at_llm_stream_event(s, "", 0, ev, n), 1);
    free(ev);
    a = finish(s, NULL);
    c = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(
                                           a, "gen_ai.output.messages"),
                                                      0),
                                       "parts"),
                       0),
        "content");
    cr_assert(json_is_string(c));
    /* cut at 64 MiB, then back to a whole character */
    cr_expect_eq(json_string_length(c), cap - cap % 3);
    json_decref(a);
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                        */
/* ------------------------------------------------------------------ */

struct err_case {
    char body[160];
    int rc;
    char type[32];
    char message[32];
};

ParameterizedTestParameters(llm_error, table)
{
    static struct err_case cases[] = {
        {"{\"error\":{\"message\":\"Incorrect API key provided\","
         "\"type\":\"invalid_request_error\",\"param\":null,"
         "\"code\":\"invalid_api_key\"}}",
         0, "invalid_request_error", "Incorrect API key provided"},
        {"{\"error\":{\"message\":\"Rate limit\",\"type\":null,"
         "\"code\":\"rate_limit_exceeded\"}}",
         0, "rate_limit_exceeded", "Rate limit"},
        {"{\"error\":{\"message\":\"x\",\"code\":429}}", 0, "429", "x"},
        {"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
         "\"message\":\"Overloaded\"}}",
         0, "overloaded_error", "Overloaded"},
        {"{\"object\":\"error\",\"message\":\"Invalid model\",\"type\":"
         "\"invalid_model\",\"param\":null,\"code\":\"1500\"}",
         0, "invalid_model", "Invalid model"},
        {"{\"error\":\"Bad gateway\"}", 0, "", "Bad gateway"},
        {"{\"detail\":\"Not Found\"}", 0, "", "Not Found"},
        {"[{\"error\":{\"message\":\"x\"}}]", -1, "", ""},
        {"{\"id\":\"chatcmpl-1\",\"choices\":[]}", -1, "", ""},
        {"{\"type\":\"message\",\"content\":[]}", -1, "", ""},
        {"{\"error\":{}}", -1, "", ""},
        {"{\"error\":{\"type\":5,\"message\":[]}}", -1, "", ""},
        {"<html>502 Bad Gateway</html>", -1, "", ""},
        {"", -1, "", ""},
    };
    return cr_make_param_array(struct err_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct err_case *c, llm_error, table)
{
    at_llm_status st;

    memset(&st, 0x55, sizeof(st));
    cr_expect_eq(at_llm_error_decode(AT_API_OPENAI_CHAT, c->body,
                                     strlen(c->body), &st),
                 c->rc, "%s", c->body);
    cr_expect_str_eq(st.error_type, c->type);
    cr_expect_str_eq(st.error_message, c->message);
    cr_expect_eq(st.done, 0);
}

Test(llm_error, long_message_cut_at_character)
{
    char body[2048];
    at_llm_status st;
    size_t n, i;
    json_t *v;

    n = (size_t)snprintf(body, sizeof(body), "{\"error\":{\"type\":\"");
    for (i = 0; i < 100; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "t");
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\",\"message\":\"");
    for (i = 0; i < 200; i++) /* 400 bytes of two-byte characters */
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc3\xa9");
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}}");
    cr_assert_eq(at_llm_error_decode(AT_API_ANTHROPIC_MESSAGES, body, n,
                                     &st),
                 0);
    cr_expect_eq(strlen(st.error_type), 63);
    cr_expect_eq(strlen(st.error_message), 254); /* not 255: mid-char */
    v = json_string(st.error_message); /* NULL if not valid UTF-8 */
    cr_expect_not_null(v);
    json_decref(v);
    cr_expect_eq(at_llm_error_decode(AT_API_OPENAI_CHAT, body, n, NULL), -1);
    cr_expect_eq(at_llm_error_decode(AT_API_OPENAI_CHAT, NULL, 0, &st), -1);
}

/* ------------------------------------------------------------------ */
/* Cost                                                                */
/* ------------------------------------------------------------------ */

/* cost_of: agenttrace.cost.usd for attrs given as JSON text, or -1. */
static double cost_of(const char *attrs_json)
{
    json_error_t err;
    json_t *a = json_loads(attrs_json, 0, &err);
    double usd = -1;

    cr_assert_not_null(a);
    if (at_llm_cost(a) == 1)
        usd = json_real_value(json_object_get(a, "agenttrace.cost.usd"));
    else
        cr_expect_null(json_object_get(a, "agenttrace.cost.usd"));
    json_decref(a);
    return usd;
}

/* near: |a - b| is tiny. */
static int near(double a, double b)
{
    double d = a - b;

    return d < 1e-12 && d > -1e-12;
}

Test(llm_cost, openai_snapshot_and_cache)
{
    /* gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out per 1M tokens */
    double c = cost_of("{\"gen_ai.response.model\":"
                       "\"gpt-4o-mini-2024-07-18\","
                       "\"gen_ai.usage.input_tokens\":1000000,"
                       "\"gen_ai.usage.cache_read.input_tokens\":400000,"
                       "\"gen_ai.usage.output_tokens\":1000000}");

    cr_expect(near(c, 0.6 * 0.15 + 0.4 * 0.075 + 0.60), "%f", c);
}

Test(llm_cost, longest_prefix_wins)
{
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-4o\","
                           "\"gen_ai.usage.input_tokens\":1000000}"),
                   2.50));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-4o-2024-08-06\","
                           "\"gen_ai.usage.output_tokens\":1000000}"),
                   10.0));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-4.1-nano\","
                           "\"gen_ai.usage.output_tokens\":1000000}"),
                   0.40));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-5-nano\","
                           "\"gen_ai.usage.input_tokens\":1000000,"
                           "\"gen_ai.usage.output_tokens\":1000000}"),
                   0.45));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"o3-mini\","
                           "\"gen_ai.usage.output_tokens\":1000000}"),
                   4.40));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"o4-mini-2025-04-16\","
                           "\"gen_ai.usage.input_tokens\":1000000}"),
                   1.10));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"claude-sonnet-4-5-"
                           "20250929\",\"gen_ai.usage.output_tokens\":"
                           "1000000}"),
                   15.0));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"claude-opus-4-1-"
                           "20250805\",\"gen_ai.usage.output_tokens\":"
                           "1000000}"),
                   75.0));
}

Test(llm_cost, anthropic_cache_write_and_read)
{
    /* claude-3-haiku: 0.25 in, 0.03 read, 0.3125 -> 0.30 write, 1.25 out;
     * input_tokens already includes both cache counts */
    double c = cost_of("{\"gen_ai.response.model\":"
                       "\"claude-3-haiku-20240307\","
                       "\"gen_ai.usage.input_tokens\":3000000,"
                       "\"gen_ai.usage.cache_read.input_tokens\":1000000,"
                       "\"gen_ai.usage.cache_creation.input_tokens\":"
                       "1000000,\"gen_ai.usage.output_tokens\":1000000}");

    cr_expect(near(c, 0.25 + 0.03 + 0.30 + 1.25), "%f", c);
    c = cost_of("{\"gen_ai.response.model\":\"claude-3-5-sonnet-20240620\","
                "\"gen_ai.usage.input_tokens\":1167,"
                "\"gen_ai.usage.cache_creation.input_tokens\":1163,"
                "\"gen_ai.usage.output_tokens\":224}");
    cr_expect(near(c, (4 * 3.0 + 1163 * 3.75 + 224 * 15.0) / 1e6), "%f", c);
}

Test(llm_cost, model_choice_and_misses)
{
    /* the response model wins; the request model is the fallback */
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-4o\","
                           "\"gen_ai.response.model\":\"gpt-4o-mini\","
                           "\"gen_ai.usage.input_tokens\":1000000}"),
                   0.15));
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-4o\","
                           "\"gen_ai.response.model\":\"my-deployment\","
                           "\"gen_ai.usage.input_tokens\":1000000}"),
                   2.50));
    cr_expect(near(cost_of("{\"gen_ai.response.model\":\"openai/gpt-4o\","
                           "\"gen_ai.usage.input_tokens\":1000000}"),
                   2.50));
    cr_expect(near(cost_of("{\"gen_ai.response.model\":\"GPT-4O\","
                           "\"gen_ai.usage.input_tokens\":1000000}"),
                   2.50));
    cr_expect_eq(cost_of("{\"gen_ai.request.model\":\"llama3-8b-8192\","
                         "\"gen_ai.usage.input_tokens\":10}"),
                 -1);
    cr_expect_eq(cost_of("{\"gen_ai.request.model\":\"gpt-4o\"}"), -1);
    cr_expect_eq(cost_of("{\"gen_ai.usage.input_tokens\":10}"), -1);
    cr_expect_eq(cost_of("{\"gen_ai.request.model\":5,"
                         "\"gen_ai.usage.input_tokens\":10}"),
                 -1);
    cr_expect(near(cost_of("{\"gen_ai.request.model\":\"gpt-4o\","
                           "\"gen_ai.usage.input_tokens\":\"x\","
                           "\"gen_ai.usage.output_tokens\":-5}"),
                   0.0));
    cr_expect_eq(at_llm_cost(NULL), 0);
}

Test(llm_cost, from_decoded_response)
{
    json_t *a = req("{\"model\":\"gpt-3.5-turbo\"}");

    cr_assert_eq(at_llm_response_decode(
                     AT_API_OPENAI_CHAT,
                     "{\"model\":\"gpt-3.5-turbo-0125\",\"usage\":{"
                     "\"prompt_tokens\":15,\"completion_tokens\":31}}",
                     strlen("{\"model\":\"gpt-3.5-turbo-0125\",\"usage\":{"
                            "\"prompt_tokens\":15,\"completion_tokens\":"
                            "31}}"),
                     a),
                 0);
    cr_assert_eq(at_llm_cost(a), 1);
    cr_expect(near(json_real_value(json_object_get(a, "agenttrace.cost.usd")),
                   (15 * 0.5 + 31 * 1.5) / 1e6));
    json_decref(a);
}

/* The price of the last model is remembered (per thread): a different
 * model, one differing only in length or case, and one with no price
 * must each still get their own. */
static double memo_cost(const char *model, int *priced)
{
    json_t *a = json_object();
    double usd;

    json_object_set_new(a, "gen_ai.response.model", json_string(model));
    json_object_set_new(a, "gen_ai.usage.input_tokens", json_integer(1000000));
    json_object_set_new(a, "gen_ai.usage.output_tokens", json_integer(0));
    *priced = at_llm_cost(a);
    usd = json_real_value(json_object_get(a, "agenttrace.cost.usd"));
    json_decref(a);
    return usd;
}

Test(llm_cost, remembered_model_never_answers_for_another)
{
    static const struct {
        const char *model;
        int priced;
        double usd; /* a million input tokens */
    } seq[] = {
        {"gpt-4o-mini", 1, 0.15},     {"gpt-4o-mini", 1, 0.15},
        {"gpt-4o", 1, 2.50},          {"gpt-4o-mini", 1, 0.15},
        {"GPT-4O-MINI", 1, 0.15},     {"openai/gpt-4o", 1, 2.50},
        {"llama3.2:1b", 0, 0},        {"llama3.2:1b", 0, 0},
        {"gpt-4o", 1, 2.50},          {"", 0, 0},
        {"gpt-4o-2024-05-13", 1, 5.00}, {"gpt-4o-2024-08-06", 1, 2.50},
    };
    size_t i;

    for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        int priced;
        double usd = memo_cost(seq[i].model, &priced);

        cr_expect_eq(priced, seq[i].priced, "%s", seq[i].model);
        if (seq[i].priced)
            cr_expect(usd > seq[i].usd - 1e-9 && usd < seq[i].usd + 1e-9,
                      "%s: %g, want %g", seq[i].model, usd, seq[i].usd);
    }
}
