/* curl_msgcb_client.c - a libcurl (OpenSSL) client for the integration
 * tests that installs an OpenSSL message callback of its own, from
 * CURLOPT_SSL_CTX_FUNCTION: the shim leaves out only the TLS message
 * trace libcurl installs for handles made verbose by the capture, never
 * an application's.
 *
 *   curl-msgcb-client URL CA_FILE BODY
 *
 * POSTs BODY (JSON) to URL and prints the response body.  Exit 0 on a 2xx
 * answer during which the callback saw TLS records, 3 when it saw none. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdio.h>

/* libssl's, declared here: no OpenSSL headers needed */
typedef void (*msg_cb)(int write_p, int version, int content_type,
                       const void *buf, size_t len, void *ssl, void *arg);
void SSL_CTX_set_msg_callback(void *ctx, msg_cb cb);

static long records;

static void on_msg(int write_p, int version, int content_type,
                   const void *buf, size_t len, void *ssl, void *arg)
{
    (void)write_p, (void)version, (void)content_type, (void)buf;
    (void)len, (void)ssl, (void)arg;
    records++;
}

static CURLcode on_ctx(CURL *h, void *ctx, void *ud)
{
    (void)h, (void)ud;
    SSL_CTX_set_msg_callback(ctx, on_msg);
    return CURLE_OK;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    (void)ud;
    return fwrite(p, size, n, stdout) * size;
}

int main(int argc, char **argv)
{
    CURL *h;
    struct curl_slist *hd = NULL;
    long status = 0;
    CURLcode c;

    if (argc != 4) {
        fprintf(stderr, "usage: %s URL CA_FILE BODY\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, argv[1]);
    curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, argv[3]);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ctx);
    c = curl_easy_perform(h);
    if (c != CURLE_OK)
        fprintf(stderr, "curl: %s\n", curl_easy_strerror(c));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    if (c != CURLE_OK || status < 200 || status >= 300)
        return 1;
    return records > 0 ? 0 : 3;
}
