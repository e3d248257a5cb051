/* jw.h - a minimal JSON text writer over an at_buf.
 *
 * Used for every span line: the fixed outer shape and the process span
 * (written at exit without jansson, and without stdio or malloc when the
 * buffer is fixed), and, through at_jw_json, the jansson attribute trees.
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid JSON.  Errors (buffer limits) stick
 * in the at_buf.  Sink thread, or the exiting thread. */
#ifndef AT_JW_H
#define AT_JW_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "decode/buf.h"

/* AT_JW_LIT: append the string literal `s` as it is (no escaping). */
#define AT_JW_LIT(b, s) at_buf_append((b), "" s, sizeof(s) - 1)

void at_jw_raw(at_buf *b, const char *s);
void at_jw_str(at_buf *b, const char *s, size_t n);
void at_jw_cstr(at_buf *b, const char *s);
/* at_jw_key: `"k":`, preceded by a comma unless `first`. */
void at_jw_key(at_buf *b, const char *k, int first);
void at_jw_u64(at_buf *b, uint64_t v);
void at_jw_i64(at_buf *b, int64_t v);

/* at_jw_dec: the decimal digits of `v` into `out` (no NUL); returns how
 * many (1 to 20).  Never fails; any thread. */
size_t at_jw_dec(char out[20], uint64_t v);

/* at_jw_json: append `v` (an object or an array) exactly as
 * json_dumps(v, JSON_COMPACT) writes it: members in jansson's order (the
 * order of insertion), no spaces, integers in decimal, reals as "%.17g"
 * with jansson's touches (".0" added to an integral value, no '+' and no
 * leading zeros in the exponent, '.' whatever the locale), and strings
 * escaped as jansson escapes them (\b, \f, \n, \r, \t, \" and \\; other
 * control characters as \u00XX, upper case; everything else as it is).
 * Where jansson would refuse the whole tree, a string that is not valid
 * UTF-8 (only a json_*_nocheck constructor can make one), each bad byte
 * becomes U+FFFD instead, as in at_jw_str.
 *
 * Returns 0; -1 when `v` is not an object or array (nothing is written),
 * holds a NULL, or memory for a tree nested deeper than 32 levels could not
 * be had (part of it may then have been written).  Output past the
 * buffer's max is dropped and marks it truncated, as with every append;
 * writing stops there, so even a tree that contains itself ends. */
int at_jw_json(at_buf *b, const json_t *v);

/* at_jw_value: any value as at_jw_json writes it inside a tree (a string
 * escaped as jansson escapes it, a real with jansson's touches).  -1 for
 * NULL, and as at_jw_json for an object or array. */
int at_jw_value(at_buf *b, const json_t *v);

/* at_jw_jstr: `n` bytes as the JSON string at_jw_json writes for a
 * jansson string holding them. */
void at_jw_jstr(at_buf *b, const char *s, size_t n);

/* at_jw_jkey: `"k":` as at_jw_json writes an object's key (after a comma
 * unless `first`). */
void at_jw_jkey(at_buf *b, const char *k, size_t n, int first);

/* at_jw_real: `d` as at_jw_json writes a real.  -1 for a value jansson
 * would refuse (not finite); nothing is then written. */
int at_jw_real(at_buf *b, double d);

/* at_jw_jstr_canonical: 1 when the `n` bytes of JSON string text p (the
 * text between the quotes, checked valid) are exactly what at_jw_jstr
 * writes of the bytes they decode to: every escape one at_jw_jstr would
 * write (\\" \\\\ \\b \\t \\n \\f \\r, \\u00XX for the other control
 * characters, upper-case), no escape of anything it writes as it is
 * (\\/, \\u00e9, \\u0041...).  Such a text is copied rather than decoded
 * and escaped again. */
int at_jw_jstr_canonical(const char *p, size_t n);

/* at_jw_utf8_ok: 1 when the `n` bytes are valid UTF-8 as jansson checks
 * it (no overlong forms, surrogates or code points past U+10FFFF; NUL
 * allowed), else 0. */
int at_jw_utf8_ok(const char *s, size_t n);

#endif
