/* jfast.c - span attributes written straight from the scanner's tokens
 * (see jfast.h).  Sink thread only. */
#include "jfast.h"
#include "jmemo.h"

#include "llm_int.h"
#include "sink/jw.h"

#include <stdlib.h>
#include <string.h>

/* at_jf_word: a string slice without escapes, copied NUL-terminated into
 * buf (as at_llm_str would give it); 0 when it is not one or too long. */
int at_jf_word(at_js v, char *buf, size_t cap)
{
    if (at_js_kind(v) != AT_JS_STRING || v.doc->tok[v.i].esc ||
        v.n - 2 >= cap)
        return 0;
    memcpy(buf, v.p + 1, v.n - 2);
    buf[v.n - 2] = '\0';
    return 1;
}

const char *at_jf_bytes(at_js v, at_jf_tmp *t, size_t *n)
{
    /* decoding never lengthens a string: a slice shorter than the small
     * room decodes into it */
    if (v.n < sizeof(t->small))
        at_buf_init_fixed(&t->b, t->small, sizeof(t->small));
    else
        at_buf_init(&t->b, v.n);
    if (!v.doc->tok[v.i].esc) {
        *n = v.n - 2;
        return v.p + 1;
    }
    at_js_str_append(v, &t->b);
    *n = t->b.len;
    return t->b.truncated ? NULL : t->b.p ? t->b.p : "";
}

/* at_jf_str: string slice v as at_jw_jstr writes the bytes it holds.
 * Without escapes the slice is already that (the scanner refused control
 * characters, and '"' and '\\' only come escaped), and with only the
 * escapes at_jw_jstr writes too (at_jw_jstr_canonical). */
int at_jf_str(at_buf *b, at_js v)
{
    at_jf_tmp t;
    const char *p;
    size_t n;
    int rc = 0;

    if (!v.doc->tok[v.i].esc || at_jw_jstr_canonical(v.p + 1, v.n - 2)) {
        at_buf_append(b, v.p, v.n);
        return 0;
    }
    if ((p = at_jf_bytes(v, &t, &n)) != NULL) {
        at_jw_jstr(b, p, n);
    } else {
        b->truncated = 1;
        rc = -1;
    }
    at_jf_tmp_free(&t);
    return rc;
}

/* repeated_key: whether object token i has a key twice (jansson keeps the
 * last value in the first one's place: a copy in document order would
 * differ).  Keys never hold escapes (the scanner refuses them), so equal
 * text is an equal key.  Over 64 members it says yes without looking:
 * the caller then takes the tree, which is right either way. */
static int repeated_key(const at_js_doc_t *d, uint32_t i)
{
    uint32_t keys[64], m = 0, j, a, b;

    for (j = i + 1; j < d->tok[i].next; j = d->tok[j + 1].next) {
        if (m == 64)
            return 1;
        keys[m++] = j;
    }
    for (a = 1; a < m; a++) {
        const at_js_tok *x = &d->tok[keys[a]];

        for (b = 0; b < a; b++) {
            const at_js_tok *y = &d->tok[keys[b]];

            if (x->len == y->len &&
                memcmp(d->text + x->off, d->text + y->off, x->len) == 0)
                return 1;
        }
    }
    return 0;
}

/* write_tok: token i as at_jw_value(at_llm_tree) writes it; -1 where the
 * two could differ (see at_jf_write_js). */
