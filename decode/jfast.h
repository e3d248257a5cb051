/* jfast.h - span attributes written straight from the scanner's tokens
 * (decode/jscan.h), for the decoders' readings of whole bodies without a
 * tree: what each writes is what the tree decoders would set, byte for
 * byte, as the span line holds it (the tests compare both).  Sink thread
 * only. */
#ifndef AT_JFAST_H
#define AT_JFAST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "buf.h"
#include "jmemo.h"
#include "jscan.h"
#include "llm_int.h"
#include "sink/jw.h"

/* at_jf_word: a string slice without escapes, copied NUL-terminated into
 * buf (as at_llm_str would give it); 0 when it is not one or too long. */
int at_jf_word(at_js v, char *buf, size_t cap);

/* at_jf_name: at_jf_word for an optional member: 1 when read; 0 when v is
 * absent or not a string (buf ""); -1 for a string only the tree reads
 * (escapes, or too long). */
int at_jf_name(at_js v, char *buf, size_t cap);

/* Room for a string's decoded bytes: on the stack when they are few (a
 * tool call's arguments, an id), else allocated. */
typedef struct at_jf_tmp {
    at_buf b;
    char small[256];
} at_jf_tmp;

/* at_jf_bytes: the bytes string slice v holds, and their number in *n:
 * inside the slice when it has no escape, else decoded into t
 * (at_jf_tmp_free it either way).  NULL when t could not hold them. */
const char *at_jf_bytes(at_js v, at_jf_tmp *t, size_t *n);
static inline void at_jf_tmp_free(at_jf_tmp *t)
{
    at_buf_free(&t->b);
}

/* at_jf_str: string slice v as at_jw_jstr writes the bytes it holds.
 * -1 (b marked truncated, so that what holds it is dropped) when they
 * could not be decoded for want of memory. */
int at_jf_str(at_buf *b, at_js v);

/* at_jf_write_js: scanned value v written as at_jw_value(at_llm_tree(v))
 * would write it, without the tree.  Returns 0, or -1 (something may be
 * written: the caller drops it) where the two could differ (a key given
 * twice, a number too long to read): the caller then takes the tree. */
int at_jf_write_js(at_buf *b, at_js v);

/* at_jf_write_args: at_jw_value(at_llm_args(p, n)) without the tree, or
 * -1 (something may be written) when the scanner does not read p, or
 * reads it where at_jf_write_js could differ: the caller then takes the
 * tree. */
int at_jf_write_args(at_buf *b, const char *p, size_t n);

/* at_jf_sep: the comma before an element of an array or object being
 * written, unless it is the first (*first, which it clears). */
static inline void at_jf_sep(at_buf *b, int *first)
{
    if (!*first)
        AT_JW_LIT(b, ",");
    *first = 0;
}

/* at_jf_message_open: `{"role":<role>,"parts":[`, a message being
 * written, after a comma unless *first. */
void at_jf_message_open(at_buf *b, const char *role, int *first);

/* at_jf_mark_response: the message being marked holds a
 * tool_call_response part whose id's text is b[off..b->len) (none when
 * empty): the mark keeps the id while that is its only such part. */
static inline void at_jf_mark_response(at_attr_mark *mk, const at_buf *b,
                                       size_t off)
{
    mk->id_len = mk->responses ? 0 : b->len - off;
    mk->id_off = off;
    mk->responses = 1;
}

/* at_jf_response_open: `{"type":"tool_call_response"` and `,"id":<id>`
 * when id is a string; the message marked (at_jf_mark_response).
 * at_jf_response_close: `,"response":` and the result's value
 * (at_llm_tool_result_part's way: a list of blocks as their joined text,
 * another value as it is; absent or null, "" when `empty`, else no
 * response at all), and `}`; -1 where the tree must judge it. */
void at_jf_response_open(at_buf *b, at_js id, at_attr_mark *mk);
int at_jf_response_close(at_buf *b, at_js v, int empty);

/* at_jf_part: {"type":<type>,"content":<string v>}, after a comma unless
 * *first (at_llm_part_content with a string). */
void at_jf_part(at_buf *b, const char *type, at_js v, int *first);

/* at_jf_text_part: at_jf_part when v is a non-empty string (at_llm_add_text,
 * with `first` by value); 1 when written. */
int at_jf_text_part(at_buf *b, const char *type, at_js v, int first);

/* at_jf_member: the value of the last member `key` of object slice o (as
 * json_object_get would find it), absent when o is not an object. */
at_js at_jf_member(at_js o, const char *key, size_t n);
#define AT_JF_MEMBER(o, lit) at_jf_member(o, lit, sizeof(lit) - 1)

/* at_jf_set_string: at_llm_set_string for a slice (a non-empty string). */
void at_jf_set_string(at_attrs *list, const char *key, at_js v);

/* at_jf_count: at_llm_count for a slice: 1 (and *out) for an integer of 0
 * or more, 0 for anything else but a number, -1 for a number the tree
 * reads as a real (a fraction or an exponent: the caller's tree judges).
 * at_jf_count_value: the same with the real read from its tree; 1 and
 * *out, or 0. */
int at_jf_count(at_js v, int64_t *out);
int at_jf_count_value(at_js v, int64_t *out);

/* at_jf_real: at_llm_set_real for a slice: a number, as a real. */
void at_jf_real(at_attrs *list, const char *key, at_js v);

/* The members at_llm_request_params reads, the last of each: a decoder's
 * member loop offers each key to at_jf_param (1 when it was one of them),
 * then at_jf_params_set sets what at_llm_request_params would. */
