/* salvage.h - facts from a JSON body too large to keep whole.
 *
 * A model request or response over AGENTTRACE_MAX_BODY is kept as its first
 * max bytes plus its last AT_SALVAGE_TAIL bytes.  The JSON cannot be parsed
 * then, but the facts a span needs most sit near its ends: the model, the
 * stream flag and parameters near the start of a request; the id and model
 * at the start of a response and its usage at the end.  at_salvage finds
 * named top-level-looking keys in those two pieces and returns them as a
 * small JSON object that the provider decoders read as if it were the
 * body.  Sink thread only.
 */
#ifndef AT_SALVAGE_H
#define AT_SALVAGE_H

#include <stddef.h>
#include <jansson.h>

#include "decode/buf.h"

#define AT_SALVAGE_TAIL (16u * 1024u)

/* at_salvage_tail: remember the last AT_SALVAGE_TAIL bytes seen, in `tail`
 * (which is used as a sliding window; initialise it with at_buf_init(tail,
 * 2 * AT_SALVAGE_TAIL)). */
void at_salvage_tail(at_buf *tail, const char *p, size_t n);

/* at_salvage: an object holding, for each key of the NULL-terminated
 * `keys`, the value found after the first `"key":` in `head`, else after
 * the last one in `tail` (only the latter for keys `from_tail` names), when
 * that value parses as JSON.  Never NULL
 * unless memory runs out; the object may be empty. */
json_t *at_salvage(const char *head, size_t hlen, const char *tail,
                   size_t tlen, const char *const *keys,
                   const char *const *from_tail);

#endif
