/* llm_int.h - private to decode/llm.c and the provider files (openai.c,
 * anthropic.c, responses.c, gemini.c, ollama.c): the
 * state of a stream under reassembly, the usage record, and the small JSON
 * helpers the provider decoders share.
 *
 * Runs on the sink thread only (everything here allocates).  Nothing in
 * this header is part of the module's API; see llm.h for that.
 */
#ifndef AT_LLM_INT_H
#define AT_LLM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "jscan.h"
#include "llm.h"

/* Each accumulated string of a stream (a choice's text, a tool call's
 * arguments...) is cut at this many bytes. */
#define AT_LLM_TEXT_MAX ((size_t)64 << 20)

/* A stream keeps at most this many choices, and this many parts per
 * choice; anything beyond is ignored, so hostile input stays bounded. */
#define AT_LLM_MAX_CHOICES 256
#define AT_LLM_MAX_PARTS 4096

/* What an output part holds. */
typedef enum at_llm_part_kind {
    AT_PART_TEXT = 0,  /* {"type":"text","content"} */
    AT_PART_REASONING, /* {"type":"reasoning","content"} */
    AT_PART_REFUSAL,   /* {"type":"refusal","content"} (OpenAI) */
    AT_PART_TOOL_CALL, /* {"type":"tool_call","id","name","arguments"} */
    AT_PART_OTHER      /* {"type":<type>}: a block we do not look into */
} at_llm_part_kind;

/* One part of a streamed output message.  `key` tells parts of one choice
 * apart: the Anthropic content block index, the OpenAI tool call index
 * (text, reasoning and refusal use fixed keys). */
typedef struct at_llm_part {
    at_llm_part_kind kind;
    long key;
    at_buf text;   /* content, reasoning, or tool-call arguments */
    char *id;      /* tool call id, or NULL */
    char *name;    /* tool name, or NULL */
    char *type;    /* AT_PART_OTHER: the block's type, or NULL */
    json_t *input; /* Anthropic tool_use: `input` of content_block_start,
                      used when no argument fragment arrives; or NULL */
} at_llm_part;

/* One streamed choice (Anthropic streams have a single one, index 0). */
typedef struct at_llm_choice {
    long index;
    char *finish_reason; /* NULL until the provider says */
    at_llm_part *parts;
    size_t nparts;
    size_t cap;
} at_llm_choice;

/* Token counts as reported; -1 when not reported.  `cache_apart` is set
 * when the provider reports cached input apart from `input` (Anthropic):
 * gen_ai.usage.input_tokens is then the sum of the three.
 * `reasoning_apart` is set when the provider reports reasoning apart from
 * `output` (Gemini's thoughtsTokenCount beside candidatesTokenCount):
 * gen_ai.usage.output_tokens is then the sum of the two. */
typedef struct at_llm_usage {
    int64_t input;
    int64_t output;
    int64_t cache_read;
    int64_t cache_creation;
    int64_t reasoning;
    int cache_apart;
    int reasoning_apart;
} at_llm_usage;

/* The stream under reassembly (opaque in llm.h). */
struct at_llm_stream {
    at_api api;
    char *id;               /* first non-empty response id, or NULL */
    char *model;            /* first non-empty response model, or NULL */
    at_llm_usage usage;
    at_llm_choice *choices; /* sorted by index */
    size_t nchoices;
    size_t cap;
    at_llm_status st;
    int finished;           /* at_llm_stream_finish was called */
    at_js_shape shape;      /* the last chunk scanned whole (fast paths) */
    void *fast;             /* a fast path's own memory (free()d) */
};

/* at_llm_scan_chunk: at_js_doc for one chunk of stream s, done as
 * at_js_redoc against the last chunk that had to be scanned whole when it
 * has that chunk's shape (a token stream's chunks mostly have).  Sets
 * doc->gen to s->shape.gen when the chunk has the kept shape with the same
 * keys (then any walk of it by keys and kinds goes as it went on the kept
 * chunk), else to 0. */
