/* llm.h - provider API decoders: request/response bodies to span attributes.
 *
 * Runs on the sink thread.  Given the bytes of one HTTP exchange (bodies
 * already de-chunked and decompressed), these functions fill a jansson
 * object with the inference-span attributes of ../shared/SPANS.md:
 * gen_ai.request.*, gen_ai.response.*, gen_ai.usage.*, the content-capture
 * attributes (gen_ai.input.messages, gen_ai.output.messages,
 * gen_ai.system_instructions, gen_ai.tool.definitions) in the GenAI
 * conventions' message shape.  They always produce the content attributes;
 * the caller removes them when content capture is off.
 *
 * No function here trusts its input: invalid JSON, wrong types, missing keys
 * and absurd values are skipped, never fatal.
 */
#ifndef AT_LLM_H
#define AT_LLM_H

#include <stddef.h>
#include <jansson.h>

typedef enum at_api {
    AT_API_NONE = 0,
    AT_API_OPENAI_CHAT,        /* POST .../chat/completions */
    AT_API_ANTHROPIC_MESSAGES  /* POST .../v1/messages */
} at_api;

typedef struct at_llm_route {
    at_api api;
    const char *provider;   /* static: gen_ai.provider.name */
    const char *operation;  /* static: gen_ai.operation.name */
} at_llm_route;

/* at_llm_route_find: decide whether a request is a model API call.
 * `method` and `path` are NUL-terminated; `path` has no query string;
 * `host` is the server name without port (may be NULL or "").  The path
 * decides the API (a suffix match, so "/openai/v1/chat/completions" and
 * "/v1/chat/completions" are both chat completions); the host names the
 * provider where it is known (api.openai.com -> "openai",
 * api.anthropic.com -> "anthropic", api.groq.com -> "groq",
 * api.mistral.ai -> "mistral_ai", api.deepseek.com -> "deepseek",
 * api.x.ai -> "x_ai", *.openai.azure.com -> "azure.ai.openai"); an unknown
 * host is "openai" for the OpenAI shape and "anthropic" for the Messages
 * shape.  Returns 1 and fills *out for a model API call, else 0. */
int at_llm_route_find(const char *method, const char *host, const char *path,
                      at_llm_route *out);

/* at_llm_request_decode: decode a request body.  Sets, when present:
 * gen_ai.request.model, .max_tokens (OpenAI max_tokens or
 * max_completion_tokens), .temperature, .top_p, .seed, .stop_sequences
 * (always an array), gen_ai.request.stream (only when the body asks for a
 * stream), gen_ai.input.messages, gen_ai.system_instructions (Anthropic
 * `system`; OpenAI system messages stay in input.messages with role
 * "system"), gen_ai.tool.definitions.  Returns 0, or -1 when the body is
 * not a JSON object (attrs untouched). */
int at_llm_request_decode(at_api api, const char *body, size_t len,
                          json_t *attrs);

/* at_llm_response_decode: decode a whole (non-streamed) 2xx response body.
 * Sets gen_ai.response.model, .id, gen_ai.usage.* (input includes cached
 * input; see SPANS.md), gen_ai.response.finish_reasons,
 * gen_ai.output.messages (one message per choice, each with
 * "finish_reason").  Returns 0, or -1 when the body is not a JSON object. */
int at_llm_response_decode(at_api api, const char *body, size_t len,
                           json_t *attrs);

/* What a stream or an error body said about failure. */
typedef struct at_llm_status {
    int done;                /* stream: its end marker was seen
                                ([DONE], message_stop) */
    char error_type[64];     /* "" or the provider's error type,
                                e.g. "overloaded_error" */
    char error_message[256]; /* "" or the provider's error message */
} at_llm_status;

/* at_llm_error_decode: read a provider error body (any status >= 400):
 * OpenAI {"error":{"message","type","code"}}, Anthropic
 * {"type":"error","error":{"type","message"}}.  Fills *st (cut to fit,
 * NUL-terminated) and returns 0, or -1 when nothing was recognised (*st is
 * then zeroed). */
int at_llm_error_decode(at_api api, const char *body, size_t len,
                        at_llm_status *st);

/* A streamed response under reassembly. */
typedef struct at_llm_stream at_llm_stream;

/* at_llm_stream_new: NULL on allocation failure. */
at_llm_stream *at_llm_stream_new(at_api api);

/* at_llm_stream_event: feed one SSE event (`event` is the event name, ""
 * when none; `data` the joined data, NUL-terminated).  Returns 1 when the
 * event carried model output (text, reasoning, tool-call name or argument
 * fragment: what time_to_first_chunk measures), 0 for any other event
 * (metadata, ping, usage, [DONE]), -1 for an event that could not be
 * parsed (it is skipped; the stream goes on). */
int at_llm_stream_event(at_llm_stream *s, const char *event,
                        size_t event_len, const char *data, size_t data_len);

/* at_llm_stream_finish: write what the stream said into attrs, the same
 * attributes as at_llm_response_decode (output reassembled into whole
 * messages, tool-call arguments joined per call and parsed as JSON when they
 * are valid JSON, else kept as a string), and fill *st (done flag; an
 * Anthropic `error` event's type and message).  May be called once. */
void at_llm_stream_finish(at_llm_stream *s, json_t *attrs, at_llm_status *st);

/* at_llm_stream_del: free (NULL is fine). */
void at_llm_stream_del(at_llm_stream *s);

/* at_llm_cost: when attrs hold a model (gen_ai.response.model, else
 * gen_ai.request.model) found in the built-in price table and usage, set
 * agenttrace.cost.usd (US dollars, cached input and cache writes priced as
 * the provider prices them).  Returns 1 when set, else 0. */
int at_llm_cost(json_t *attrs);

#endif
