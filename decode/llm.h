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
 * APIs: OpenAI Chat Completions, Responses, legacy Completions and
 * Embeddings (also as served by Azure OpenAI, Groq, Mistral, DeepSeek,
 * xAI, OpenRouter, Together and any compatible server), Anthropic Messages,
 * Google Gemini generateContent and embedContent (AI Studio and Vertex
 * AI), Ollama's native /api/chat, /api/generate and /api/embed.  Not
 * Cohere's native API, not AWS Bedrock.
 *
 * No function here trusts its input: invalid JSON, wrong types, missing keys
 * and absurd values are skipped, never fatal.
 */
#ifndef AT_LLM_H
#define AT_LLM_H

#include <stddef.h>
#include <jansson.h>

#include "attrs.h"

typedef enum at_api {
    AT_API_NONE = 0,
    AT_API_OPENAI_CHAT,        /* POST .../chat/completions */
    AT_API_ANTHROPIC_MESSAGES, /* POST .../v1/messages */
    AT_API_OPENAI_RESPONSES,   /* POST .../v1/responses (OpenAI Responses) */
    AT_API_OPENAI_COMPLETIONS, /* POST .../v1/completions (legacy) */
    AT_API_OPENAI_EMBEDDINGS,  /* POST .../v1/embeddings */
    AT_API_GEMINI_GENERATE,    /* POST .../models/{model}:generateContent
                                  and :streamGenerateContent */
    AT_API_GEMINI_EMBED,       /* POST .../models/{model}:embedContent and
                                  :batchEmbedContents */
    AT_API_OLLAMA_CHAT,        /* POST .../api/chat */
    AT_API_OLLAMA_GENERATE,    /* POST .../api/generate */
    AT_API_OLLAMA_EMBED        /* POST .../api/embed, .../api/embeddings */
} at_api;

/* Room for a model name taken from a URL path, NUL included. */
#define AT_LLM_MODEL_MAX 128

typedef struct at_llm_route {
    at_api api;
    const char *provider;   /* static: gen_ai.provider.name */
    const char *operation;  /* static: gen_ai.operation.name */
    int stream;             /* 1 when the path itself asks for a stream
                               (Gemini :streamGenerateContent) */
    char model[AT_LLM_MODEL_MAX]; /* the model the path names, URL-decoded
                               and cut to fit: Gemini and Vertex AI
                               .../models/{model}:..., Azure OpenAI
                               .../deployments/{deployment}/...; "" when
                               the path names none */
} at_llm_route;

/* at_llm_route_find: decide whether a request is a model API call.
 * `method` and `path` are NUL-terminated; `path` has no query string (one
 * is tolerated and ignored, as is a "#fragment"); `host` is the server
 * name, without port or with a ":port" (may be NULL or "").
 *
 * The path decides the API (suffix matches, so "/openai/v1/chat/completions"
 * and "/v1/chat/completions" are both chat completions):
 *   path                                   API, gen_ai.operation.name
 *   .../chat/completions                   OpenAI chat, chat
 *   .../v1/messages                        Anthropic, chat
 *   .../v1/responses, .../openai/responses OpenAI Responses, chat
 *   .../v1/completions,
 *   .../deployments/{d}/completions        legacy, text_completion
 *   .../v1/embeddings, .../openai/embeddings,
 *   .../deployments/{d}/embeddings         OpenAI, embeddings
 *   .../models/{m}:generateContent,
 *   .../models/{m}:streamGenerateContent   Gemini, generate_content
 *   .../models/{m}:embedContent,
 *   .../models/{m}:batchEmbedContents      Gemini, embeddings
 *   .../api/chat                           Ollama, chat
 *   .../api/generate                       Ollama, text_completion
 *   .../api/embed, .../api/embeddings      Ollama, embeddings
 * ("tunedModels/{m}" works as "models/{m}" does.)
 *
 * The host names the provider where it is known (api.openai.com "openai",
 * api.anthropic.com "anthropic", api.groq.com "groq", api.mistral.ai
 * "mistral_ai", api.deepseek.com "deepseek", api.x.ai "x_ai",
 * openrouter.ai "openrouter", api.together.xyz and api.together.ai
 * "together_ai", *.openai.azure.com and *.cognitiveservices.azure.com
 * "azure.ai.openai", generativelanguage.googleapis.com "gcp.gemini",
 * aiplatform.googleapis.com and {region}-aiplatform.googleapis.com
 * "gcp.vertex_ai"; any host with port 11434, Ollama's, "ollama").  Otherwise
 * the shape decides: "openai" for the OpenAI shapes, "anthropic" for
 * Messages, "gcp.gemini" for Gemini paths ("gcp.vertex_ai" when the path
 * has "/publishers/google/"), and "ollama" for the Ollama paths whatever
 * the host (Ollama is reached by many names: localhost, a LAN address, a
 * container name, ollama.com, proxies; so a non-Ollama server whose own
 * JSON API uses POST /api/chat is taken for one).
 *
 * Returns 1 and fills *out for a model API call, else 0 (*out is then
 * zeroed, api AT_API_NONE). */
