/* test_hpack.c - the HPACK decoder (decode/hpack.c): RFC 7541's own
 * examples (Appendix C, checked with Python's hpack too), libnghttp2's
 * encoder as an independent oracle over thousands of blocks (dynamic
 * table, evictions, size updates, every octet through Huffman), and every
 * kind of malformed block. */
#include <criterion/criterion.h>

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/hpack.h"

/* The fields one block decoded to, as "name: value\n" lines. */
typedef struct {
    char text[1 << 16];
    size_t len;
    int stop_after; /* emit returns nonzero at this field (0: never) */
    int n;
} got_t;

static int collect(void *ud, const char *name, size_t nlen,
                   const char *value, size_t vlen)
{
    got_t *g = ud;

    g->n++;
    if (g->len + nlen + vlen + 3 < sizeof(g->text)) {
        memcpy(g->text + g->len, name, nlen);
        g->len += nlen;
        memcpy(g->text + g->len, ": ", 2);
        g->len += 2;
        memcpy(g->text + g->len, value, vlen);
        g->len += vlen;
        g->text[g->len++] = '\n';
        g->text[g->len] = '\0';
    }
    return g->stop_after && g->n == g->stop_after;
}

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    unsigned v;

    while (hex[0] && hex[1] && sscanf(hex, "%2x", &v) == 1) {
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static int decode_hex(at_hpack *d, const char *hex, got_t *g)
{
    uint8_t buf[512];
    size_t n = unhex(hex, buf);

    memset(g, 0, sizeof(*g));
    return at_hpack_decode(d, buf, n, collect, g);
}

/* ---- RFC 7541 Appendix C ---------------------------------------------- */

Test(hpack, rfc7541_c4_requests_with_huffman)
{
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));

    at_hpack_init(&d);
    cr_assert_eq(decode_hex(&d, "828684418cf1e3c2e5f23a6ba0ab90f4ff", g), 0);
    cr_assert_str_eq(g->text, ":method: GET\n:scheme: http\n:path: /\n"
                              ":authority: www.example.com\n");
    cr_assert_eq(d.size, 57);
    cr_assert_eq(decode_hex(&d, "828684be5886a8eb10649cbf", g), 0);
    cr_assert_str_eq(g->text, ":method: GET\n:scheme: http\n:path: /\n"
                              ":authority: www.example.com\n"
                              "cache-control: no-cache\n");
    cr_assert_eq(d.size, 110);
    cr_assert_eq(decode_hex(&d, "828785bf408825a849e95ba97d7f8925a849e95b"
                                "b8e8b4bf", g), 0);
    cr_assert_str_eq(g->text, ":method: GET\n:scheme: https\n"
                              ":path: /index.html\n"
                              ":authority: www.example.com\n"
                              "custom-key: custom-value\n");
    cr_assert_eq(d.size, 164);
    cr_assert_eq(d.n, 3);
    at_hpack_free(&d);
    free(g);
}

/* C.6: responses, Huffman, a 256-byte table: the third block evicts. */
Test(hpack, rfc7541_c6_responses_evicting)
{
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));

    at_hpack_init(&d);
    at_hpack_set_limit(&d, 256);
    cr_assert_eq(decode_hex(&d, "488264025885aec3771a4b6196d07abe941054d4"
                                "44a8200595040b8166e082a62d1bff6e919d29ad"
                                "171863c78f0b97c8e9ae82ae43d3", g), 0);
    cr_assert_str_eq(g->text, ":status: 302\ncache-control: private\n"
                              "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
                              "location: https://www.example.com\n");
    cr_assert_eq(d.size, 222);
    cr_assert_eq(decode_hex(&d, "4883640effc1c0bf", g), 0);
    cr_assert_str_eq(g->text, ":status: 307\ncache-control: private\n"
                              "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
                              "location: https://www.example.com\n");
    cr_assert_eq(d.size, 222);
    cr_assert_eq(decode_hex(&d, "88c16196d07abe941054d444a8200595040b8166"
                                "e084a62d1bffc05a839bd9ab77ad94e7821dd7f2"
                                "e6c7b335dfdfcd5b3960d5af27087f3672c1ab27"
                                "0fb5291f9587316065c003ed4ee5b1063d5007",
                                g), 0);
    cr_assert_str_eq(g->text, ":status: 200\ncache-control: private\n"
                              "date: Mon, 21 Oct 2013 20:13:22 GMT\n"
                              "location: https://www.example.com\n"
                              "content-encoding: gzip\n"
                              "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; "
                              "max-age=3600; version=1\n");
    cr_assert_eq(d.size, 215);
    cr_assert_eq(d.n, 3);
    at_hpack_free(&d);
    free(g);
}

