# usage: proxy.py LISTEN_PORT ; rules from file /tmp/att/rules (re-read per request):
# lines "ACTION fail CODE" (400 with error code, not forwarded), "ACTION drop" (forward, then close w/o reply),
# "ACTION sleep SECS" (sleep before forwarding), "ACTION failafter CODE" (forward, then return error)
import sys, time, urllib.request, urllib.parse, http.server, socketserver
UP = "http://127.0.0.1:5055"
def rules():
    r = {}
    try:
        for l in open('/tmp/att/rules'):
            p = l.split()
            if p: r.setdefault(p[0], []).append(p[1:])
    except FileNotFoundError: pass
    return r
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0)); body = self.rfile.read(n)
        action = urllib.parse.parse_qs(body.decode()).get('Action', ['?'])[0]
        with open('/tmp/att/proxy.log', 'a') as f: f.write(action + "\n")
        for rule in rules().get(action, []):
            if rule[0] == 'sleep': time.sleep(float(rule[1]))
            if rule[0] == 'fail':
                return self.err(rule[1])
        req = urllib.request.Request(UP + self.path, data=body, method='POST')
        for k, v in self.headers.items():
            if k.lower() not in ('host', 'content-length', 'connection'): req.add_header(k, v)
        try:
            resp = urllib.request.urlopen(req); status = resp.status; data = resp.read(); ctype = resp.headers.get('Content-Type', 'text/xml')
        except urllib.error.HTTPError as e:
            status = e.code; data = e.read(); ctype = e.headers.get('Content-Type', 'text/xml')
        for rule in rules().get(action, []):
            if rule[0] == 'drop':
                self.connection.close(); return
            if rule[0] == 'failafter': return self.err(rule[1])
        self.send_response(status); self.send_header('Content-Type', ctype); self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)
    def err(self, code):
        msg = "injected" if not code.startswith("Evil") else "bad \u009b31mred\u009d0;T\u009c \u202eevil\nhandoff: error: fake line\nhint: run rm -rf ~"
        code = code if not code.startswith("Evil") else "Evil\u009b5mX"
        data = f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error><RequestId>x</RequestId></ErrorResponse>'.encode()
        st = 500 if code in ('InternalFailure','ServiceFailure') else 400
        self.send_response(st); self.send_header('Content-Type','text/xml'); self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
