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

#endif