/* ---- libnghttp2's encoder as the oracle --------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* deflate nv[0 .. n) with `def` and check that `d` decodes exactly it. */
static void round_trip(nghttp2_hd_deflater *def, at_hpack *d,
                       const nghttp2_nv *nv, size_t n, got_t *g)
{
    uint8_t out[1 << 17];
    char want[1 << 16];
    size_t wl = 0, i;
    ssize_t len;

    len = nghttp2_hd_deflate_hd(def, out, sizeof(out), (nghttp2_nv *)nv, n);
    cr_assert_gt(len, 0);
    for (i = 0; i < n; i++) {
        memcpy(want + wl, nv[i].name, nv[i].namelen);
        wl += nv[i].namelen;
        memcpy(want + wl, ": ", 2);
        wl += 2;
        memcpy(want + wl, nv[i].value, nv[i].valuelen);
        wl += nv[i].valuelen;
        want[wl++] = '\n';
    }
    memset(g, 0, sizeof(*g));
    cr_assert_eq(at_hpack_decode(d, out, (size_t)len, collect, g), 0);
    cr_assert_eq(g->len, wl);
    cr_assert(memcmp(g->text, want, wl) == 0, "decoded:\n%.*s\nwant:\n%.*s",
              (int)g->len, g->text, (int)wl, want);
}

static nghttp2_nv mknv(const char *name, const char *value, size_t vlen,
                       uint8_t flags)
{
    nghttp2_nv nv = { (uint8_t *)name, (uint8_t *)value, strlen(name), vlen,
                      flags };
    return nv;
}

/* A request and a response header list much like an LLM client's, with
 * values that vary, names the static table has and names it has not,
 * and a never-indexed authorization; table sizes from tiny (every block
 * evicts) to the default. */
Test(hpack, nghttp2_encoder_agrees_over_thousands_of_blocks)
{
    static const size_t sizes[] = { 4096, 256, 128, 64, 0, 65536 };
    static const char *names[] = {
        ":method", ":path", ":authority", ":scheme", "content-type",
        "x-request-id", "openai-processing-ms", "authorization",
        "user-agent", "x-stainless-retry-count", "date", "cookie",
        "anthropic-ratelimit-tokens-remaining", "accept-encoding"
    };
    got_t *g = calloc(1, sizeof(*g));
    size_t si, b, i;

    for (si = 0; si < sizeof(sizes) / sizeof(*sizes); si++) {
        nghttp2_hd_deflater *def;
        at_hpack d;

        cr_assert_eq(nghttp2_hd_deflate_new(&def, sizes[si]), 0);
        at_hpack_init(&d);
        at_hpack_set_limit(&d, (uint32_t)sizes[si]);
        for (b = 0; b < 500; b++) {
            nghttp2_nv nv[16];
            char vals[16][200];
            size_t n = 1 + rnd(14);

            for (i = 0; i < n; i++) {
                const char *nm = names[rnd(sizeof(names) / sizeof(*names))];
                size_t vl = rnd(4) == 0 ? rnd(190) : rnd(12), k;

                for (k = 0; k < vl; k++)
                    vals[i][k] = (char)(rnd(3) ? 'a' + rnd(26)
                                               : ' ' + rnd(95));
                nv[i] = mknv(nm, vals[i], vl,
                             strcmp(nm, "authorization") == 0
                                 ? NGHTTP2_NV_FLAG_NO_INDEX
                                 : NGHTTP2_NV_FLAG_NONE);
            }
            round_trip(def, &d, nv, n, g);
            cr_assert_leq(d.size, d.max);
        }
        nghttp2_hd_deflate_del(def);
        at_hpack_free(&d);
    }
    free(g);
}

