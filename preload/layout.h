/* layout.h - where the shim's data go in its image, for the processes
 * that never call a model.
 *
 * Every process under the shim pays for the pages of the library it
 * touches at start and at exit: a page fault each (10 to 16 us apiece on
 * the virtual machine bench/ measures on), which dwarfs the few thousand
 * instructions the start and the process span execute.  The code of that
 * path is kept together by the link order (the Makefile's START_OBJ);
 * the data by:
 *
 *   AT_LARGE_BSS  a large zero-filled table (the connection, descriptor
 *                 and libcurl tables, the process-span fallback buffer,
 *                 the process's description): put after all other data
 *                 (x86-64's .lbss, placed after .bss), so that the small
 *                 state the start and the exit touch shares a page or two
 *                 instead of being strewn between the tables' pages.
 */
#ifndef AT_LAYOUT_H
#define AT_LAYOUT_H

#if defined(__x86_64__) && defined(__ELF__)
#define AT_LARGE_BSS __attribute__((section(".lbss")))
#else
#define AT_LARGE_BSS
#endif

#endif
