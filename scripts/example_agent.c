/* example_agent.c - an example agent: a real tool loop over libcurl.
 *
 * A small, single-threaded program, not part of the shim: it is the host
 * process that `make demo` and the integration tests trace.  It asks an
 * OpenAI-compatible Chat Completions endpoint "What is the weather in
 * Paris? Use the tool." offering one tool, get_weather(city), runs every
 * tool call it is asked for by an HTTP GET to the same server's
 * /tool/weather endpoint, sends the results back (role "tool"), and prints
 * the model's final answer on stdout.  The first request is a plain JSON
 * exchange; every request that carries tool results asks for a stream
 * ("stream": true, with usage), whose SSE chunks are reassembled into one
 * message.  At most AGENT_MAX_ROUNDS model calls.
 *
 * Environment:
 *   OPENAI_BASE_URL  default http://127.0.0.1:8765/v1
 *   OPENAI_API_KEY   default sk-demo-not-a-real-key (Authorization: Bearer)
 *   AGENT_MODEL      default gpt-4o-mini
 *   AGENT_CA_FILE    CA bundle to trust (CURLOPT_CAINFO), when set
 *
 * Exit status 0 with an answer, 1 on any failure (message on stderr).
 * HTTP/1.1 is forced; one curl handle is reused, so requests share a
 * keep-alive connection as a real SDK's would.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#define AGENT_NAME "agenttrace-agent"
#define AGENT_MAX_ROUNDS 5
#define AGENT_MAX_BODY ((size_t)64 << 20) /* refuse larger responses */
#define AGENT_QUESTION "What is the weather in Paris? Use the tool."

#define AGENT_DEFAULT_BASE_URL "http://127.0.0.1:8765/v1"
#define AGENT_DEFAULT_API_KEY "sk-demo-not-a-real-key"
#define AGENT_DEFAULT_MODEL "gpt-4o-mini"

/* A growable byte buffer, always NUL-terminated once non-empty. */
typedef struct agent_buf {
    char *data;
    size_t len;
    size_t cap;
} agent_buf;

typedef struct agent_config {
    const char *base_url; /* without a trailing '/' (owned by `base`) */
    const char *api_key;
    const char *model;
    const char *ca_file;  /* NULL: the system's CA store */
    char *base;           /* heap copy of the base URL */
} agent_config;

/* One assistant message, from a whole response or reassembled from a
 * stream.  `tool_calls` is a JSON array in the request shape:
 * [{"id","type":"function","function":{"name","arguments"}}]. */
typedef struct agent_reply {
    agent_buf text;
    int has_text;        /* content was a string (possibly empty) */
    json_t *tool_calls;  /* owned */
    char *finish_reason; /* owned, NULL until seen */
    int done;            /* stream: "data: [DONE]" seen */
} agent_reply;