int at_llm_scan_chunk(at_llm_stream *s, const char *p, size_t n,
                      at_js_tok *tok, uint32_t cap, at_js_doc_t *doc,
                      at_js *out);

/* at_llm_scan_new: the second half of at_llm_scan_chunk, for a caller
 * that compared the chunk with the kept shape itself (at_js_rescan) and
 * found it a new shape: at_js_doc, and the chunk kept as the shape. */
int at_llm_scan_new(at_llm_stream *s, const char *p, size_t n,
                    at_js_tok *tok, uint32_t cap, at_js_doc_t *doc,
                    at_js *out);

/* at_llm_tree: the jansson value of a scanned value (as at_llm_parse of
 * its text would make it); NULL for an absent value or on allocation
 * failure. */
json_t *at_llm_tree(at_js v);

/* at_llm_number: number value v as at_llm_tree reads it: 1 and *i for an
 * integer, 2 and *r for a real, -1 when it cannot be read (too long, no C
 * locale). */
int at_llm_number(at_js v, int64_t *i, double *r);

/* Tests turn the scanner off (at_llm_parse reads with jansson then). */
extern int at_llm_scan_off;

/* at_llm_parse: parse `n` bytes as any JSON value (NUL escapes allowed; an
 * integer too big for 64 bits makes the whole text parse again with
 * integers read as reals).  Returns a new reference, or NULL for invalid
 * JSON, a NULL `p`, or allocation failure. */
json_t *at_llm_parse(const char *p, size_t n);

/* at_llm_str: the value of string member `key` of `obj`, or NULL when obj
 * is not an object or the member is missing or not a string. */
const char *at_llm_str(const json_t *obj, const char *key);

/* at_llm_count: a token count: a non-negative integer, or a non-negative
 * integral real below 2^53 (as integers read as reals are).  Stores it in
 * *out and returns 1, else returns 0 and leaves *out alone. */
int at_llm_count(const json_t *v, int64_t *out);

/* at_llm_stringn: a new JSON string of `n` bytes of `p`, cutting an
 * incomplete UTF-8 sequence at the end (left by a cap).  Never NULL except
 * on allocation failure; invalid UTF-8 elsewhere gives "". */
json_t *at_llm_stringn(const char *p, size_t n);

/* at_llm_args: tool-call arguments: the JSON value `n` bytes of `p` hold
 * when they are valid JSON, else those bytes as a string.  NULL only on
 * allocation failure. */
json_t *at_llm_args(const char *p, size_t n);


/* at_llm_part_content: a new part {"type":type,"content":content}; takes
 * a new reference to `content`.  NULL on allocation failure. */
json_t *at_llm_part_content(const char *type, json_t *content);

/* at_llm_part_type: a new part {"type":type}.  NULL on allocation
 * failure. */
json_t *at_llm_part_type(const char *type);

/* at_llm_joined_text: a new JSON string holding the "text" members of the
 * blocks of array `blocks`, in order, with nothing between them (blocks
 * without text are skipped).  NULL when `blocks` is not an array or on
 * allocation failure. */
json_t *at_llm_joined_text(const json_t *blocks);

/* at_llm_tool_result_part: a new {"type":"tool_call_response","id",
 * "response"} part from object `o` whose call id is member `id_key` and
 * whose result is member `resp_key`: as sent when a scalar or object, the
 * joined text of a block array, "" when absent (Anthropic tool_result
 * blocks, Responses function_call_output items).  NULL when out of
 * memory. */
json_t *at_llm_tool_result_part(const json_t *o, const char *id_key,
                                const char *resp_key);

/* at_llm_message: a new message {"role":role,"parts":parts}; steals the
 * reference to `parts`.  NULL on allocation failure (parts is freed). */
json_t *at_llm_message(const char *role, json_t *parts);

