/* corpus_records.h - ../shared/corpus as the records the OpenSSL hooks
 * would push: for the tests that play every recorded exchange through a
 * real sink (test_oom.c, test_fuzz.c).  Static functions: include it in
 * one test file.
 *
 * Each exchange is the request in one write and the response head in one
 * read, its body re-chunked (Transfer-Encoding: chunked, 700 bytes a
 * chunk, one read each).  load_corpus() reads every provider's folder,
 * in name order (a tool call's exchange before its result's). */
#ifndef AT_TEST_CORPUS_RECORDS_H
#define AT_TEST_CORPUS_RECORDS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode/buf.h"
#include "preload/ring.h"
#include "sink/span.h"

#ifndef CORPUS_DIR
#define CORPUS_DIR "../shared/corpus"
#endif

typedef struct piece {
    int dir;            /* 0 out (request), 1 in (response) */
    char *p;
    size_t len;
} piece;

typedef struct exch {
    char name[96];
    char sni[256];      /* the host, for TLS ("" for plain HTTP) */
    int tls, port;
    piece *pieces;      /* as HTTP/1.1 */
    size_t n, cap;
    /* the recording itself, for other framings (test_fuzz.c's HTTP/2) */
    json_t *rq, *rs;    /* request.json, response.json */
    char *path;         /* the request target */
    char *req_body, *resp_body;
    size_t req_len, resp_len;
} exch;

static exch *corpus;
static size_t n_corpus;

/* The OPEN record's payload for a connection that carries e: its server
 * (TLS: its name), and with `h2` ALPN "h2" when it is TLS (plain HTTP/2
 * is told by its preface). */
static void open_info(const exch *e, int h2, at_open_info *info)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->sni, sizeof(info->sni), "%s", e->sni);
    strcpy(info->addr, "192.0.2.1");
    info->port = (uint16_t)e->port;
    info->family = 2;
    info->tls = (uint8_t)e->tls;
    if (h2 && e->tls) {
        memcpy(info->alpn, "h2", 2);
        info->alpn_len = 2;
    }
}

/* A process for the sink's spans: this one, in a trace of `fill` bytes,
 * its span `span`, started at a fixed moment. */
static void test_proc(at_proc *p, unsigned char fill, uint64_t span)
{
    memset(p, 0, sizeof(*p));
    p->pid = getpid();
    p->ppid = getppid();
    memset(p->trace_id, fill, 16);
    p->span_id = span;
    p->start_wall_ns = 1700000000000000000ull;
    p->start_mono_ns = 1000;
}

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char path[1024];
    FILE *f;
    char *p;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    cr_assert(fread(p, 1, (size_t)n, f) == (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* The pieces are built in the project's own buffers (decode/buf.h). */
static void adds(at_buf *t, const char *s)
{
    cr_assert(at_buf_append(t, s, strlen(s)) == 0);
}

static void piece_add(exch *e, int dir, at_buf *t)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 16;
        e->pieces = realloc(e->pieces, e->cap * sizeof(piece));
        cr_assert_not_null(e->pieces);
    }
    cr_assert_not_null(t->p);
    e->pieces[e->n++] = (piece){dir, t->p, t->len};
    at_buf_init(t, (size_t)1 << 30);   /* the next piece's, empty */
}

/* Header lines of a recorded {"Name": "value" | [values]} object, but
 * those named in `skip` (lower case, '|' separated). */
static void headers(at_buf *t, json_t *h, const char *skip)
{
    const char *k;
    json_t *v, *x;
    size_t i;

    json_object_foreach(h, k, v) {
        char low[128];
        size_t j;

        for (j = 0; k[j] && j < sizeof(low) - 3; j++)
            low[j + 1] = (char)(k[j] >= 'A' && k[j] <= 'Z' ? k[j] + 32 : k[j]);
        low[0] = '|';
        low[j + 1] = '|';
        low[j + 2] = '\0';
        if (strstr(skip, low))
            continue;
        for (i = 0; i < (json_is_array(v) ? json_array_size(v) : 1); i++) {
            x = json_is_array(v) ? json_array_get(v, i) : v;
            adds(t, k);
            adds(t, ": ");
            adds(t, json_string_value(x) ? json_string_value(x) : "");
            adds(t, "\r\n");
        }
    }
}

/* One recorded exchange as the OpenSSL hooks would see it: the request
 * in one write, the response head in one read, its body re-chunked in
 * reads of 700 bytes (one chunk each). */