static void agent_die_msg(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* agent_die_msg: print "agenttrace-agent: <message>\n" on stderr. */
static void agent_die_msg(const char *fmt, ...)
{
    va_list ap;

    fputs(AGENT_NAME ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------- buffers */

static void agent_buf_init(agent_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static void agent_buf_free(agent_buf *b)
{
    free(b->data);
    agent_buf_init(b);
}

/* agent_buf_append: append `n` bytes of `p`.  Returns 0, or -1 when out of
 * memory or past AGENT_MAX_BODY (the buffer is then unchanged). */
static int agent_buf_append(agent_buf *b, const void *p, size_t n)
{
    if (n > AGENT_MAX_BODY - b->len)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *data;

        while (cap < b->len + n + 1)
            cap *= 2;
        data = realloc(b->data, cap);
        if (data == NULL)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- HTTP */

static size_t agent_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    agent_buf *b = ud;

    if (agent_buf_append(b, ptr, size * nmemb) != 0)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    return size * nmemb;
}

/* agent_http: one request on the shared handle.  A POST when `json_body`
 * is not NULL (with the API key), else a GET.  The response body goes to
 * `out` (emptied first) and the status to `*status`.  Returns 0 when an
 * HTTP response arrived whole (any status), -1 on a transport error, which
 * is reported on stderr. */
static int agent_http(CURL *curl, const agent_config *cfg, const char *url,
                      const char *json_body, int stream, agent_buf *out,
                      long *status)
{
    struct curl_slist *hdrs = NULL, *tmp;
    char *auth = NULL;
    CURLcode rc;
    int ret = -1;

    agent_buf_free(out);
    *status = 0;
    curl_easy_reset(curl); /* keeps the connection cache */
    if (json_body != NULL) {
        size_t n = strlen("Authorization: Bearer ") + strlen(cfg->api_key);

        auth = malloc(n + 1);
        if (auth == NULL) {
            agent_die_msg("out of memory");
            return -1;
        }
        snprintf(auth, n + 1, "Authorization: Bearer %s", cfg->api_key);
        const char *list[] = {
            "Content-Type: application/json",
            stream ? "Accept: text/event-stream" : "Accept: application/json",
            auth,
        };
        for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
            tmp = curl_slist_append(hdrs, list[i]);
            if (tmp == NULL) {
                agent_die_msg("out of memory");
                goto done;
            }
            hdrs = tmp;
        }
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(json_body));
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, ""); /* all built in */
    curl_easy_setopt(curl, CURLOPT_USERAGENT, AGENT_NAME "/0.1");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, agent_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    if (cfg->ca_file != NULL)
        curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_file);

    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        agent_die_msg("%s %s: %s", json_body ? "POST" : "GET", url,
                      curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    ret = 0;
done:
    curl_slist_free_all(hdrs);
    free(auth);
    return ret;
}

/* agent_http_error: report a non-2xx answer, with the API's error message
 * when the body has the usual {"error":{"message":...}} shape. */
static void agent_http_error(const char *method, const char *url,
                             long status, const agent_buf *body)
{
    json_t *root = NULL;
    const char *msg = NULL;

    if (body->len)
        root = json_loadb(body->data, body->len, 0, NULL);
    if (json_is_object(root)) {
        json_t *err = json_object_get(root, "error");

        if (json_is_object(err))
            msg = json_string_value(json_object_get(err, "message"));
        else if (json_is_string(err))
            msg = json_string_value(err);
    }
    if (msg != NULL)
        agent_die_msg("%s %s: HTTP %ld: %s", method, url, status, msg);
    else
        agent_die_msg("%s %s: HTTP %ld: %.200s", method, url, status,
                      body->len ? body->data : "(empty body)");
    json_decref(root);
}

/* ----------------------------------------------------------- the model */

static void agent_reply_init(agent_reply *r)
{
    agent_buf_init(&r->text);
    r->has_text = 0;
    r->tool_calls = NULL;
    r->finish_reason = NULL;
    r->done = 0;
}

static void agent_reply_free(agent_reply *r)
{
    agent_buf_free(&r->text);
    json_decref(r->tool_calls);
    free(r->finish_reason);
    agent_reply_init(r);
}

/* agent_reply_finish_reason: remember a finish reason (the last wins).
 * Returns 0 or -1 when out of memory. */
static int agent_reply_finish_reason(agent_reply *r, const char *reason)
{
    char *copy = strdup(reason);

    if (copy == NULL)
        return -1;
    free(r->finish_reason);
    r->finish_reason = copy;
    return 0;
}

/* agent_string_append: replace obj[key] (a string, or absent) by itself
 * followed by `more`.  Returns 0 or -1 when out of memory. */
static int agent_string_append(json_t *obj, const char *key,
                               const char *more)
{
    const char *old = json_string_value(json_object_get(obj, key));
    size_t a = old ? strlen(old) : 0, b = strlen(more);
    char *s = malloc(a + b + 1);
    int rc;

    if (s == NULL)
        return -1;
    if (a)
        memcpy(s, old, a);
    memcpy(s + a, more, b + 1);
    rc = json_object_set_new(obj, key, json_string(s));
    free(s);
    return rc;
}

/* agent_apply_tool_delta: merge one streamed tool_calls[] element into
 * r->tool_calls, where element `index` of the stream is kept at array
 * position `index`.  The first fragment of a call carries id, type and
 * function.name; later ones only function.arguments pieces.  Returns 0,
 * or -1 on a malformed fragment or out of memory. */
static int agent_apply_tool_delta(agent_reply *r, json_t *delta)
{
    json_t *idx = json_object_get(delta, "index");
    json_t *fn = json_object_get(delta, "function");
    json_t *call;
    const char *s;
    json_int_t i;

    if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
        json_integer_value(idx) > 64)
        return -1;
    i = json_integer_value(idx);
    if (r->tool_calls == NULL && (r->tool_calls = json_array()) == NULL)
        return -1;
    while ((json_int_t)json_array_size(r->tool_calls) <= i) {
        json_t *c = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "",
                              "type", "function", "function", "name", "",
                              "arguments", "");

        if (c == NULL || json_array_append_new(r->tool_calls, c) != 0)
            return -1;
    }
    call = json_array_get(r->tool_calls, (size_t)i);
    if ((s = json_string_value(json_object_get(delta, "id"))) != NULL &&
        json_object_set_new(call, "id", json_string(s)) != 0)
        return -1;
    if (!json_is_object(fn))
        return 0;
    if ((s = json_string_value(json_object_get(fn, "name"))) != NULL &&
        agent_string_append(json_object_get(call, "function"), "name",
                            s) != 0)
        return -1;
    if ((s = json_string_value(json_object_get(fn, "arguments"))) != NULL &&
        agent_string_append(json_object_get(call, "function"), "arguments",
                            s) != 0)
        return -1;
    return 0;
}

