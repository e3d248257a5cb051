/* internal.h - what sink.c and exchange.c share.  Sink thread only. */
#ifndef AT_SINK_INTERNAL_H
#define AT_SINK_INTERNAL_H

#include <jansson.h>

#include "decode/buf.h"
#include "decode/encoding.h"
#include "decode/http1.h"
#include "decode/llm.h"
#include "decode/sse.h"
#include "decode/ndjson.h"
#include "sink/sink.h"

/* One HTTP request/response pair. */
typedef struct at_exch {
    struct at_exch *next;      /* in the connection's response queue */
    uint64_t conn;
    uint64_t span_id, parent_id;
    char method[24];
    char *target;              /* request-target as sent (malloc) */
    char host[256];            /* server.address */
    int port;                  /* server.port */
    int tls;
    int h2;                    /* the exchange went over HTTP/2 */
    int transport;
    at_llm_route route;        /* route.api != AT_API_NONE: a model call */
    int keep_req, keep_resp;   /* bodies worth buffering */
    int req_json, resp_json;
    at_buf req_body, resp_body;
    at_buf req_tail, resp_tail;   /* last bytes of a body over the limit */
    at_attrs *attrs;           /* LLM attributes gathered so far (malloc,
                                  not in the exchange: calloc would clear
                                  its room for nothing) */
    uint64_t t_req_start, t_req_end, t_resp_start, t_first_chunk, t_end;
    int status;                /* 0 until a response head arrived */
    char reason[64];
    int resp_sse;              /* text/event-stream decoded as a stream */
    at_enc *enc;
    int undecoded;             /* a Content-Encoding we cannot decode */
    int enc_failed;
    at_sse sse;
    int sse_on;
    at_ndjson nd;              /* application/x-ndjson streams (Ollama) */
    int nd_on;
    at_llm_stream *stream;
    uint64_t resp_bytes;       /* decoded body bytes seen */
    const char *error_type;    /* NULL, "truncated", "connection_reset",
                                  "timeout" */
    const char *error_message;
    int desync;
} at_exch;

enum { AT_MODE_NEW = 0, AT_MODE_H1, AT_MODE_H2, AT_MODE_IGNORED };
enum { AT_RS_HEAD = 0, AT_RS_BODY };
enum { AT_SS_HEAD = 0, AT_SS_BODY, AT_SS_SKIP };

/* One connection's reassembly state. */
typedef struct at_sconn {
    struct at_sconn *next;     /* hash chain */
    uint64_t id;
    int slot;
    int transport;
    at_open_info info;
    int mode;
    int eof;
    uint64_t t_open;           /* the OPEN record's time */
    struct at_h2conn *h2;      /* AT_MODE_H2 */
    uint64_t off[2];           /* next expected stream offset per direction */
    at_buf head[2];            /* unfinished message heads */
    uint64_t head_t0[2];       /* time of a head's first byte */
    int head_more[2];          /* the head so far parsed as a valid but
                                  unfinished one */
    /* request side */
    int rstate;
    at_h1_body_kind rkind;
    uint64_t rremain;
    at_h1_chunked rchunk;
    at_exch *req;
    at_exch *qhead, *qtail;    /* requests waiting for their response */
    /* response side */
    int sstate;
    at_h1_body_kind skind;
    uint64_t sremain;
    uint64_t skip_until;
    at_h1_chunked schunk;
    at_exch *resp;
} at_sconn;

struct at_sink {
    at_sink_opts o;
    at_sconn *buckets[256];
    at_buf lines;              /* span lines not yet written */
    at_buf scratch;            /* a URL before it is written (http_attrs) */
    at_sink_stats stats;
    uint64_t now;              /* time of the record being consumed */
    int made_inference;
    int finished;
    struct at_tool *tools;     /* open execute_tool spans, newest first */
    uint64_t current;          /* last value given to set_current */
    at_exch *cur_exch;         /* the exchange a decoder callback serves */
    at_exch *spare;            /* a finished exchange whose buffers and
                                  attribute list the next one reuses */
    /* the route of the last request's method, host and path, which
     * mostly repeat (route_of in exchange.c) */
    struct {
        char key[384];         /* host given, method, host, path, NULs */
        size_t len;            /* 0: none */
        at_llm_route route;
    } route_memo;
};

struct at_h2conn;

/* exchange.c: the HTTP/1.1 streams of a connection */
void at_sx_out(at_sink *s, at_sconn *c, char *p, size_t n);
int at_sx_h2(at_sink *s, at_sconn *c);
void at_sx_in(at_sink *s, at_sconn *c, uint64_t off, char *p, size_t n);
void at_sx_skipped(at_sink *s, at_sconn *c, uint64_t off);
void at_sx_end(at_sink *s, at_sconn *c, const char *error_type, int closed);
void at_sx_ignore(at_sink *s, at_sconn *c, const char *why);
void at_sx_desync(at_sink *s, at_sconn *c);
void at_sx_free_conn(at_sconn *c);
void at_exch_del(at_exch *e);
/* at_sx_spare_del: free the sink's spare exchange (at_sink_del) */
void at_sx_spare_del(at_sink *s);

/* exchange.c: one exchange, whatever the HTTP version.  at_sx_exch_new
 * starts one at the current record's time from the request's method,
 * target, Host/:authority and Content-Type (each may be NULL); the body
 * functions feed the request and (transfer-decoded) response bodies;
 * at_sx_resp_begin sets up the response's decoding from its status and
 * headers; at_sx_exch_finish writes the span and frees the exchange. */
at_exch *at_sx_exch_new(at_sink *s, at_sconn *c, const char *method,
                        size_t mlen, const char *target, size_t tlen,
                        const char *host, size_t hostlen, const char *ctype,
                        size_t ctlen);
void at_sx_req_body(at_sink *s, at_exch *e, const char *p, size_t n);
void at_sx_req_done(at_sink *s, at_exch *e);
void at_sx_resp_begin(at_sink *s, at_exch *e, int status, const char *ctype,
                      size_t ctlen, const char *cenc, size_t celen);
void at_sx_resp_body(at_sink *s, at_exch *e, const char *p, size_t n);
void at_sx_exch_finish(at_sink *s, at_exch *e);

/* h2conn.c: an HTTP/2 connection's streams */
struct at_h2conn *at_h2conn_new(at_sink *s, at_sconn *c);
int at_h2conn_feed(struct at_h2conn *h, int from_client, const char *p,
                   size_t n);
void at_h2conn_end(struct at_h2conn *h, const char *error_type, int desync);
void at_h2conn_del(struct at_h2conn *h);

/* sink.c: an exchange's request is complete / the exchange is complete */
void at_sink_request_done(at_sink *s, at_exch *e);
void at_sink_exchange_done(at_sink *s, at_exch *e);
uint64_t at_sink_current_parent(at_sink *s);

#endif
