/* jansson_host.c - a host that uses jansson itself, with its own allocator,
 * for the integration tests: the shim's jansson must be its own copy.
 *
 *   jansson-host URL CA_FILE SPAN_FILE
 *
 * Installs counting allocation functions with json_set_alloc_funcs, builds
 * a chat request with jansson, POSTs it with libcurl, parses the answer
 * with jansson and prints its first choice's text; then waits (at most 10
 * s) until SPAN_FILE holds a chat span, so that the shim's sink has decoded
 * the exchange, and prints how many allocations and frees reached the
 * host's functions from threads other than the main one.  A shim sharing
 * the host's jansson would make them from its sink thread.  Exit 0 when
 * none did, 3 when some did, 1 on any other failure. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_t main_thread;
static atomic_long allocs, foreign;

static void *count_malloc(size_t n)
{
    allocs++;
    if (!pthread_equal(pthread_self(), main_thread))
        foreign++;
    return malloc(n);
}

static void count_free(void *p)
{
    if (p && !pthread_equal(pthread_self(), main_thread))
        foreign++;
    free(p);
}

typedef struct { char *p; size_t n; } buf;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    char *q = realloc(b->p, b->n + size * n + 1);

    if (!q)
        return 0;
    memcpy(q + b->n, p, size * n);
    b->p = q;
    b->n += size * n;
    b->p[b->n] = '\0';
    return size * n;
}

static int span_written(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[65536];
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "\"name\":\"chat ") != NULL;
    fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    json_t *req, *resp, *text;
    char *body;
    buf got = {0};
    CURL *h;
    struct curl_slist *hdr;
    long code = 0;
    int i;

    if (argc != 4)
        return 1;
    main_thread = pthread_self();
    json_set_alloc_funcs(count_malloc, count_free);
    req = json_pack("{s:s, s:[{s:s, s:s}]}", "model", "gpt-4o-mini",
                    "messages", "role", "user", "content",
                    "a host with its own jansson");
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, argv[1]);
    curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
    if (curl_easy_perform(h) != CURLE_OK)
        return 1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    free(body);
    resp = got.p ? json_loads(got.p, 0, NULL) : NULL;
    text = json_object_get(json_object_get(json_array_get(
        json_object_get(resp, "choices"), 0), "message"), "content");
    if (code != 200 || !json_is_string(text))
        return 1;
    printf("%s\n", json_string_value(text));
    json_decref(resp);
    free(got.p);
    for (i = 0; i < 1000 && !span_written(argv[3]); i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    printf("span %s; host allocations %ld, from other threads %ld\n",
           i < 1000 ? "written" : "missing", (long)allocs, (long)foreign);
    curl_global_cleanup();
    return foreign ? 3 : 0;
}