/* agent_apply_message: take choice 0 of a chat.completion (`msg` is its
 * "message") or of one chat.completion.chunk (`msg` is its "delta").
 * Returns 0, or -1 on a malformed message or out of memory. */
static int agent_apply_message(agent_reply *r, json_t *choice, int stream)
{
    json_t *msg = json_object_get(choice, stream ? "delta" : "message");
    json_t *content, *calls, *fr, *c;
    size_t i;

    if (!json_is_object(msg))
        return stream ? 0 : -1;
    content = json_object_get(msg, "content");
    if (json_is_string(content)) {
        r->has_text = 1;
        if (agent_buf_append(&r->text, json_string_value(content),
                             json_string_length(content)) != 0)
            return -1;
    }
    calls = json_object_get(msg, "tool_calls");
    if (json_is_array(calls)) {
        if (stream) {
            json_array_foreach(calls, i, c) {
                if (agent_apply_tool_delta(r, c) != 0)
                    return -1;
            }
        } else {
            json_decref(r->tool_calls);
            r->tool_calls = json_deep_copy(calls);
            if (r->tool_calls == NULL)
                return -1;
        }
    }
    fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr) &&
        agent_reply_finish_reason(r, json_string_value(fr)) != 0)
        return -1;
    return 0;
}

/* agent_apply_object: one parsed response or chunk.  A chunk without
 * choices (the usage chunk) is fine.  Returns 0, or -1 (reported) when the
 * object is an error or malformed. */
