/* layout.h - where the shim's code and data go in its image, for the
 * processes that never call a model.
 *
 * Every process under the shim pays for the pages of the library it
 * touches at start and at exit: a page fault each (about 20 us apiece on
 * the virtual machine bench/ measures on, as much as 70,000 instructions),
 * which dwarfs the few thousand instructions the start and the process span
 * execute.  So:
 *
 *   AT_LARGE_BSS  a large zero-filled table that only capture uses (the
 *                 connection and descriptor tables, the process-span
 *                 buffer): put after all other data (x86-64's .lbss,
 *                 placed after .bss), so that the small state the start and
 *                 the exit touch shares a page or two instead of being
 *                 strewn between the tables' pages.
 *   AT_START_CODE a function the start or the exit of every process runs:
 *                 grouped with the compiler's own start-up code
 *                 (.text.startup), so that they fault in together.
 */
#ifndef AT_LAYOUT_H
#define AT_LAYOUT_H

#if defined(__x86_64__) && defined(__ELF__)
#define AT_LARGE_BSS __attribute__((section(".lbss")))
#else
#define AT_LARGE_BSS
#endif

#if defined(__ELF__)
#define AT_START_CODE __attribute__((section(".text.startup")))
#else
#define AT_START_CODE
#endif

#endif
