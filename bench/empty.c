/* An empty shared object: preloading it gives the floor of what any
 * LD_PRELOAD costs a process (mapping, relocation, symbol lookup). */
int agenttrace_bench_empty;