/* The encoder shrinks and regrows its table: size updates at the start of
 * the next block, which the decoder follows within SETTINGS' limit. */
Test(hpack, size_updates_follow_the_encoder)
{
    static const size_t steps[] = { 4096, 100, 0, 4096, 2000, 64, 4096 };
    nghttp2_hd_deflater *def;
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));
    size_t s, b;

    cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
    at_hpack_init(&d);
    for (s = 0; s < sizeof(steps) / sizeof(*steps); s++) {
        cr_assert_eq(nghttp2_hd_deflate_change_table_size(def, steps[s]), 0);
        for (b = 0; b < 20; b++) {
            char v[32];
            nghttp2_nv nv[3];

            snprintf(v, sizeof(v), "value-%zu-%zu", s, b % 3);
            nv[0] = mknv(":status", "200", 3, NGHTTP2_NV_FLAG_NONE);
            nv[1] = mknv("x-custom-header", v, strlen(v),
                         NGHTTP2_NV_FLAG_NONE);
            nv[2] = mknv("content-length", "123", 3, NGHTTP2_NV_FLAG_NONE);
            round_trip(def, &d, nv, 3, g);
            cr_assert_leq(d.size, d.max);
            cr_assert_leq(d.max, steps[s]);
        }
    }
    nghttp2_hd_deflate_del(def);
    at_hpack_free(&d);
    free(g);
}

/* Every octet, 0 to 255, through a Huffman-coded string (nghttp2 codes a
 * value with Huffman when that is shorter, so each rare octet comes
 * amid common letters). */
Test(hpack, every_octet_through_huffman)
{
    nghttp2_hd_deflater *def;
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));
    int c;

    cr_assert_eq(nghttp2_hd_deflate_new(&def, 0), 0);
    at_hpack_init(&d);
    at_hpack_set_limit(&d, 0);
    for (c = 0; c < 256; c++) {
        char v[64];
        nghttp2_nv nv;

        memset(v, 'e', sizeof(v));
        v[31] = (char)c;
        nv = mknv("x-octet", v, sizeof(v), NGHTTP2_NV_FLAG_NONE);
        round_trip(def, &d, &nv, 1, g);
    }
    nghttp2_hd_deflate_del(def);
    at_hpack_free(&d);
    free(g);
}

/* Huffman strings of every length up to 64 of one rare and one common
 * symbol: the padding after each of them (0 to 7 bits) is accepted. */
Test(hpack, huffman_padding_of_every_length)
{
    nghttp2_hd_deflater *def;
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));
    size_t len;

    cr_assert_eq(nghttp2_hd_deflate_new(&def, 0), 0);
    at_hpack_init(&d);
    at_hpack_set_limit(&d, 0);
    for (len = 1; len <= 64; len++) {
        char v[64];
        nghttp2_nv nv;
        size_t k;

        for (k = 0; k < len; k++)
            v[k] = k % 7 == 3 ? '~' : 'a' + (char)(k % 26);
        nv = mknv("x-pad", v, len, NGHTTP2_NV_FLAG_NONE);
        round_trip(def, &d, &nv, 1, g);
    }
    nghttp2_hd_deflate_del(def);
    at_hpack_free(&d);
    free(g);
}

/* ---- section 4.4: a new entry naming the entry it evicts ---------------- */