int at_llm_route_find(const char *method, const char *host, const char *path,
                      at_llm_route *out);

/* at_llm_request_decode: decode a request body of the API `route->api`.
 * Sets, when present: gen_ai.request.model, .max_tokens (OpenAI max_tokens
 * or max_completion_tokens, Responses max_output_tokens, Gemini
 * maxOutputTokens, Ollama options.num_predict), .temperature, .top_p,
 * .top_k, .seed, .stop_sequences (always an array), gen_ai.request.stream
 * (only when the body asks for a stream; for Ollama also when it leaves
 * "stream" out, as Ollama then streams), gen_ai.input.messages,
 * gen_ai.system_instructions (Anthropic `system`, Responses
 * `instructions`, Gemini `systemInstruction`, Ollama generate `system`;
 * OpenAI system messages stay in input.messages with role "system"),
 * gen_ai.tool.definitions; for embeddings gen_ai.request.encoding_formats
 * and gen_ai.embeddings.dimension.count when the request asks for a size,
 * and the inputs as one user message.
 * From the route: when the body names no model, route->model (the Gemini
 * model, the Azure deployment) is gen_ai.request.model; route->stream sets
 * gen_ai.request.stream.  Those two are set even when the body is not
 * JSON.  Returns 0, or -1 when `route` or `attrs` is NULL, the API is not
 * one decoded here, or the body is not a JSON object (attrs then holds at
 * most the route's two facts). */
int at_llm_request_decode(const at_llm_route *route, const char *body,
                          size_t len, json_t *attrs);

/* at_llm_response_decode: decode a whole (non-streamed) 2xx response body.
 * Sets gen_ai.response.model, .id, gen_ai.usage.* (input includes cached
 * input, output includes reasoning; see SPANS.md),
 * gen_ai.response.finish_reasons, gen_ai.output.messages (one message per
 * choice or candidate, each with "finish_reason"; embeddings have none, but
 * gen_ai.embeddings.dimension.count).  A Responses API body's `status`
 * ("completed", "incomplete", "failed") is its finish reason.  A Gemini
 * body may also be the JSON array :streamGenerateContent sends without
 * alt=sse: its chunks are merged (text joined per candidate, the last
 * usage).  An Ollama body may also be a whole NDJSON stream (kept as a
 * body rather than fed line by line): its lines are merged the same way.
 * Returns 0, or -1 when the body is not a JSON object (nor such an array,
 * nor NDJSON with at least one JSON object line). */
int at_llm_response_decode(at_api api, const char *body, size_t len,
                           json_t *attrs);

/* The same two, into a flat list (attrs.h): what the sink uses.  The
 * jansson functions above are these, with the list set into attrs
 * (json_object_update) at the end. */
