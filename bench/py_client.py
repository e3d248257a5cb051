"""N POSTs on one kept-alive http.client connection (TLS or plain)."""
import http.client
import ssl
import sys

HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}


def connect(scheme, host, port):
    """One http.client connection; TLS without verification (the bench's
    certificate is made at start)."""
    if scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(host, port, context=ctx)
    return http.client.HTTPConnection(host, port)


def main():
    scheme, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}]}'
    hdrs = HEADERS
    conn = connect(scheme, host, port)
    for _ in range(n):
        conn.request("POST", "/v1/chat/completions", body, hdrs)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or not data:
            sys.exit("bad response %d" % r.status)
    conn.close()

if __name__ == "__main__":
    main()
