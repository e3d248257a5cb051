# libagenttrace - build, test, sanitize, bench.
#
#   make            build/libagenttrace.so and build/agenttrace-agent (example)
#   make demo       install missing packages, build, run the example agent
#                   under the shim against the mock server, show its trace
#   make test       install missing packages, unit + integration tests, then
#                   the same under ASan+UBSan and the unit tests under valgrind
#   make unit       Criterion unit tests only
#   make asan       unit + integration tests with AddressSanitizer + UBSan
#   make valgrind   unit tests under valgrind memcheck
#   make cli-test   the agenttrace inspector: its unit tests, then tests/cli/
#   make bench-cli  the inspector on a generated 1,000,000-span file

BUILD   ?= build
CC      ?= cc
OPT     ?= -O3
# Link-time optimisation of the shim's per-request path (see START_OBJ);
# fat objects, so that the unit tests link the same objects without it.
LTO     ?= -flto=auto -ffat-lto-objects
SAN     ?=
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden \
           -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
           -Wmissing-prototypes -Werror=implicit-function-declaration \
           -I. $(SAN)
LDFLAGS += $(SAN)

CORE_SRC  := $(wildcard decode/*.c sink/*.c) preload/log.c preload/ring.c
SHIM_SRC  := $(filter-out preload/log.c preload/ring.c,$(wildcard preload/*.c hooks/*.c))
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
SHIM_OBJ  := $(SHIM_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

# zlib, brotli (decoder), zstd and jansson come from their
# static archives with their symbols hidden, so they can never clash with
# (or be configured by, as json_set_alloc_funcs would) the host's copies,
# and a process loads no library for them.  Debian's jansson archive is
# position-independent code but for one reference to libc's data, `stdin`
# (json_loadf compares its FILE with it, for an error's source name), which
# a shared object cannot take; a copy of the archive has it renamed to a
# pointer of the shim's own (sink/jalloc.c; the shim never calls
# json_loadf).  Its other three references to libc, the default
# allocators in its data (`malloc`, `free`) and json_loadf's `fgetc`, are
# renamed to the shim's own wrappers (sink/jalloc.c): as addresses they
# would be resolved when the library loads, ~500 instructions each for
# every process, where a call from the wrappers is bound lazily, if ever.
JANSSON_A := $(shell $(CC) -print-file-name=libjansson.a)
SHIM_LIBS := -Wl,--exclude-libs,ALL $(BUILD)/jansson/libjansson.a \
             -Wl,-Bstatic -lz -lbrotlidec -lbrotlicommon -lzstd \
             -Wl,-Bdynamic -ldl -lpthread

.PHONY: all demo test unit asan valgrind integration bench clean deps install
all: $(BUILD)/libagenttrace.so $(BUILD)/agenttrace-agent \
     $(BUILD)/curl-gnutls-client $(BUILD)/jansson-host \
     $(BUILD)/curl-msgcb-client

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OBJ_LTO) -MMD -MP -c $< -o $@

$(BUILD)/libatcore.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# -Bsymbolic-functions: the shim's own references to its hooks (the
# addresses it must not resolve to) bind inside it, not through the global
# lookup every process would pay for at load.
# Lazy binding: a process pays for resolving only the imports it uses
# (glibc resolves a PLT entry without a lock, so hooks stay signal-safe);
# -z defs: an import nobody defines fails the build, not the host.
# -nostartfiles: the C runtime's crtbeginS/crtendS add three weak
# references looked up (and missed) in every process, a fourth to
# __cxa_finalize, and _init/_fini code the shim does not need; its
# constructors run from .init_array all the same, and __dso_handle is
# preload/shim.c's.
$(BUILD)/jansson/libjansson.a: $(JANSSON_A) Makefile
	@mkdir -p $(dir $@)
	objcopy --redefine-sym stdin=at_jansson_stdin \
	    --redefine-sym malloc=at_jansson_libc_malloc \
	    --redefine-sym free=at_jansson_libc_free \
	    --redefine-sym fgetc=at_jansson_libc_fgetc $< $@

# The objects every process runs at its start and exit (the constructor,
# the process span) are linked first, so that their code and constant data
# are contiguous and fault in together: a page fault costs a process that
# never calls a model more than the code it runs (preload/layout.h).
# identity.o before shim.o: at_self is then the first of the large zero
# tables, on the page where the small state ends, not one of its own.
START_OBJ := $(addprefix $(BUILD)/obj/,hooks/process.o preload/identity.o \
             preload/shim.o preload/config.o sink/span.o sink/ids.o \
             sink/jw.o sink/writer.o decode/buf.o)
LINK_OBJ  := $(START_OBJ) $(filter-out $(START_OBJ),$(SHIM_OBJ) $(CORE_OBJ))

# The rest (hooks, decoders, the sink) is optimised across files at the
# link: about 10% fewer of the instructions a request costs (curl, 2,000
# POSTs: 26,200 -> 23,700 per request over untraced).  Not the start
# path: link-time code generation places functions in its own order, and
# that path's locality is worth more to an idle process than inlining.
# preload/versions.c neither: its top-level assembler must stay in its own
# object.
NOLTO_OBJ := $(START_OBJ) $(BUILD)/obj/preload/versions.o
$(filter-out $(NOLTO_OBJ),$(SHIM_OBJ) $(CORE_OBJ)): OBJ_LTO := $(LTO)

# The shim needs two versions of libc's symbols, GLIBC_2.2.5 and memcpy's
# GLIBC_2.14, and the dynamic linker checks two instead of eight in every
# process: references to functions libc also has at GLIBC_2.2.5, or with no
# version older than 2.3, go through preload/versions.c.
V1_WRAP := clock_gettime dlsym dlopen dladdr pthread_create \
           pthread_once pthread_key_create pthread_setspecific \
           pthread_attr_setstacksize __register_atfork newlocale strtod_l

$(BUILD)/libagenttrace.so: $(SHIM_OBJ) $(CORE_OBJ) preload/exports.map Makefile \
                           $(BUILD)/jansson/libjansson.a
	$(CC) -shared -o $@ $(LINK_OBJ) $(LDFLAGS) $(if $(LTO),-flto=auto) \
	    -Wl,--version-script=preload/exports.map -Wl,-z,lazy -Wl,-z,defs \
	    -Wl,-Bsymbolic-functions $(V1_WRAP:%=-Wl,--wrap=%) \
	    -Wl,-z,nodelete -nostartfiles $(SHIM_LIBS)

# -MMD: a test that includes a source (test_config.c includes
# preload/config.c) is rebuilt when that source changes.
$(BUILD)/tests/%: tests/%.c $(BUILD)/libatcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(BUILD)/libatcore.a $(LDFLAGS) \
	    $(if $(LTO),-fno-lto) -lcriterion -ljansson -lnghttp2 -lz -lbrotlienc -lbrotlidec \
	    -lbrotlicommon -lzstd -lm

# test_oom fails the sink's allocations on purpose: its malloc, calloc,
# realloc, strdup and strndup are the test's (tests/test_oom.c).
$(BUILD)/tests/test_oom: LDFLAGS += -Wl,--wrap=malloc -Wl,--wrap=calloc \
    -Wl,--wrap=realloc -Wl,--wrap=strdup -Wl,--wrap=strndup

$(BUILD)/agenttrace-agent: scripts/example_agent.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lcurl -ljansson

# A test host with its own jansson and allocator (see the file).
$(BUILD)/jansson-host: tests/integration/jansson_host.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lcurl -ljansson -lpthread

# A test client (tests/integration/curl_client.c) on Debian's GnuTLS
# flavour of libcurl (same API, same headers): linked against the library
# file itself; and the same on libcurl with OpenSSL, with an OpenSSL
# message callback of its own (libssl linked by its file: its headers are
# not needed).
$(BUILD)/curl-gnutls-client: tests/integration/curl_client.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) \
	    /usr/lib/x86_64-linux-gnu/libcurl-gnutls.so.4

$(BUILD)/curl-msgcb-client: tests/integration/curl_client.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DAT_MSG_CALLBACK -o $@ $< $(LDFLAGS) -lcurl \
	    /usr/lib/x86_64-linux-gnu/libssl.so.3

deps:
	@scripts/install-deps.sh

# make install PREFIX=DIR: the shim in DIR/lib, the inspector in DIR/bin,
# where `agenttrace run` finds the shim (../lib next to itself).
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libagenttrace.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(BUILD)/agenttrace $(DESTDIR)$(PREFIX)/bin/

unit: $(TEST_BIN)
	@scripts/run-unit.sh $(TEST_BIN)

integration: all
	@scripts/run-integration.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory unit integration
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory cli-test

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 LTO= \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    unit integration

# Under valgrind: the modules that manage memory by hand, the corpus test
# (every provider decoder over real recordings), the scanner decoders over
# their edge and random bodies (test_jscan; the localedef one of its tests
# runs is not ours to check), and real clients with the shim preloaded.  Every test binary also runs under ASan+UBSan (asan).
VG_TESTS := $(addprefix $(BUILD)/tests/,test_sink test_attrs test_sse test_encoding \
            test_h2 test_ndjson test_ring test_corpus test_jalloc test_jscan)
valgrind: $(VG_TESTS) all
	@VALGRIND=1 scripts/run-unit.sh $(VG_TESTS)
	@scripts/valgrind-clients.sh $(BUILD)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)

# ---- agenttrace, the inspector (cli/): build/agenttrace, its unit tests
# (tests/test_cli*.c, linked with build/libatcli.a) and `make cli-test`
# (unit tests, then the integration suite tests/cli/ against the real
# binary: shim-made spans, the mock server, an OTLP receiver on Node,
# headless Chromium).  `make bench-cli`: the 1,000,000-span benchmark.
CLI_SRC   := $(filter-out cli/main.c,$(wildcard cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/cli/assets.o
CLI_LIBS  := -ljansson -lcurl -lm
CLI_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_cli*.c))
.PHONY: cli cli-test bench-cli
all: $(BUILD)/agenttrace
cli: $(BUILD)/agenttrace

$(BUILD)/gen/cli_assets.c: cli/assets/page.html cli/assets/page.css cli/assets/page.js cli/embed.awk
	@mkdir -p $(dir $@)
	awk -f cli/embed.awk cli/assets/page.html cli/assets/page.css cli/assets/page.js > $@

$(BUILD)/obj/cli/assets.o: $(BUILD)/gen/cli_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libatcli.a: $(CLI_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/agenttrace: $(BUILD)/obj/cli/main.o $(BUILD)/libatcli.a
	$(CC) -o $@ $^ $(LDFLAGS) $(CLI_LIBS)

$(BUILD)/tests/test_cli%: tests/test_cli%.c $(BUILD)/libatcli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libatcli.a $(LDFLAGS) -lcriterion $(CLI_LIBS)

cli-test: deps all $(CLI_TESTS)
	@scripts/run-unit.sh $(CLI_TESTS)
	@tests/cli/run.sh $(BUILD)

bench-cli: all
	@scripts/bench-cli.sh $(BUILD)

# make bench: traced over untraced (instructions under callgrind, wall time
# in interleaved pairs) against a local nginx, the hooks alone
# (bench/micro_hooks.c), the sink's throughput (bench/sink_tp.c, on
# libatcore.a like the unit tests) and mitmdump; see bench/bench.py.
BENCH_CFLAGS := $(OPT) -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -I.

$(BUILD)/bench/micro_hooks: bench/micro_hooks.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lssl -lcrypto -lpthread

$(BUILD)/bench/sink_tp: bench/sink_tp.c $(BUILD)/libatcore.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BUILD)/libatcore.a -ljansson \
	    -lnghttp2 -lz -lbrotlienc -lbrotlidec -lbrotlicommon -lzstd -lm

bench: all $(BUILD)/bench/micro_hooks $(BUILD)/bench/sink_tp
	@/usr/bin/python3 bench/bench.py $(BUILD)