static int agent_apply_object(agent_reply *r, json_t *root, int stream)
{
    json_t *choices, *err;

    if (!json_is_object(root)) {
        agent_die_msg("the model's answer is not a JSON object");
        return -1;
    }
    err = json_object_get(root, "error");
    if (err != NULL) {
        const char *m = json_string_value(json_object_get(err, "message"));

        agent_die_msg("the model's stream failed: %s", m ? m : "error");
        return -1;
    }
    choices = json_object_get(root, "choices");
    if (!json_is_array(choices)) {
        agent_die_msg("the model's answer has no choices");
        return -1;
    }
    if (json_array_size(choices) == 0) {
        if (stream)
            return 0; /* the usage chunk */
        agent_die_msg("the model's answer has no choices");
        return -1;
    }
    if (agent_apply_message(r, json_array_get(choices, 0), stream) != 0) {
        agent_die_msg("malformed message in the model's answer");
        return -1;
    }
    return 0;
}

/* agent_parse_json: a whole chat.completion body.  Returns 0 or -1. */
static int agent_parse_json(agent_reply *r, const agent_buf *body)
{
    json_error_t jerr;
    json_t *root = json_loadb(body->data ? body->data : "", body->len, 0,
                              &jerr);
    int rc;

    if (root == NULL) {
        agent_die_msg("bad JSON from the model: %s", jerr.text);
        return -1;
    }
    rc = agent_apply_object(r, root, 0);
    json_decref(root);
    return rc;
}

/* agent_sse_event: dispatch one SSE event's data (`data`, `n` bytes). */
static int agent_sse_event(agent_reply *r, const char *data, size_t n)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {
        r->done = 1;
        return 0;
    }
    root = json_loadb(data, n, 0, &jerr);
    if (root == NULL) {
        agent_die_msg("bad JSON in the model's stream: %s", jerr.text);
        return -1;
    }
    rc = agent_apply_object(r, root, 1);
    json_decref(root);
    return rc;
}

/* agent_parse_sse: reassemble a whole text/event-stream body.  Lines end in
 * LF or CRLF; "data:" lines of one event are joined with LF; a blank line
 * ends an event; other fields and comments are ignored; events after
 * [DONE] are ignored.  Returns 0, or -1 (reported) on a malformed event or
 * a stream that ended before its finish reason. */