static int write_tok(at_buf *b, const at_js_doc_t *d, uint32_t i)
{
    const at_js_tok *t = &d->tok[i];
    at_js js = {d->text + t->off, t->len, d, i};
    uint32_t j;
    int64_t x;
    double r;

    switch (t->kind) {
    case AT_JS_OBJECT:
        if (repeated_key(d, i))
            return -1;
        AT_JW_LIT(b, "{");
        for (j = i + 1; j < t->next; j = d->tok[j + 1].next) {
            if (j != i + 1)
                AT_JW_LIT(b, ",");
            /* the key's text is what at_jw_jkey writes of it: no escapes,
             * no control characters, valid UTF-8 */
            at_buf_append(b, d->text + d->tok[j].off, d->tok[j].len);
            AT_JW_LIT(b, ":");
            if (write_tok(b, d, j + 1) < 0)
                return -1;
        }
        AT_JW_LIT(b, "}");
        return 0;
    case AT_JS_ARRAY:
        AT_JW_LIT(b, "[");
        for (j = i + 1; j < t->next; j = d->tok[j].next) {
            if (j != i + 1)
                AT_JW_LIT(b, ",");
            if (write_tok(b, d, j) < 0)
                return -1;
        }
        AT_JW_LIT(b, "]");
        return 0;
    case AT_JS_STRING:
        return at_jf_str(b, js);
    case AT_JS_NUMBER:
        switch (at_llm_number(js, &x, &r)) {
        case 1:
            at_jw_i64(b, x);
            return 0;
        case 2:
            return at_jw_real(b, r);
        default:
            return -1;
        }
    case AT_JS_BOOL:
        if (*js.p == 't')
            AT_JW_LIT(b, "true");
        else
            AT_JW_LIT(b, "false");
        return 0;
    default:
        AT_JW_LIT(b, "null");
        return 0;
    }
}

int at_jf_write_js(at_buf *b, at_js v)
{
    if (v.p == NULL || v.doc == NULL)
        return -1;
    return write_tok(b, v.doc, v.i);
}

int at_jf_write_args(at_buf *b, const char *p, size_t n)
{
    at_js_tok small[64], *tok = small;
    at_js_doc_t doc;
    at_js root;
    int rc = -1;

    if (n == 0) {               /* not JSON to jansson either: a string */
        AT_JW_LIT(b, "\"\"");
        return 0;
    }
    if (at_llm_scan_off)
        return -1;
    if (!at_js_doc(p, n, tok, 64, &doc, &root)) {
        if (!doc.full || n / 2 + 2 >= ((size_t)1 << 24))
            return -1;          /* jansson may read what the scanner won't */
        tok = malloc((n / 2 + 2) * sizeof(*tok));
        if (tok == NULL)
            return -1;
        if (!at_js_doc(p, n, tok, (uint32_t)(n / 2 + 2), &doc, &root))
            goto out;
    }
    rc = write_tok(b, &doc, root.i);
out:
    if (tok != small)
        free(tok);
    return rc;
}

void at_jf_message_open(at_buf *b, const char *role, int *first)
{
    at_jf_sep(b, first);
    AT_JW_LIT(b, "{\"role\":");
    at_jw_jstr(b, role, strlen(role));
    AT_JW_LIT(b, ",\"parts\":[");
}

void at_jf_response_open(at_buf *b, at_js id, at_attr_mark *mk)
{
    size_t at;

    AT_JW_LIT(b, "{\"type\":\"tool_call_response\"");
    if (at_js_kind(id) == AT_JS_STRING) {
        AT_JW_LIT(b, ",\"id\":");
        at = b->len;
        at_jf_str(b, id);
    } else {
        at = b->len;
    }
    at_jf_mark_response(mk, b, at);
}

int at_jf_response_close(at_buf *b, at_js v, int empty)
{
    if (at_js_kind(v) == AT_JS_ARRAY) {
        AT_JW_LIT(b, ",\"response\":");
        if (at_jf_joined(b, v) < 0)
            return -1;
    } else if (v.p != NULL && at_js_kind(v) != AT_JS_NULL) {
        AT_JW_LIT(b, ",\"response\":");
        if (at_jf_write_js(b, v) < 0)
            return -1;
    } else if (empty) {
        AT_JW_LIT(b, ",\"response\":\"\"");
    }
    AT_JW_LIT(b, "}");
    return 0;
}

int at_jf_text_part(at_buf *b, const char *type, at_js v, int first)
{
    if (at_js_kind(v) != AT_JS_STRING || at_js_str_empty(v))
        return 0;
    at_jf_part(b, type, v, &first);
    return 1;
}