typedef struct at_jf_params {
    at_js model, max_tokens, temperature, top_p, stream;
} at_jf_params;
int at_jf_param(at_jf_params *p, at_js key, at_js v);
void at_jf_params_set(const at_jf_params *p, at_attrs *list);

/* at_jf_args: `,"arguments":` and a tool call's arguments, unless absent
 * or null: a string as the JSON it holds (at_llm_args), any other value
 * as it is.  0, or -1 where the tree must judge them. */
int at_jf_args(at_buf *b, at_js args);

/* at_jf_joined: at_llm_joined_text of an array slice, as a JSON string;
 * -1 past AT_LLM_TEXT_MAX (the tree cuts it). */
int at_jf_joined(at_buf *b, at_js blocks);

/* at_jf_definition: {"type":<type>,"name":..,"description":..,
 * "parameters":..} of a tool definition, name and description when
 * strings, parameters when present and not null; after a comma unless
 * *first.  0, or -1 where the tree must judge the parameters. */
int at_jf_definition(at_buf *b, const char *type, at_js name, at_js desc,
                     at_js params, int *first);

/* at_jf_definitions: gen_ai.tool.definitions of a `tools` array slice
 * whose entries hold their name, description and parameters (under
 * `params_key`) at the top level: type_of gets at_jf_name's answer for an
 * entry's "type" (r) and the type read (ty), leaves in ty the type to
 * write, and returns 1 to keep its description and parameters, 0 to leave
 * them out, -1 for the tree.  1 when set (or tools is not an array), 0
 * when the tree must make it (nothing set). */
int at_jf_definitions(at_js tools, at_attrs *list, const char *params_key,
                      int (*type_of)(int r, char ty[64]));

/* at_jf_strings_set: attribute `key`, an array of the strings of array
 * slice v (at_llm_set_stop's way with an array). */
void at_jf_strings_set(at_attrs *list, const char *key, at_js v);

/* at_jf_reply: what a reply's decoder sets, in the tree decoders' order:
 * gen_ai.response.id and .model (when non-empty strings), the usage,
 * gen_ai.response.finish_reasons [stop] when stop is set (a string), and
 * when has_msg gen_ai.output.messages, the one assistant message
 * [{"role":"assistant","parts":[<parts>],"finish_reason":stop}] whose
 * parts were written aside in `parts` (`tools`: they hold tool calls). */
void at_jf_reply(at_attrs *list, at_js id, at_js model, const at_llm_usage *u,
                 at_js stop, int stop_set, const at_buf *parts, int has_msg,
                 int tools);

/* A message written as text: 1 when written (mk's `responses` and id set
 * when it holds a tool_call_response part, *tools when it holds that or a
 * tool_call part), 0 when there is nothing to write (the tree decoder
 * skips it), -1 when the tree must judge it (what was written is
 * dropped). */
typedef int (*at_jf_msg_fn)(at_buf *b, at_js m, int *first, int *tools,
                            at_attr_mark *mk);
/* The tree decoder's message for a message's tree (NULL: skipped, as the
 * tree decoder skips it, or out of memory). */
typedef json_t *(*at_jf_tree_fn)(const json_t *m);

/* at_jf_messages: the array of messages `msgs` as JSON text, attribute
 * `key`, each written by `fast`, or from `tree` where that declines; which
 * messages may hold tool parts kept with it (at_attrs_set_marks).  When
 * something fails, the attribute is the array of every message's tree.
 * Nothing when msgs is not an array. */
void at_jf_messages(at_js msgs, at_attrs *list, const char *key,
                    at_jf_msg_fn fast, at_jf_tree_fn tree);

/* The marks of a messages value being written (at_attrs_set_marks):
 * at_jf_mark adds one (what a message of b[off..b->len) holds, mk's
 * responses and id already set); at_jf_marks_close closes the value as
 * attribute `key` with them (0), or -1 (nothing set) when it could not. */
typedef struct at_jf_marks {
    at_attr_mark *m;
    size_t n, cap;
    int lost; /* a mark could not be kept: every message may hold some */
} at_jf_marks;
void at_jf_mark(at_jf_marks *ms, const at_buf *b, size_t off,
                at_attr_mark mk);
int at_jf_marks_close(at_jf_marks *ms, at_attrs *list, const char *key,
                      size_t mark);

/* Tests: messages at_jf_messages left to their trees. */
extern long at_jf_tree_msgs;

/* at_jf_tree_definitions: gen_ai.tool.definitions made by a tree decoder's
 * `definitions` from the tree of `tools` (nothing when tools is absent or
 * it makes none). */
void at_jf_tree_definitions(at_attrs *list, at_js tools,
                            json_t *(*definitions)(const json_t *));

/* at_jf_keep: what writer fn wrote for memo entry e (decode/jmemo.h), from
 * `at` on in b (after a comma unless was_first), with its answer r, tool
 * flag and mark (offsets in b), for the next body that holds the element.
 * Nothing is kept of a truncated buffer, or of a writer whose output does
 * not begin with its comma.  at_jf_replay: write what entry e holds again
 * (after a comma unless *first), its tool flag and its mark (offsets in
 * b) in *tools and *mk. */
void at_jf_keep(at_jmemo *jm, at_jm_ent *e, at_jm_fn fn, const at_buf *b,
                size_t at, int was_first, int r, int tools,
                const at_attr_mark *mk);
void at_jf_replay(const at_jmemo *jm, const at_jm_ent *e, at_buf *b,
                  int *first, int *tools, at_attr_mark *mk);

#endif
