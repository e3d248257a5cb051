/* jw.h - a minimal JSON text writer over an at_buf.
 *
 * Used for the fixed outer shape of every span line and for the process
 * span, which is written at exit without jansson.  Strings are escaped per
 * RFC 8259; bytes that are not valid UTF-8 become U+FFFD, so the output is
 * always valid JSON.  Errors (buffer limits) stick in the at_buf. */
#ifndef AT_JW_H
#define AT_JW_H

#include <stddef.h>
#include <stdint.h>
#include "decode/buf.h"

void at_jw_raw(at_buf *b, const char *s);
void at_jw_str(at_buf *b, const char *s, size_t n);
void at_jw_cstr(at_buf *b, const char *s);
/* at_jw_key: `"k":`, preceded by a comma unless `first`. */
void at_jw_key(at_buf *b, const char *k, int first);
void at_jw_u64(at_buf *b, uint64_t v);
void at_jw_i64(at_buf *b, int64_t v);

#endif