/* at_jf_member: the value of the last member `key` of object slice o (as
 * json_object_get would find it), absent when o is not an object. */
at_js at_jf_member(at_js o, const char *key, size_t n)
{
    at_js_it it;
    at_js k, v, found = {NULL, 0, NULL, 0};

    if (at_js_obj(o, &it))
        while (at_js_next_member(&it, &k, &v) > 0)
            if (k.n == n && memcmp(k.p, key, n) == 0)
                found = v;
    return found;
}

/* at_jf_name: a string slice without escapes as a C string in buf (what
 * at_llm_str gives of it): 1; 0 when v is absent or not a string (buf
 * ""); -1 for a string read only the tree's way (escapes, or too long). */
int at_jf_name(at_js v, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (at_js_kind(v) != AT_JS_STRING)
        return 0;
    return at_jf_word(v, buf, cap) ? 1 : -1;
}

/* at_jf_part: {"type":<type>,"content":<v>}, after a comma unless
 * *first (at_llm_part_content with a string). */
void at_jf_part(at_buf *b, const char *type, at_js v, int *first)
{
    at_jf_sep(b, first);
    AT_JW_LIT(b, "{\"type\":");
    at_jw_jstr(b, type, strlen(type));
    AT_JW_LIT(b, ",\"content\":");
    at_jf_str(b, v);
    AT_JW_LIT(b, "}");
}

/* at_jf_set_string: at_llm_set_string for a slice. */
void at_jf_set_string(at_attrs *list, const char *key, at_js v)
{
    at_jf_tmp t;
    const char *p;
    size_t n;

    if (at_js_kind(v) != AT_JS_STRING || at_js_str_empty(v))
        return;
    if ((p = at_jf_bytes(v, &t, &n)) != NULL)
        at_attrs_set_utf8(list, key, p, n);
    at_jf_tmp_free(&t);
}

/* at_jf_count: at_llm_count for a slice: 1 (and *out) for an integer of
 * 0 or more, 0 for anything else but a number, -1 for a number the tree
 * reads as a real (a fraction or an exponent: let read_usage judge it). */
int at_jf_count(at_js v, int64_t *out)
{
    int64_t x;

    if (at_js_kind(v) != AT_JS_NUMBER)
        return 0;
    if (!at_js_int(v, &x))
        return -1;
    if (x < 0)
        return 0;
    *out = x;
    return 1;
}


/* at_jf_count_value: at_llm_count for a slice (a real read from its tree);
 * 1 and *out, or 0. */
int at_jf_count_value(at_js v, int64_t *out)
{
    int r = at_jf_count(v, out);
    json_t *j;

    if (r >= 0)
        return r;
    j = at_llm_tree(v);
    r = at_llm_count(j, out);
    json_decref(j);
    return r;
}

/* at_jf_real: at_llm_set_real for a slice: a number, as a real. */
void at_jf_real(at_attrs *list, const char *key, at_js v)
{
    int64_t x;
    json_t *j;

    if (at_js_kind(v) != AT_JS_NUMBER)
        return;
    if (at_js_int(v, &x)) {
        at_attrs_set_real(list, key, (double)x);
        return;
    }
    if ((j = at_llm_tree(v)) != NULL)
        at_attrs_set_real(list, key, json_number_value(j));
    json_decref(j);
}

int at_jf_param(at_jf_params *p, at_js key, at_js v)
{
    if (AT_JS_KEY(key, "model"))
        p->model = v;
    else if (AT_JS_KEY(key, "max_tokens"))
        p->max_tokens = v;
    else if (AT_JS_KEY(key, "temperature"))
        p->temperature = v;
    else if (AT_JS_KEY(key, "top_p"))
        p->top_p = v;
    else if (AT_JS_KEY(key, "stream"))
        p->stream = v;
    else
        return 0;
    return 1;
}

