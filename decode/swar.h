/* swar.h - eight bytes at a time in a 64-bit word ("SIMD within a
 * register"), for short strings where a vector loop would not pay.  Any
 * thread. */
#ifndef AT_SWAR_H
#define AT_SWAR_H

#include <stdint.h>
#include <string.h>

#define AT_ONES 0x0101010101010101ull
#define AT_HIGH 0x8080808080808080ull

static inline uint64_t at_load8(const void *p)
{
    uint64_t w;

    memcpy(&w, p, 8);
    return w;
}

static inline uint32_t at_load4(const void *p)
{
    uint32_t w;

    memcpy(&w, p, 4);
    return w;
}

/* at_lower8: the eight bytes of w with A-Z made a-z (nothing else
 * changes). */
static inline uint64_t at_lower8(uint64_t w)
{
    uint64_t h = w & ~AT_HIGH;                  /* each byte's low 7 bits */
    uint64_t ge_a = h + AT_ONES * (0x80 - 'A'); /* high bit: >= 'A' */
    uint64_t gt_z = h + AT_ONES * (0x7f - 'Z'); /* high bit: > 'Z' */

    return w | (((ge_a ^ gt_z) & ~w & AT_HIGH) >> 2);
}

/* at_has_byte: nonzero when a byte of w is c.  (y - 0x01..) & ~y &
 * 0x80.. is nonzero exactly when y = w ^ c.. has a zero byte. */
static inline uint64_t at_has_byte(uint64_t w, unsigned char c)
{
    uint64_t y = w ^ (AT_ONES * c);

    return (y - AT_ONES) & ~y & AT_HIGH;
}

/* at_eq_bytes: 0x80 in each byte of w that is c, 0 in every other.
 * Unlike at_has_byte's, each byte's flag is exact: y = w ^ c.. is zero
 * in the bytes that match; (y & 0x7f..) + 0x7f.. sets a byte's high bit
 * when its low seven bits are not all zero, and cannot carry into the
 * next byte (0x7f + 0x7f < 0x100); or'ed with y, the high bit is clear
 * exactly in the bytes where y is zero. */
static inline uint64_t at_eq_bytes(uint64_t w, unsigned char c)
{
    uint64_t y = w ^ (AT_ONES * c);

    return ~(((y & ~AT_HIGH) + ~AT_HIGH) | y) & AT_HIGH;
}

/* at_count_flags: how many bytes of m have their high bit set, m having
 * no other bit (at_eq_bytes's): the multiply sums the eight 0-or-1 bytes
 * into the top one, which cannot overflow (8 < 256). */
static inline unsigned at_count_flags(uint64_t m)
{
    return (unsigned)(((m >> 7) * AT_ONES) >> 56);
}

#endif
