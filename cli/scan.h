/* scan.h - the fast path of span parsing, for the views that read every
 * span of a large file (`tree`, `stats`): validates a line as JSON as
 * strictly as jansson (the same lines are accepted and refused) without
 * building a tree, and fills the at_cli_span fields those views use.
 * Runs in the inspector's own process. */
#ifndef AT_CLI_SCAN_H
#define AT_CLI_SCAN_H

#include <stddef.h>

#include "cli/span.h"
#include "cli/util.h"

/* at_cli_span_scan: parse one line into *s without JSON objects: root,
 * attrs, resource and events stay NULL; string fields point into
 * `scratch` and live until its next use.  Returns 0, or -1 with the same
 * kind of reason as at_cli_span_parse.  at_cli_span_free is not needed
 * (and harmless). */
int at_cli_span_scan(const char *line, size_t len, at_cli_span *s,
                     at_cli_buf *scratch, char *err, size_t errlen);

#endif