Test(hpack, literal_naming_the_entry_it_evicts_keeps_the_name)
{
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));

    at_hpack_init(&d);
    /* size update to 64; then abc: xyz (38 bytes) is added */
    cr_assert_eq(decode_hex(&d, "3f21" "4003616263" "0378797a", g), 0);
    cr_assert_str_eq(g->text, "abc: xyz\n");
    cr_assert_eq(d.size, 38);
    /* with indexing, name 62 (abc), value of 10: 38 + 45 > 64 evicts abc */
    cr_assert_eq(decode_hex(&d, "7e" "0a30313233343536373839", g), 0);
    cr_assert_str_eq(g->text, "abc: 0123456789\n");
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.size, 45);
    cr_assert_eq(decode_hex(&d, "be", g), 0);
    cr_assert_str_eq(g->text, "abc: 0123456789\n");
    at_hpack_free(&d);
    free(g);
}

Test(hpack, entry_larger_than_the_table_empties_it)
{
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));

    at_hpack_init(&d);
    cr_assert_eq(decode_hex(&d, "3f21" "4003616263" "0378797a", g), 0);
    cr_assert_eq(d.n, 1);
    /* 3 + 40 + 32 > 64: not added, and the table is empty */
    cr_assert_eq(decode_hex(&d, "4003616263" "28"
                                "30313233343536373839303132333435363738393031"
                                "323334353637383930313233343536373839", g), 0);
    cr_assert_eq(g->n, 1);
    cr_assert_eq(d.n, 0);
    cr_assert_eq(d.size, 0);
    cr_assert_neq(decode_hex(&d, "be", g), 0); /* nothing at 62 now */
    at_hpack_free(&d);
    free(g);
}

/* ---- malformed blocks ---------------------------------------------------- */

static int bad(const char *hex)
{
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));
    int rc;

    at_hpack_init(&d);
    rc = decode_hex(&d, hex, g);
    at_hpack_free(&d);
    free(g);
    return rc;
}

Test(hpack, malformed_blocks_fail)
{
    cr_assert_neq(bad("80"), 0, "index 0");
    cr_assert_neq(bad("be"), 0, "index 62, empty dynamic table");
    cr_assert_neq(bad("ff00"), 0, "index past the tables");
    cr_assert_neq(bad("ff"), 0, "integer cut short");
    cr_assert_neq(bad("ffffffffff7f"), 0, "integer of five more bytes");
    cr_assert_neq(bad("ff8080808001"), 0, "integer past 2^28");
    cr_assert_neq(bad("400361"), 0, "name longer than the block");
    cr_assert_neq(bad("40"), 0, "literal without its name");
    cr_assert_neq(bad("4003616263"), 0, "literal without its value");
    cr_assert_neq(bad("0003616263" "03787a"), 0, "value cut short");
    cr_assert_neq(bad("3fe21f"), 0, "size update above SETTINGS' 4096");
    cr_assert_neq(bad("82" "3f21"), 0, "size update after a field");
    /* Huffman: 0x81 0xff = eight bits of padding */
    cr_assert_neq(bad("0003616263" "81ff"), 0, "padding of 8 bits");
    /* '0' is 00000; then 000 is padding that is not ones */
    cr_assert_neq(bad("0003616263" "8100"), 0, "padding not all ones");
    /* 32 ones hold EOS (30 ones) */
    cr_assert_neq(bad("0003616263" "84ffffffff"), 0, "EOS in a string");
    /* and what is fine */
    cr_assert_eq(bad("0003616263" "8107"), 0, "'0' + 111 padding");
    cr_assert_eq(bad(""), 0, "an empty block");
    {
        at_hpack d;

        at_hpack_init(&d);
        cr_assert_eq(at_hpack_decode(&d, NULL, 0, collect, NULL), 0,
                     "an empty block held by no buffer (h2.c's case)");
        at_hpack_free(&d);
    }
    cr_assert_eq(bad("3f21" "20"), 0, "two size updates, then nothing");
}

Test(hpack, emit_can_stop_the_block)
{
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));
    uint8_t buf[16];
    size_t n = unhex("828684", buf);

    at_hpack_init(&d);
    g->stop_after = 2;
    cr_assert_neq(at_hpack_decode(&d, buf, n, collect, g), 0);
    cr_assert_eq(g->n, 2);
    at_hpack_free(&d);
    free(g);
}