void at_jf_params_set(const at_jf_params *p, at_attrs *list)
{
    int64_t n;

    at_jf_set_string(list, "gen_ai.request.model", p->model);
    if (at_jf_count_value(p->max_tokens, &n))
        at_attrs_set_i64(list, "gen_ai.request.max_tokens", n);
    at_jf_real(list, "gen_ai.request.temperature", p->temperature);
    at_jf_real(list, "gen_ai.request.top_p", p->top_p);
    if (at_js_kind(p->stream) == AT_JS_BOOL && *p->stream.p == 't')
        at_attrs_set_bool(list, "gen_ai.request.stream", 1);
}

int at_jf_args(at_buf *b, at_js args)
{
    at_jf_tmp t;
    const char *p;
    size_t n;
    int r;

    if (args.p == NULL || at_js_kind(args) == AT_JS_NULL)
        return 0;
    AT_JW_LIT(b, ",\"arguments\":");
    if (at_js_kind(args) != AT_JS_STRING)
        return at_jf_write_js(b, args);
    p = at_jf_bytes(args, &t, &n);
    r = p != NULL ? at_jf_write_args(b, p, n) : -1;
    at_jf_tmp_free(&t);
    return r;
}

int at_jf_joined(at_buf *b, at_js blocks)
{
    at_js_it it;
    at_js e, t;
    at_buf j;
    int rc = 0;

    at_buf_init(&j, AT_LLM_TEXT_MAX);
    at_js_arr(blocks, &it);
    while (at_js_next(&it, &e) > 0) {
        t = AT_JF_MEMBER(e, "text");
        if (at_js_kind(t) == AT_JS_STRING)
            at_js_str_append(t, &j);
        else if (at_js_kind(e) == AT_JS_STRING)
            at_js_str_append(e, &j);
    }
    if (j.truncated)
        rc = -1;
    else
        at_jw_jstr(b, j.p ? j.p : "", j.len);
    at_buf_free(&j);
    return rc;
}

int at_jf_definition(at_buf *b, const char *type, at_js name, at_js desc,
                     at_js params, int *first)
{
    at_jf_sep(b, first);
    AT_JW_LIT(b, "{\"type\":");
    at_jw_jstr(b, type, strlen(type));
    if (at_js_kind(name) == AT_JS_STRING) {
        AT_JW_LIT(b, ",\"name\":");
        at_jf_str(b, name);
    }
    if (at_js_kind(desc) == AT_JS_STRING) {
        AT_JW_LIT(b, ",\"description\":");
        at_jf_str(b, desc);
    }
    if (params.p != NULL && at_js_kind(params) != AT_JS_NULL) {
        AT_JW_LIT(b, ",\"parameters\":");
        if (at_jf_write_js(b, params) < 0)
            return -1;
    }
    AT_JW_LIT(b, "}");
    return 0;
}

int at_jf_definitions(at_js tools, at_attrs *list, const char *params_key,
                      int (*type_of)(int r, char ty[64]))
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it, ti;
    at_js t, k, v;
    at_buf *b;
    size_t mark, pk = strlen(params_key);
    int first = 1;

    if (!at_js_arr(tools, &it))
        return 1;
    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[");
    while (at_js_next(&it, &t) > 0) {
        at_js type = none, name = none, desc = none, params = none;
        char ty[64];
        int keep;

        if (!at_js_obj(t, &ti))
            continue;
        while (at_js_next_member(&ti, &k, &v) > 0) {
            if (AT_JS_KEY(k, "type"))
                type = v;
            else if (AT_JS_KEY(k, "name"))
                name = v;
            else if (AT_JS_KEY(k, "description"))
                desc = v;
            else if (k.n == pk && memcmp(k.p, params_key, pk) == 0)
                params = v;
        }
        keep = type_of(at_jf_name(type, ty, sizeof(ty)), ty);
        if (keep < 0)
            goto tree;
        if (!keep)
            desc = params = none;
        if (at_jf_definition(b, ty, name, desc, params, &first) < 0)
            goto tree;
    }
    AT_JW_LIT(b, "]");
    if (!b->truncated) {
        at_attrs_close(list, "gen_ai.tool.definitions", mark, AT_ATTR_RAW, 0);
        return 1;
    }
tree:
    at_attrs_drop(list, mark);
    return 0;
}