/* at_llm_request_params: set the request parameters both APIs spell the
 * same way: gen_ai.request.model, .max_tokens (`max_tokens`), .temperature,
 * .top_p, .stream (only when true).  Missing or ill-typed members are
 * skipped. */
void at_llm_request_params(const json_t *root, json_t *attrs);

/* at_llm_set_string: set attrs[key] to the string member `member` of
 * `obj` when that is a non-empty string. */
void at_llm_set_string(json_t *attrs, const char *key, const json_t *obj,
                       const char *member);

/* at_llm_set_real: attrs[key] = v as a real when v is a number. */
void at_llm_set_real(json_t *attrs, const char *key, const json_t *v);

/* at_llm_set_count: attrs[key] = v when v is a count (at_llm_count). */
void at_llm_set_count(json_t *attrs, const char *key, const json_t *v);

/* at_llm_set_int: attrs[key] = v when v is an integer (any sign: a
 * seed). */
void at_llm_set_int(json_t *attrs, const char *key, const json_t *v);

/* at_llm_set_stop: gen_ai.request.stop_sequences from `v`: a string
 * becomes a one-element array, an array keeps its strings; anything else
 * sets nothing. */
void at_llm_set_stop(json_t *attrs, const json_t *v);

/* at_llm_add_text: append {"type":type,"content":v} to `parts` when v is a
 * non-empty string.  Returns 1 when appended. */
int at_llm_add_text(json_t *parts, const char *type, const json_t *v);

/* at_llm_embedding_dims: set gen_ai.embeddings.dimension.count from one
 * embedding vector: a JSON array (its length), or a base64 string of
 * little-endian float32 values (decoded length / 4).  Nothing for any
 * other value or an empty vector. */
void at_llm_embedding_dims(json_t *attrs, const json_t *vec);

/* at_llm_choice_reason: make `fr` (a non-empty string) the choice's
 * finish reason, replacing an earlier one.  Anything else changes
 * nothing. */
void at_llm_choice_reason(at_llm_choice *c, const json_t *fr);
/* the same for a scanned value: 1 when it was a reason */
int at_llm_choice_reason_js(at_llm_choice *c, at_js fr);

/* at_llm_choice_tools: how many tool-call parts choice `c` holds. */
long at_llm_choice_tools(const at_llm_choice *c);

/* at_llm_part_set_text: make the part's text exactly `n` bytes of `p`
 * (cut at AT_LLM_TEXT_MAX). */
void at_llm_part_set_text(at_llm_part *p, const char *data, size_t n);

/* at_llm_stream_status: the error an object reports ({"error":...} in any
 * provider's shape) into s->st; nothing when it reports none. */
void at_llm_stream_status(at_llm_stream *s, const json_t *root);

/* at_llm_usage_init: all counts "not reported". */
void at_llm_usage_init(at_llm_usage *u);

/* at_llm_usage_emit: set the gen_ai.usage.* attributes that `u` holds. */
void at_llm_usage_emit(const at_llm_usage *u, json_t *attrs);

/* at_llm_usage_emit_list: the same into a flat list (as integers). */
void at_llm_usage_emit_list(const at_llm_usage *u, at_attrs *list);

/* at_llm_error_fill: recognise an error object (OpenAI `{"error":{...}}`,
 * Anthropic `{"type":"error","error":{...}}`, Mistral's flat
 * `{"object":"error","message",...}`) and fill st->error_type and
 * st->error_message.  Returns 0 when something was found, else -1 (st is
 * then unchanged). */
int at_llm_error_fill(const json_t *root, at_llm_status *st);

/* at_llm_keep: when *dst is NULL and `src` is a non-empty string, make *dst
 * a copy of it.  Allocation failure leaves *dst NULL. */
void at_llm_keep(char **dst, const json_t *src);
/* at_llm_keep_js: at_llm_keep for a scanned value */
void at_llm_keep_js(char **dst, at_js v);