static void load_exchange(const char *dir, const char *name)
{
    exch *e = &corpus[n_corpus];
    json_error_t err;
    json_t *rq, *rs;
    const char *url, *host, *path;
    char *body;
    size_t blen, i;
    at_buf t;
    char line[256];

    memset(e, 0, sizeof(*e));
    at_buf_init(&t, (size_t)1 << 30);
    snprintf(e->name, sizeof(e->name), "%s", name);
    body = slurp(dir, "request.json", &blen);
    rq = json_loadb(body, blen, 0, &err);
    free(body);
    body = slurp(dir, "response.json", &blen);
    rs = json_loadb(body, blen, 0, &err);
    free(body);
    cr_assert(rq && rs, "%s: unreadable recording", dir);
    url = json_string_value(json_object_get(rq, "url"));
    cr_assert(url && (strncmp(url, "https://", 8) == 0 ||
                      strncmp(url, "http://", 7) == 0), "%s: url", dir);
    e->tls = url[4] == 's';
    host = url + (e->tls ? 8 : 7);
    path = strchr(host, '/');
    {
        size_t hl = path ? (size_t)(path - host) : strlen(host);
        const char *colon = memchr(host, ':', hl);

        e->port = colon ? atoi(colon + 1) : e->tls ? 443 : 80;
        if (colon)
            hl = (size_t)(colon - host);
        if (e->tls)
            snprintf(e->sni, sizeof(e->sni), "%.*s", (int)hl, host);
    }
    adds(&t, json_string_value(json_object_get(rq, "method")));
    adds(&t, " ");
    adds(&t, path ? path : "/");
    adds(&t, " HTTP/1.1\r\n");
    headers(&t, json_object_get(rq, "headers"), "|transfer-encoding|");
    adds(&t, "\r\n");
    body = slurp(dir, "request.body", &blen);
    cr_assert(at_buf_append(&t, body, blen) == 0);
    e->req_body = body;
    e->req_len = blen;
    e->path = strdup(path ? path : "/");
    piece_add(e, 0, &t);

    snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n",
             (int)json_integer_value(json_object_get(rs, "status")),
             json_string_value(json_object_get(rs, "reason"))
                 ? json_string_value(json_object_get(rs, "reason")) : "X");
    adds(&t, line);
    headers(&t, json_object_get(rs, "headers"),
            "|transfer-encoding|content-length|");
    adds(&t, "Transfer-Encoding: chunked\r\n\r\n");
    piece_add(e, 1, &t);
    body = slurp(dir, "response.body", &blen);
    for (i = 0; i < blen; i += 700) {
        size_t k = blen - i < 700 ? blen - i : 700;

        snprintf(line, sizeof(line), "%zx\r\n", k);
        adds(&t, line);
        cr_assert(at_buf_append(&t, body + i, k) == 0);
        adds(&t, "\r\n");
        piece_add(e, 1, &t);
    }
    adds(&t, "0\r\n\r\n");
    piece_add(e, 1, &t);
    at_buf_free(&t);
    e->resp_body = body;
    e->resp_len = blen;
    e->rq = rq;
    e->rs = rs;
    n_corpus++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every provider's folder's exchanges, in name order (so that a tool
 * call's exchange comes before its result's, chat_tool_calls before
 * chat_tool_result_followup). */
static void load_corpus(void)
{
    const char *root = getenv("AT_CORPUS") ? getenv("AT_CORPUS") : CORPUS_DIR;
    char *names[256];
    size_t n = 0, i;
    DIR *d = opendir(root), *sub;
    struct dirent *de, *se;

    if (corpus)
        return;
    cr_assert_not_null(d, "no corpus at %s", root);
    while ((de = readdir(d)) != NULL && n < 256) {
        char p[512];

        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
        if ((sub = opendir(p)) == NULL)
            continue;
        while ((se = readdir(sub)) != NULL && n < 256) {
            char q[1024];

            if (se->d_name[0] == '.')
                continue;
            snprintf(q, sizeof(q), "%s/%s/request.json", p, se->d_name);
            if (access(q, R_OK) != 0)
                continue;
            snprintf(q, sizeof(q), "%s/%s", de->d_name, se->d_name);
            names[n++] = strdup(q);
        }
        closedir(sub);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    corpus = calloc(n, sizeof(exch));
    for (i = 0; i < n; i++) {
        char dir[1100];

        snprintf(dir, sizeof(dir), "%s/%s", root, names[i]);
        load_exchange(dir, names[i]);
        free(names[i]);
    }
    cr_assert(n_corpus >= 30, "only %zu recordings", n_corpus);
}

#endif