void at_jf_strings_set(at_attrs *list, const char *key, at_js v)
{
    at_js_it it;
    at_js e;
    at_buf *b;
    size_t mark;
    int first = 1;

    if (!at_js_arr(v, &it))
        return;
    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[");
    while (at_js_next(&it, &e) > 0) {
        if (at_js_kind(e) != AT_JS_STRING)
            continue;
        at_jf_sep(b, &first);
        at_jf_str(b, e);
    }
    AT_JW_LIT(b, "]");
    at_attrs_close_k(list, key, strlen(key), mark, AT_ATTR_RAW, 0);
}

void at_jf_reply(at_attrs *list, at_js id, at_js model, const at_llm_usage *u,
                 at_js stop, int stop_set, const at_buf *parts, int has_msg,
                 int tools)
{
    at_buf *b;
    size_t mark;

    at_jf_set_string(list, "gen_ai.response.id", id);
    at_jf_set_string(list, "gen_ai.response.model", model);
    at_llm_usage_emit_list(u, list);
    if (stop_set) {
        b = at_attrs_open(list, &mark);
        AT_JW_LIT(b, "[");
        at_jf_str(b, stop);
        AT_JW_LIT(b, "]");
        at_attrs_close(list, "gen_ai.response.finish_reasons", mark,
                       AT_ATTR_RAW, 0);
    }
    if (!has_msg)
        return;
    if (parts->truncated) {
        list->failed = 1;
        return;
    }
    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[{\"role\":\"assistant\",\"parts\":[");
    if (parts->len > 0)
        at_buf_append(b, parts->p, parts->len);
    AT_JW_LIT(b, "]");
    if (stop_set) {
        AT_JW_LIT(b, ",\"finish_reason\":");
        at_jf_str(b, stop);
    }
    AT_JW_LIT(b, "}]");
    at_attrs_close(list, "gen_ai.output.messages", mark, AT_ATTR_RAW, !tools);
}

long at_jf_tree_msgs;

/* tree_message: tree(m) written to b after a comma unless *first; 0, or -1
 * when it could not be written. */
static int tree_message(at_buf *b, at_js m, at_jf_tree_fn tree, int *first)
{
    json_t *t = at_llm_tree(m), *im = tree(t);
    int rc;

    json_decref(t);
    if (im == NULL)
        return 0;   /* skipped, as the tree decoder skips it */
    at_jf_sep(b, first);
    rc = at_jw_value(b, im);
    json_decref(im);
    return rc;
}

void at_jf_mark(at_jf_marks *ms, const at_buf *b, size_t off,
                at_attr_mark mk)
{
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? 2 * ms->cap : 8;
        at_attr_mark *n = realloc(ms->m, cap * sizeof(*n));

        if (n == NULL) {
            ms->lost = 1;
            return;
        }
        ms->m = n;
        ms->cap = cap;
    }
    mk.off = off;
    mk.len = b->len - off;
    ms->m[ms->n++] = mk;
}

int at_jf_marks_close(at_jf_marks *ms, at_attrs *list, const char *key,
                      size_t mark)
{
    size_t klen = strlen(key);
    int any = ms->n > 0 || ms->lost;   /* a message holds tool parts */

    if (list->arena.truncated ||
        at_attrs_close_k(list, key, klen, mark, AT_ATTR_RAW, !any) < 0) {
        free(ms->m);
        ms->m = NULL;
        at_attrs_drop(list, mark);
        return -1;
    }
    if (any && !ms->lost) {
        at_attrs_set_marks_k(list, key, klen, ms->m, ms->n);
        ms->m = NULL;
    }
    free(ms->m);
    ms->m = NULL;
    return 0;
}

/* as_text: at_jf_messages's text; 0 when the trees must make it (the
 * list as it was). */
void at_jf_keep(at_jmemo *jm, at_jm_ent *e, at_jm_fn fn, const at_buf *b,
                size_t at, int was_first, int r, int tools,
                const at_attr_mark *mk)
{
    size_t s = at;
    at_attr_mark rel = *mk;

    if (b->truncated)
        return;
    if (!was_first && b->len > at) {
        if (b->p[at] != ',')
            return; /* not a writer whose comma comes first: not kept */
        s++;
    }
    if (rel.responses)
        rel.id_off -= s;
    at_jm_write(jm, e, fn, b->p + s, b->len - s, r, tools, &rel);
}

void at_jf_replay(const at_jmemo *jm, const at_jm_ent *e, at_buf *b,
                  int *first, int *tools, at_attr_mark *mk)
{
    *tools = e->tools;
    *mk = e->mk;
    if (e->out_len > 0) {
        at_jf_sep(b, first);
        if (mk->responses)
            mk->id_off += b->len;
        at_buf_append(b, at_jm_out(jm, e), e->out_len);
    }
    at_jm_write_hits++;
}

static int as_text(at_js msgs, at_attrs *list, const char *key,
                   at_jf_msg_fn fast, at_jf_tree_fn tree)
{
    at_js_it mi;
    at_js v;
    at_buf *b;
    at_jf_marks ms = {NULL, 0, 0, 0};
    size_t mark, at;
    int first = 1, r;
    at_jmemo *jm = msgs.doc != NULL ? msgs.doc->memo : NULL;
    at_jm_fn fn = (at_jm_fn)fast;

    at_js_arr(msgs, &mi);
    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[");
    while (at_js_next(&mi, &v) > 0) {
        int was_first = first, tools = 0;
        at_attr_mark mk = {0, 0, 0, 0, 0};
        at_jm_ent *je = jm != NULL ? at_jm_element(jm, v) : NULL;

        at = b->len;
        if (je != NULL && je->fn == fn) {
            /* a kept element, byte for byte: what was written for it */
            at_jf_replay(jm, je, b, &first, &tools, &mk);
        } else if ((r = fast(b, v, &first, &tools, &mk)) >= 0) {
            if (je != NULL)
                at_jf_keep(jm, je, fn, b, at, was_first, r, tools, &mk);
        } else {
            /* this one from its tree: it may hold anything */
            at_jf_tree_msgs++;
            b->len = at;
            b->p[at] = '\0';
            first = was_first;
            tools = 1;
            mk.responses = 1;
            mk.id_len = 0;
            if (tree_message(b, v, tree, &first) < 0) {
                free(ms.m);
                at_attrs_drop(list, mark);
                return 0;
            }
        }
        if (tools && b->len > at)
            at_jf_mark(&ms, b, was_first ? at : at + 1, mk); /* past the comma */
    }
    AT_JW_LIT(b, "]");
    return at_jf_marks_close(&ms, list, key, mark) == 0;
}

void at_jf_messages(at_js msgs, at_attrs *list, const char *key,
                    at_jf_msg_fn fast, at_jf_tree_fn tree)
{
    at_js_it mi;
    at_js v;
    json_t *arr;

    if (!at_js_arr(msgs, &mi) || as_text(msgs, list, key, fast, tree))
        return;
    arr = json_array();
    while (at_js_next(&mi, &v) > 0) {
        json_t *t = at_llm_tree(v), *m = tree(t);

        json_decref(t);
        if (m != NULL)
            json_array_append_new(arr, m);
    }
    at_attrs_set_json_k(list, key, strlen(key), arr);
}

void at_jf_tree_definitions(at_attrs *list, at_js tools,
                            json_t *(*definitions)(const json_t *))
{
    json_t *t, *defs;

    if (tools.p == NULL)
        return;
    t = at_llm_tree(tools);
    defs = definitions(t);
    json_decref(t);
    if (defs != NULL)
        at_attrs_set_json(list, "gen_ai.tool.definitions", defs);
}
