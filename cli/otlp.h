/* otlp.h - the mechanical mapping of span records to OTLP/JSON, the
 * protobuf JSON encoding of opentelemetry.proto.collector.trace.v1
 * ExportTraceServiceRequest: lowerCamelCase field names, trace and span
 * ids as lowercase hex (OTLP's exception to base64 bytes), 64-bit integers
 * (times, intValue) as decimal strings, enums as numbers, attributes as
 * KeyValue lists of typed AnyValues.  Spans are grouped by resource (equal
 * resource objects share one ResourceSpans) under one scope
 * {"name":"agenttrace","version":...}.  Runs in the inspector's own
 * process. */
#ifndef AT_CLI_OTLP_H
#define AT_CLI_OTLP_H

#include <stddef.h>

#include <jansson.h>

#include "cli/span.h"

#define AT_OTLP_SCOPE "agenttrace"

/* at_cli_otlp_value: the AnyValue for a JSON value: string -> stringValue,
 * integer -> intValue (string), real -> doubleValue, true/false ->
 * boolValue, array -> arrayValue, object -> kvlistValue, null -> {} (no
 * value).  With json_strings, objects and arrays that hold anything but
 * strings, numbers and booleans become a stringValue of their compact
 * JSON instead, for back-ends that only show primitive attributes.
 * Returns a new reference. */
json_t *at_cli_otlp_value(const json_t *v, int json_strings);

/* at_cli_otlp_attributes: a KeyValue list for a JSON object (attributes or
 * resource); null values are left out.  NULL obj gives []. */
json_t *at_cli_otlp_attributes(const json_t *obj, int json_strings);

/* at_cli_otlp_span: the OTLP Span for s.  Returns a new reference. */
json_t *at_cli_otlp_span(const at_cli_span *s, int json_strings);

/* A batch of spans being grouped into one ExportTraceServiceRequest. */
typedef struct at_cli_otlp_batch {
    json_t *resource_spans; /* array of ResourceSpans */
    json_t *index;          /* resource key -> position in the array */
    size_t spans;
    size_t bytes;           /* the input lines' size, a proxy */
    int json_strings;
    json_t *last_resource;  /* the previous span's resource, and */
    size_t last_index;      /* ... its ResourceSpans (a fast path) */
} at_cli_otlp_batch;

void at_cli_otlp_batch_init(at_cli_otlp_batch *b, int json_strings);
void at_cli_otlp_batch_free(at_cli_otlp_batch *b);
void at_cli_otlp_batch_reset(at_cli_otlp_batch *b);
/* at_cli_otlp_batch_add: add s; `line_bytes` is added to b->bytes. */
void at_cli_otlp_batch_add(at_cli_otlp_batch *b, const at_cli_span *s,
                           size_t line_bytes);
/* at_cli_otlp_batch_request: {"resourceSpans":[...]} (new reference; the
 * batch keeps its contents until _reset). */
json_t *at_cli_otlp_batch_request(const at_cli_otlp_batch *b);

#endif
