/* http.c - JSON POSTs over libcurl with retry and backoff.  Runs in the
 * inspector's own process. */
#include "cli/http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

int at_cli_http_global_init(void)
{
    static int done;

    if (done)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    done = 1;
    return 0;
}

int at_cli_http_init(at_cli_http *h, const char *const *headers, size_t n)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    h->timeout_ms = 30000;
    h->retries = 5;
    h->backoff_ms = 500;
    h->backoff_max_ms = 30000;
    if (at_cli_http_global_init() < 0)
        return -1;
    h->curl = curl_easy_init();
    if (h->curl == NULL)
        return -1;
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    h->headers = curl_slist_append(h->headers, "Expect:");
    h->headers = curl_slist_append(h->headers, "User-Agent: agenttrace/"
                                               AT_CLI_VERSION);
    for (i = 0; i < n; i++)
        h->headers = curl_slist_append(h->headers, headers[i]);
    return h->headers ? 0 : -1;
}

void at_cli_http_free(at_cli_http *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    h->curl = NULL;
    h->headers = NULL;
}

void at_cli_http_resp_init(at_cli_http_resp *r)
{
    memset(r, 0, sizeof(*r));
    at_cli_buf_init(&r->body);
    r->retry_after_s = -1;
}

void at_cli_http_resp_free(at_cli_http_resp *r)
{
    at_cli_buf_free(&r->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    at_cli_buf *b = user;

    if (b->len + size * n > ((size_t)64 << 20))
        return 0; /* refuse a runaway answer */
    at_cli_buf_add(b, p, size * n);
    return size * n;
}

int at_cli_http_post(at_cli_http *h, const char *url, const char *body,
                     size_t len, at_cli_http_resp *r)
{
    CURL *c = h->curl;
    CURLcode rc;
    curl_off_t ra = -1;

    at_cli_buf_reset(&r->body);
    r->status = 0;
    r->retry_after_s = -1;
    r->error[0] = '\0';
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     h->timeout_ms < 10000 ? h->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (h->cainfo != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cainfo);
    rc = curl_easy_perform(c);
    r->attempts++;
    if (rc != CURLE_OK) {
        snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
        ra >= 0)
        r->retry_after_s = (long)ra;
    if (r->body.data == NULL)
        at_cli_buf_add(&r->body, "", 0);
    return 0;
}

int at_cli_http_retryable(const at_cli_http_resp *r)
{
    return r->status == 0 || r->status == 429 || r->status >= 500;
}

/* nap: sleep ms unless *stop becomes set (checked every 50 ms). */
static void nap(long ms, volatile int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        long step = ms < 50 ? ms : 50;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};

        nanosleep(&ts, NULL);
        ms -= step;
    }
}

int at_cli_http_post_retry(at_cli_http *h, const char *url, const char *body,
                           size_t len, at_cli_http_resp *r)
{
    long wait = h->backoff_ms;
    int attempt;

    r->attempts = 0;
    for (attempt = 0;; attempt++) {
        at_cli_http_post(h, url, body, len, r);
        if (r->status >= 200 && r->status < 300)
            return 0;
        if (!at_cli_http_retryable(r) || attempt >= h->retries ||
            (h->stop && *h->stop))
            return -1;
        {
            long ms = wait - (long)((double)wait * 0.25 *
                                    ((double)rand() / RAND_MAX));

            if (r->retry_after_s >= 0 && r->retry_after_s * 1000 > ms)
                ms = r->retry_after_s * 1000;
            if (ms > h->backoff_max_ms)
                ms = h->backoff_max_ms;
            nap(ms, h->stop);
        }
        wait = wait * 2 > h->backoff_max_ms ? h->backoff_max_ms : wait * 2;
    }
}