/* A table the peer allowed to be huge stops the connection when it grows
 * past AT_HPACK_TABLE_MAX, rather than keep gigabytes or guess. */
Test(hpack, table_past_the_cap_fails)
{
    at_hpack d;
    uint8_t *blk = malloc(70000);
    size_t len = 60000, i, n = 0, k;
    int rc = 0;

    at_hpack_init(&d);
    at_hpack_set_limit(&d, 0xffffffffu);
    /* size update to 2^31: 001 11111 then 2^31 - 31 in 7-bit groups */
    blk[n++] = 0x3f;
    {
        uint32_t v = 0x80000000u - 31;

        while (v >= 128) {
            blk[n++] = (uint8_t)(0x80 | (v & 0x7f));
            v >>= 7;
        }
        blk[n++] = (uint8_t)v;
    }
    /* the integer of 2^31 has five bytes: refused already */
    cr_assert_neq(at_hpack_decode(&d, blk, n, NULL, NULL), 0);
    at_hpack_free(&d);

    /* below 2^28 is read; the table then grows 60 kB at a time */
    at_hpack_init(&d);
    at_hpack_set_limit(&d, 0xffffffffu);
    n = 0;
    blk[n++] = 0x3f;
    {
        uint32_t v = (1u << 27) - 31;

        while (v >= 128) {
            blk[n++] = (uint8_t)(0x80 | (v & 0x7f));
            v >>= 7;
        }
        blk[n++] = (uint8_t)v;
    }
    cr_assert_eq(at_hpack_decode(&d, blk, n, NULL, NULL), 0);
    cr_assert_eq(d.max, 1u << 27);
    for (i = 0; i < 40 && rc == 0; i++) {
        n = 0;
        blk[n++] = 0x40;
        blk[n++] = 0x02;
        blk[n++] = 'x';
        blk[n++] = (uint8_t)('a' + i % 26);
        /* value length 60000: 7-bit prefix 127, then 59873 */
        blk[n++] = 0x7f;
        k = len - 127;
        while (k >= 128) {
            blk[n++] = (uint8_t)(0x80 | (k & 0x7f));
            k >>= 7;
        }
        blk[n++] = (uint8_t)k;
        memset(blk + n, 'v', len);
        n += len;
        rc = at_hpack_decode(&d, blk, n, NULL, NULL);
    }
    cr_assert_neq(rc, 0);
    cr_assert_leq(d.size, AT_HPACK_TABLE_MAX);
    cr_assert_geq(i, AT_HPACK_TABLE_MAX / (len + 34));
    at_hpack_free(&d);
    free(blk);
}

/* Scratch and table buffers grown by one large block are given back. */
Test(hpack, trim_gives_back_large_buffers)
{
    nghttp2_hd_deflater *def;
    at_hpack d;
    got_t *g = calloc(1, sizeof(*g));
    static char big[30000];
    nghttp2_nv nv;

    memset(big, 'q', sizeof(big));
    cr_assert_eq(nghttp2_hd_deflate_new(&def, 65536), 0);
    cr_assert_eq(nghttp2_hd_deflate_change_table_size(def, 65536), 0);
    at_hpack_init(&d);
    at_hpack_set_limit(&d, 65536);
    nv = mknv("x-big", big, sizeof(big), NGHTTP2_NV_FLAG_NONE);
    round_trip(def, &d, &nv, 1, g);
    cr_assert_geq(d.scratch_cap, 16384);
    at_hpack_trim(&d, 16384);
    cr_assert_eq(d.scratch_cap, 0);
    cr_assert_geq(d.tab_cap, 30000); /* still holds the entry */
    nv = mknv("x-small", "1", 1, NGHTTP2_NV_FLAG_NONE);
    /* the big entry stays live (65536 table): the next block still uses it */
    round_trip(def, &d, &nv, 1, g);
    nv = mknv("x-big", big, sizeof(big), NGHTTP2_NV_FLAG_NONE);
    round_trip(def, &d, &nv, 1, g);
    nghttp2_hd_deflate_del(def);
    at_hpack_free(&d);
    free(g);
}

