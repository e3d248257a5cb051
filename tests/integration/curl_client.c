/* curl_client.c - a small libcurl client for the integration tests,
 * built twice:
 *   curl-gnutls-client: linked against Debian's libcurl-gnutls.so.4, whose
 *     TLS (GnuTLS) the OpenSSL hooks never see;
 *   curl-msgcb-client (AT_MSG_CALLBACK): libcurl on OpenSSL, with an
 *     OpenSSL message callback of its own set from CURLOPT_SSL_CTX_FUNCTION
 *     (the shim leaves out only the TLS message trace libcurl installs for
 *     handles made verbose by the capture, never an application's).
 *
 *   CLIENT easy|multi URL CA_FILE BODY
 *
 * POSTs BODY (JSON) to URL with the easy or the multi interface and prints
 * the response body.  Exit 0 on a 2xx answer; curl-msgcb-client exits 3
 * when its callback saw no TLS record. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#ifdef AT_MSG_CALLBACK
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
#endif

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    (void)ud;
    return fwrite(p, size, n, stdout) * size;
}

static int run_multi(CURL *h)
{
    CURLM *m = curl_multi_init();
    int running = 1, left;
    CURLMsg *msg;
    CURLcode rc = CURLE_OK;

    curl_multi_add_handle(m, h);
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
            rc = msg->data.result;
    curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
    return rc == CURLE_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    CURL *h;
    struct curl_slist *hd = NULL;
    long status = 0;
    int rc;

    if (argc != 5) {
        fprintf(stderr, "usage: %s easy|multi URL CA_FILE BODY\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Authorization: Bearer sk-gnutls-SECRET-0123");
    curl_easy_setopt(h, CURLOPT_URL, argv[2]);
    curl_easy_setopt(h, CURLOPT_CAINFO, argv[3]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, argv[4]);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
#ifdef AT_MSG_CALLBACK
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ctx);
#endif
    if (!strcmp(argv[1], "multi")) {
        rc = run_multi(h);
    } else {
        CURLcode c = curl_easy_perform(h);

        if (c != CURLE_OK)
            fprintf(stderr, "curl: %s\n", curl_easy_strerror(c));
        rc = c == CURLE_OK ? 0 : 1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    if (rc != 0 || status < 200 || status >= 300)
        return 1;
#ifdef AT_MSG_CALLBACK
    if (records == 0)
        return 3;
#endif
    return 0;
}