/* at_llm_stream_choice: the stream's choice of this index, created (in
 * index order) when missing.  NULL when AT_LLM_MAX_CHOICES are already
 * held, or on allocation failure. */
at_llm_choice *at_llm_stream_choice(at_llm_stream *s, long index);

/* at_llm_choice_part: the part of `c` with this kind and key; when missing
 * and `create` is set, a new empty part appended to `c`.  NULL when not
 * found and not created (cap reached, allocation failure). */
at_llm_part *at_llm_choice_part(at_llm_choice *c, at_llm_part_kind kind,
                                long key, int create);

/* at_llm_part_append: append `n` bytes to the part's text (cut at
 * AT_LLM_TEXT_MAX).  Returns 1 when n > 0, else 0: "this was output". */
int at_llm_part_append(at_llm_part *p, const char *data, size_t n);

/* at_llm_part_append_str: as at_llm_part_append with a JSON string (any
 * other value appends nothing and returns 0). */
int at_llm_part_append_str(at_llm_part *p, const json_t *str);
/* at_llm_part_append_js: the same with a scanned value (decoded): 1 when
 * it added bytes */
int at_llm_part_append_js(at_llm_part *p, at_js v);

/* Provider decoders: the root is a JSON object (a Gemini response may also
 * be an array); they fill attrs.  Stream event functions return what
 * at_llm_stream_event returns. */

/* openai.c: Chat Completions, legacy Completions and Embeddings. */
void at_openai_request(const json_t *root, json_t *attrs);
void at_openai_response(const json_t *root, json_t *attrs);
int at_openai_request_fast(at_js root, at_attrs *list);
int at_openai_response_fast(at_js root, at_attrs *list);
int at_anthropic_request_fast(at_js root, at_attrs *list);
int at_anthropic_response_fast(at_js root, at_attrs *list);
int at_responses_request_fast(at_js root, at_attrs *list);
int at_gemini_request_fast(at_js root, at_attrs *list);
int at_ollama_request_fast(at_js root, at_attrs *list);
int at_responses_response_fast(at_js root, at_attrs *list);
int at_openai_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len);
void at_openai_completions_request(const json_t *root, json_t *attrs);
void at_openai_completions_response(const json_t *root, json_t *attrs);
void at_openai_embeddings_request(const json_t *root, json_t *attrs);
void at_openai_embeddings_response(const json_t *root, json_t *attrs);

/* anthropic.c: Messages. */
void at_anthropic_request(const json_t *root, json_t *attrs);
void at_anthropic_response(const json_t *root, json_t *attrs);
int at_anthropic_stream_event(at_llm_stream *s, const char *event,
                              size_t event_len, const char *data,
                              size_t data_len);

/* responses.c: OpenAI Responses. */
void at_responses_request(const json_t *root, json_t *attrs);
void at_responses_response(const json_t *root, json_t *attrs);
int at_responses_stream_event(at_llm_stream *s, const char *event,
                              size_t event_len, const char *data,
                              size_t data_len);

/* gemini.c: generateContent / streamGenerateContent, embedContent /
 * batchEmbedContents. */
void at_gemini_request(const json_t *root, json_t *attrs);
void at_gemini_response(const json_t *root, json_t *attrs);
/* the same from the scanner's tokens (a reply of one object), into the
 * list: 0 when it is the tree's to read, with nothing set */
int at_gemini_response_fast(at_js root, at_attrs *list);
int at_gemini_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len);
void at_gemini_embed_request(const json_t *root, json_t *attrs);
void at_gemini_embed_response(const json_t *root, json_t *attrs);

/* ollama.c: /api/chat, /api/generate (one function for both: the body
 * tells them apart), /api/embed and /api/embeddings. */
void at_ollama_request(const json_t *root, json_t *attrs);
void at_ollama_response(const json_t *root, json_t *attrs);
int at_ollama_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len);
void at_ollama_embed_request(const json_t *root, json_t *attrs);
void at_ollama_embed_response(const json_t *root, json_t *attrs);

#endif