/* Hostile input: random blocks, and random mutations of valid ones, never
 * read or write out of bounds (run under ASan and valgrind by make test)
 * and leave a table within its limits. */
Test(hpack, random_and_mutated_blocks_are_safe)
{
    uint8_t good[4096], blk[4096];
    int round;

    for (round = 0; round < 20000; round++) {
        nghttp2_hd_deflater *def;
        at_hpack d;
        size_t n, i;

        at_hpack_init(&d);
        if (round % 2) {
            n = rnd(64);
            for (i = 0; i < n; i++)
                blk[i] = (uint8_t)rnd(256);
        } else {
            nghttp2_nv nv[2];
            ssize_t len;

            nv[0] = mknv(":path", "/v1/chat/completions", 20,
                         NGHTTP2_NV_FLAG_NONE);
            nv[1] = mknv("x-stainless-lang", "python", 6,
                         NGHTTP2_NV_FLAG_NONE);
            /* a first block: literals, Huffman, insertions */
            cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
            len = nghttp2_hd_deflate_hd(def, good, sizeof(good), nv, 2);
            nghttp2_hd_deflate_del(def);
            cr_assert_gt(len, 0);
            memcpy(blk, good, (size_t)len);
            n = (size_t)len;
            for (i = 0; i < 1 + rnd(3); i++)
                blk[rnd((uint32_t)n)] ^= (uint8_t)(1u << rnd(8));
            if (rnd(4) == 0)
                n = rnd((uint32_t)n + 1); /* cut short */
        }
        (void)at_hpack_decode(&d, blk, n, NULL, NULL);
        cr_assert_leq(d.size, d.max);
        cr_assert_leq(d.max, d.limit);
        at_hpack_free(&d);
    }
}

/* The memo of Huffman strings (huffman_memo): literals sent again and
 * again, never indexed, as a client's and a server's encoders send them,
 * from a pool of values longer and shorter than what the memo keeps, more
 * than it has slots and some differing only in their middle bytes or
 * their last (the same slot, other text), each block checked against what
 * was encoded. */
Test(hpack, repeated_literals_through_the_memo)
{
    static const char *pool[] = {
        "/v1/chat/completions", "/v1/chat/completionz", "/v1/chat/complexions",
        "application/json", "application/jsoN", "nginx/1.22.1", "curl/7.88.1",
        "Mon, 07 Dec 2026 10:00:00 GMT", "Mon, 07 Dec 2026 10:00:01 GMT",
        "79", "80", "a", "",
        "a value long enough that its Huffman bytes are more than the memo "
        "keeps, so it is decoded every time",
        "a value long enough that its Huffman bytes are more than the memo "
        "keeps, so it is decoded every timf",
        "text/event-stream; charset=utf-8", "keep-alive", "gzip, deflate, br",
        "x-request-id-0123456789abcdef", "x-request-id-0123456789abcdeg",
    };
    static const char *names[] = {":path", "content-type", "server",
                                  "user-agent", "date", "x-custom-header"};
    got_t *g = calloc(1, sizeof(*g));
    nghttp2_hd_deflater *def;
    at_hpack d;
    size_t b, i, np = sizeof(pool) / sizeof(*pool);

    cr_assert_eq(nghttp2_hd_deflate_new(&def, 0), 0);
    at_hpack_init(&d);
    at_hpack_set_limit(&d, 0);
    for (b = 0; b < 3000; b++) {
        nghttp2_nv nv[8];
        size_t n = 1 + rnd(8);

        for (i = 0; i < n; i++) {
            const char *v = pool[rnd(np)];

            nv[i] = mknv(names[rnd(sizeof(names) / sizeof(*names))], v,
                         strlen(v), NGHTTP2_NV_FLAG_NO_INDEX);
        }
        round_trip(def, &d, nv, n, g);
    }
    nghttp2_hd_deflate_del(def);
    at_hpack_free(&d);
    free(g);
}