static int agent_parse_sse(agent_reply *r, const agent_buf *body)
{
    const char *p = body->data, *end = body->data + body->len;
    agent_buf data;
    int rc = 0;

    agent_buf_init(&data);
    while (p != NULL && p < end && rc == 0 && !r->done) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n;

        if (eol > p && eol[-1] == '\r')
            eol--;
        n = (size_t)(eol - p);
        if (n == 0) {
            if (data.len)
                rc = agent_sse_event(r, data.data, data.len);
            data.len = 0;
        } else if (n >= 5 && memcmp(p, "data:", 5) == 0) {
            const char *v = p + 5;

            if (v < eol && *v == ' ')
                v++;
            if ((data.len && agent_buf_append(&data, "\n", 1) != 0) ||
                agent_buf_append(&data, v, (size_t)(eol - v)) != 0) {
                agent_die_msg("out of memory");
                rc = -1;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    agent_buf_free(&data);
    if (rc == 0 && r->finish_reason == NULL) {
        agent_die_msg("the model's stream ended early");
        rc = -1;
    }
    return rc;
}

/* ------------------------------------------------------------- the tool */

/* agent_tool_url: scheme://host:port of the base URL with the path
 * /tool/weather?city=<city>.  Returns a string to free with curl_free, or
 * NULL (reported). */
static char *agent_tool_url(CURL *curl, const agent_config *cfg,
                            const char *city)
{
    CURLU *u = curl_url();
    char *esc = curl_easy_escape(curl, city, 0);
    char *query = NULL, *url = NULL;

    if (u == NULL || esc == NULL)
        goto done;
    query = malloc(strlen(esc) + sizeof "city=");
    if (query == NULL)
        goto done;
    sprintf(query, "city=%s", esc);
    if (curl_url_set(u, CURLUPART_URL, cfg->base_url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PATH, "/tool/weather", 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, query, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
        url = NULL;
done:
    if (url == NULL)
        agent_die_msg("cannot make the tool URL from %s", cfg->base_url);
    free(query);
    curl_free(esc);
    curl_url_cleanup(u);
    return url;
}

/* agent_run_tool: execute one tool call.  get_weather fetches the weather
 * from the tool endpoint; its JSON body is the result.  An unknown tool or
 * bad arguments give an error result for the model, not a failure.
 * Returns a new JSON string (the tool message's content) or NULL
 * (reported) when the tool endpoint cannot be reached or answers non-2xx. */
static json_t *agent_run_tool(CURL *curl, const agent_config *cfg,
                              json_t *call)
{
    json_t *fn = json_object_get(call, "function");
    const char *name = json_string_value(json_object_get(fn, "name"));
    const char *args = json_string_value(json_object_get(fn, "arguments"));
    json_t *parsed = NULL, *result = NULL;
    const char *city;
    agent_buf body;
    char *url = NULL;
    long status;

    agent_buf_init(&body);
    if (name == NULL || strcmp(name, "get_weather") != 0)
        return json_string("{\"error\":\"unknown tool\"}");
    if (args != NULL)
        parsed = json_loads(args, 0, NULL);
    city = json_string_value(json_object_get(parsed, "city"));
    if (city == NULL) {
        json_decref(parsed);
        return json_string("{\"error\":\"get_weather needs a city\"}");
    }
    url = agent_tool_url(curl, cfg, city);
    if (url == NULL || agent_http(curl, cfg, url, NULL, 0, &body,
                                  &status) != 0)
        goto done;
    if (status < 200 || status > 299) {
        agent_http_error("GET", url, status, &body);
        goto done;
    }
    result = json_stringn(body.data ? body.data : "", body.len);
    if (result == NULL)
        agent_die_msg("the tool's answer is not UTF-8");
done:
    agent_buf_free(&body);
    curl_free(url);
    json_decref(parsed);
    return result;
}

/* ----------------------------------------------------------- the loop */

static json_t *agent_tools(void)
{
    return json_pack(
        "[{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}, s:[s]}}}]",
        "type", "function", "function",
        "name", "get_weather",
        "description", "Get the current weather in a city.",
        "parameters", "type", "object", "properties",
        "city", "type", "string", "description", "The city, e.g. Paris",
        "required", "city");
}

/* agent_round: one model call.  Returns 0 with `r` filled, or -1
 * (reported). */
static int agent_round(CURL *curl, const agent_config *cfg, const char *url,
                       json_t *messages, json_t *tools, int stream,
                       agent_reply *r)
{
    json_t *req;
    char *text = NULL;
    agent_buf body;
    long status;
    int rc = -1;

    agent_buf_init(&body);
    req = json_pack("{s:s, s:O, s:O}", "model", cfg->model,
                    "messages", messages, "tools", tools);
    if (req != NULL && stream &&
        (json_object_set_new(req, "stream", json_true()) != 0 ||
         json_object_set_new(req, "stream_options",
                             json_pack("{s:b}", "include_usage", 1)) != 0)) {
        json_decref(req);
        req = NULL;
    }
    if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL) {
        agent_die_msg("out of memory");
        goto done;
    }
    if (agent_http(curl, cfg, url, text, stream, &body, &status) != 0)
        goto done;
    if (status < 200 || status > 299) {
        agent_http_error("POST", url, status, &body);
        goto done;
    }
    rc = stream ? agent_parse_sse(r, &body) : agent_parse_json(r, &body);
done:
    agent_buf_free(&body);
    free(text);
    json_decref(req);
    return rc;
}

/* agent_add_tool_results: append the assistant's tool request and one
 * "tool" message per call to `messages`.  Returns 0 or -1 (reported). */
static int agent_add_tool_results(CURL *curl, const agent_config *cfg,
                                  json_t *messages, const agent_reply *r)
{
    json_t *asst, *call, *result, *msg;
    size_t i;

    asst = json_pack("{s:s, s:O}", "role", "assistant",
                     "tool_calls", r->tool_calls);
    if (asst == NULL ||
        json_object_set_new(asst, "content",
                            r->has_text && r->text.len
                                ? json_string(r->text.data)
                                : json_null()) != 0 ||
        json_array_append_new(messages, asst) != 0) {
        agent_die_msg("out of memory");
        return -1;
    }
    json_array_foreach(r->tool_calls, i, call) {
        const char *id = json_string_value(json_object_get(call, "id"));

        result = agent_run_tool(curl, cfg, call);
        if (result == NULL)
            return -1;
        msg = json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id",
                        id ? id : "", "content", result);
        if (msg == NULL || json_array_append_new(messages, msg) != 0) {
            agent_die_msg("out of memory");
            return -1;
        }
    }
    return 0;
}

/* agent_config_load: read the environment.  Returns 0 or -1 (reported). */
static int agent_config_load(agent_config *cfg)
{
    const char *v;
    size_t n;

    v = getenv("OPENAI_BASE_URL");
    cfg->base = strdup(v && *v ? v : AGENT_DEFAULT_BASE_URL);
    if (cfg->base == NULL) {
        agent_die_msg("out of memory");
        return -1;
    }
    n = strlen(cfg->base);
    while (n > 0 && cfg->base[n - 1] == '/')
        cfg->base[--n] = '\0';
    cfg->base_url = cfg->base;
    v = getenv("OPENAI_API_KEY");
    cfg->api_key = v && *v ? v : AGENT_DEFAULT_API_KEY;
    v = getenv("AGENT_MODEL");
    cfg->model = v && *v ? v : AGENT_DEFAULT_MODEL;
    v = getenv("AGENT_CA_FILE");
    cfg->ca_file = v && *v ? v : NULL;
    return 0;
}

/* agent_run: the tool loop.  Returns the exit status. */
static int agent_run(CURL *curl, const agent_config *cfg)
{
    static const char suffix[] = "/chat/completions";
    json_t *messages = NULL, *tools = agent_tools();
    agent_reply r;
    char *url;
    int stream = 0, status = 1;

    agent_reply_init(&r);
    url = malloc(strlen(cfg->base_url) + sizeof suffix);
    if (url != NULL)
        sprintf(url, "%s%s", cfg->base_url, suffix);
    messages = json_pack("[{s:s, s:s}]", "role", "user",
                         "content", AGENT_QUESTION);
    if (url == NULL || messages == NULL || tools == NULL) {
        agent_die_msg("out of memory");
        goto done;
    }
    for (int round = 1; round <= AGENT_MAX_ROUNDS; round++) {
        agent_reply_free(&r);
        if (agent_round(curl, cfg, url, messages, tools, stream, &r) != 0)
            goto done;
        if (json_array_size(r.tool_calls) > 0) {
            if (agent_add_tool_results(curl, cfg, messages, &r) != 0)
                goto done;
            stream = 1; /* the answer to tool results is streamed */
            continue;
        }
        if (!r.has_text) {
            agent_die_msg("the model answered neither text nor tool calls");
            goto done;
        }
        printf("%s\n", r.text.data ? r.text.data : "");
        status = fflush(stdout) == 0 ? 0 : 1;
        goto done;
    }
    agent_die_msg("no final answer after %d rounds", AGENT_MAX_ROUNDS);
done:
    agent_reply_free(&r);
    json_decref(messages);
    json_decref(tools);
    free(url);
    return status;
}

int main(void)
{
    agent_config cfg = {0};
    CURL *curl;
    int status = 1;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        agent_die_msg("curl_global_init failed");
        return 1;
    }
    curl = curl_easy_init();
    if (curl == NULL)
        agent_die_msg("curl_easy_init failed");
    else if (agent_config_load(&cfg) == 0)
        status = agent_run(curl, &cfg);
    free(cfg.base);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return status;
}
