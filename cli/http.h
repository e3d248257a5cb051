/* http.h - HTTP POST of a JSON body over libcurl, for `export otlp` and
 * `eval`, with retry and exponential backoff for the answers worth
 * retrying.  Runs in the inspector's own process. */
#ifndef AT_CLI_HTTP_H
#define AT_CLI_HTTP_H

#include <stddef.h>

#include "cli/util.h"

typedef struct at_cli_http {
    void *curl;            /* CURL* */
    struct curl_slist *headers;
    long timeout_ms;       /* whole request */
    /* retry policy (at_cli_http_post_retry) */
    int retries;           /* extra attempts after the first */
    long backoff_ms;       /* first wait; doubled each time */
    long backoff_max_ms;
    volatile int *stop;    /* when set non-zero, stop waiting and fail */
    const char *cainfo;    /* CA bundle to trust (PEM), or NULL */
} at_cli_http;

/* A response. */
typedef struct at_cli_http_resp {
    long status;           /* 0: no HTTP answer (transport error) */
    at_cli_buf body;
    long retry_after_s;    /* Retry-After in seconds, or -1 */
    char error[256];       /* transport error, when status is 0 */
    int attempts;
} at_cli_http_resp;

/* at_cli_http_init: a handle sending `Content-Type: application/json`
 * and the given extra headers ("Name: value" each).  Returns 0, or -1
 * (libcurl could not start). */
int at_cli_http_init(at_cli_http *h, const char *const *headers, size_t n);
void at_cli_http_free(at_cli_http *h);

void at_cli_http_resp_init(at_cli_http_resp *r);
void at_cli_http_resp_free(at_cli_http_resp *r);

/* at_cli_http_post: one POST.  Returns 0 when an HTTP answer came (any
 * status, in r->status), -1 on a transport error (r->error). */
int at_cli_http_post(at_cli_http *h, const char *url, const char *body,
                     size_t len, at_cli_http_resp *r);

/* at_cli_http_retryable: a transport error, 429, or any 5xx. */
int at_cli_http_retryable(const at_cli_http_resp *r);

/* at_cli_http_post_retry: POST, and again after a wait while the answer
 * is retryable, at most h->retries more times: the wait is backoff_ms,
 * doubled each attempt, capped at backoff_max_ms, jittered down by up to
 * a quarter, and never shorter than a Retry-After.  Returns 0 with a 2xx
 * in r->status, else -1 (r holds the last answer). */
int at_cli_http_post_retry(at_cli_http *h, const char *url, const char *body,
                           size_t len, at_cli_http_resp *r);

/* at_cli_http_global_init: curl_global_init once; 0 or -1. */
int at_cli_http_global_init(void);

#endif
