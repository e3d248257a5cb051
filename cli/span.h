/* span.h - one line of a span file (../shared/SPANS.md) parsed and
 * checked: ids, times, kind, status, and the attributes every view reads
 * (model, tokens, cost, tool, HTTP status...).  Unknown keys are kept in
 * the JSON and otherwise ignored.  Runs in the inspector's own process. */
#ifndef AT_CLI_SPAN_H
#define AT_CLI_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* OTLP's SpanKind numbers. */
enum {
    AT_KIND_UNSPECIFIED = 0,
    AT_KIND_INTERNAL = 1,
    AT_KIND_SERVER = 2,
    AT_KIND_CLIENT = 3,
    AT_KIND_PRODUCER = 4,
    AT_KIND_CONSUMER = 5
};

/* OTLP's status codes. */
enum { AT_STATUS_UNSET = 0, AT_STATUS_OK = 1, AT_STATUS_ERROR = 2 };

/* What a span is, for display. */
enum {
    AT_CAT_OTHER = 0,
    AT_CAT_LLM,     /* a model call */
    AT_CAT_TOOL,    /* execute_tool */
    AT_CAT_HTTP,    /* another HTTP call */
    AT_CAT_AGENT,   /* invoke_agent process span */
    AT_CAT_PROCESS  /* process span */
};

typedef struct at_cli_span {
    json_t *root;        /* owned: the whole record */
    json_t *attrs;       /* borrowed from root; an object, never NULL */
    json_t *resource;    /* borrowed; an object or NULL */
    json_t *events;      /* borrowed; an array or NULL */
    char trace_id[33];   /* lowercase hex */
    char span_id[17];
    char parent_id[17];  /* "" for a root */
    uint64_t span_u64;
    uint64_t parent_u64; /* 0 for a root */
    const char *name;
    int kind;            /* AT_KIND_* */
    int status;          /* AT_STATUS_* */
    const char *status_msg; /* NULL when none */
    int64_t start_ns, end_ns;
    int cat;             /* AT_CAT_* */
    /* Attributes, borrowed from root; NULL or -1 when absent. */
    const char *op, *provider, *model, *resp_model, *tool, *error_type;
    const char *finish;  /* first finish reason */
    int64_t in_tok, out_tok;
    double cost, ttfc;   /* < 0 when absent */
    int http_status;     /* 0 when absent */
    int has_exit;
    int64_t exit_code;
    int failed;          /* status error, error.type, HTTP >= 400, or a
                            non-zero exit */
    const char *url;     /* url.full */
    const char *args_text; /* at_cli_span_scan only: the raw JSON text of
                              gen_ai.tool.call.arguments (or the string's
                              text when args_is_string) */
    int args_is_string;
} at_cli_span;

/* at_cli_span_parse: parse one JSONL line into *s.  Returns 0, or -1 with
 * a short reason in err ("not JSON: ...", "no span_id", "bad trace_id").
 * On success the caller frees with _free. */
int at_cli_span_parse(const char *line, size_t len, at_cli_span *s,
                      char *err, size_t errlen);

/* at_cli_span_from_json: the same from an already parsed object; takes a
 * new reference to root on success. */
int at_cli_span_from_json(json_t *root, at_cli_span *s, char *err,
                          size_t errlen);

void at_cli_span_free(at_cli_span *s);

/* at_cli_span_duration: end - start, never negative. */
int64_t at_cli_span_duration(const at_cli_span *s);

/* at_cli_attr_str / _int / _real: typed attribute look-ups; NULL, or 0 and
 * *out set / -1 when absent or of another type (ints read as reals). */
const char *at_cli_attr_str(const json_t *attrs, const char *key);
int at_cli_attr_int(const json_t *attrs, const char *key, int64_t *out);
int at_cli_attr_real(const json_t *attrs, const char *key, double *out);

/* at_cli_kind_name: "internal", "client"... for AT_KIND_*. */
const char *at_cli_kind_name(int kind);
const char *at_cli_status_name(int status);
const char *at_cli_cat_name(int cat);

#endif