int at_llm_request_decode_list(const at_llm_route *route, const char *body,
                               size_t len, at_attrs *list);
int at_llm_response_decode_list(at_api api, const char *body, size_t len,
                                at_attrs *list);

/* What a stream or an error body said about failure. */
typedef struct at_llm_status {
    int done;                /* stream: its end marker was seen
                                ([DONE], message_stop, Responses
                                response.completed/incomplete/failed,
                                Ollama done:true; Gemini, which has
                                none: a finishReason) */
    char error_type[64];     /* "" or the provider's error type,
                                e.g. "overloaded_error" */
    char error_message[256]; /* "" or the provider's error message */
} at_llm_status;

/* at_llm_error_decode: read a provider error body (any status >= 400):
 * OpenAI {"error":{"message","type","code"}}, Anthropic
 * {"type":"error","error":{"type","message"}}, Gemini
 * {"error":{"code","message","status"}} (for AT_API_GEMINI_* also inside
 * the one-element array a non-SSE stream sends), Ollama {"error":"..."}.
 * Fills *st (cut to fit, NUL-terminated) and returns 0, or -1 when nothing
 * was recognised (*st is then zeroed). */
int at_llm_error_decode(at_api api, const char *body, size_t len,
                        at_llm_status *st);

/* A streamed response under reassembly. */
typedef struct at_llm_stream at_llm_stream;

/* at_llm_stream_new: NULL on allocation failure. */
at_llm_stream *at_llm_stream_new(at_api api);

/* at_llm_stream_event: feed one SSE event (`event` is the event name, ""
 * when none; `data` the joined data, NUL-terminated), or, for the Ollama
 * APIs, whose streams are NDJSON (application/x-ndjson), one line with
 * `event` "" (see ndjson.h for cutting a body into lines).  Gemini SSE
 * events (alt=sse) carry one GenerateContentResponse each.  Returns 1 when
 * the event carried model output (text, reasoning, tool-call name or
 * argument fragment: what time_to_first_chunk measures), 0 for any other
 * event (metadata, ping, usage, [DONE]), -1 for an event that could not be
 * parsed (it is skipped; the stream goes on) or a stream of an API that
 * does not stream (embeddings). */
int at_llm_stream_event(at_llm_stream *s, const char *event,
                        size_t event_len, const char *data, size_t data_len);

/* at_llm_stream_finish: write what the stream said into attrs, the same
 * attributes as at_llm_response_decode (output reassembled into whole
 * messages, tool-call arguments joined per call and parsed as JSON when they
 * are valid JSON, else kept as a string), and fill *st (done flag; the
 * type and message of an error the stream reported: an Anthropic `error`
 * event, a Responses `error` or `response.failed` event, an OpenAI, Gemini
 * or Ollama chunk with an "error" member).  May be called once. */
void at_llm_stream_finish(at_llm_stream *s, json_t *attrs, at_llm_status *st);

/* at_llm_stream_finish_list: the same into a flat list. */
void at_llm_stream_finish_list(at_llm_stream *s, at_attrs *list,
                               at_llm_status *st);

/* at_llm_stream_del: free (NULL is fine). */
void at_llm_stream_del(at_llm_stream *s);

/* at_llm_body_shapes_free: forget the shapes of bodies this thread kept
 * (the decoders keep the last few to compare bodies of the same shape
 * with instead of scanning them); for a thread about to end. */
void at_llm_body_shapes_free(void);

/* at_llm_cost: when attrs hold a model (gen_ai.response.model, else
 * gen_ai.request.model) found in the built-in price table and usage, set
 * agenttrace.cost.usd (US dollars, cached input and cache writes priced as
 * the provider prices them).  Returns 1 when set, else 0. */
int at_llm_cost(json_t *attrs);

/* at_llm_cost_list: at_llm_cost on a flat list. */
int at_llm_cost_list(at_attrs *list);

#endif
