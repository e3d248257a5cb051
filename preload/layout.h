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
 *                 the process's description, a long output path, the
 *                 environment array a root process grows): put after all
 *                 other data (x86-64's .lbss, placed after .bss), so that
 *                 the small state the start and the exit touch is not
 *                 strewn between the tables' pages.
 *
 * The aim: an idle process writes no page of the shim's but the one the
 * dynamic loader writes anyway (the last of .got.plt, .data and the start
 * of .bss, which it zeroes).  So .bss holds only small state, and the
 * process's description (at_self, preload/identity.c) is the first of
 * the large tables, its small fields, names and the start of its command
 * line on that same page (identity.o is linked before the others that
 * have large tables).  Mind the alignment of anything put here: one table
 * aligned to a page would align the whole section and move at_self off
 * that page.
 */
#ifndef AT_LAYOUT_H
#define AT_LAYOUT_H

#if defined(__x86_64__) && defined(__ELF__)
#define AT_LARGE_BSS __attribute__((section(".lbss")))
#else
#define AT_LARGE_BSS
#endif

#endif
