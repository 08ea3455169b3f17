package testutil

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PrefixProxy stands in for an Ingress that serves an API under a path prefix and strips it: /mwm/x reaches the
// backend as /x. Like a proxy with no X-Forwarded-* configuration, it sends no X-Forwarded-Prefix. It counts every
// byte it sends on its connections, headers included: what the browser downloads; a request outside the prefix
// answers 404 and is recorded, so a page using an absolute URL fails.
type PrefixProxy struct {
	URL     string // http://127.0.0.1:port/mwm/
	addr    string
	prefix  string
	handler http.Handler

	mu      sync.Mutex
	srv     *http.Server
	outside []string
	bytes   atomic.Int64
	abort   atomic.Pointer[func(*http.Request) bool]
}

// StartPrefixProxy serves prefix on a free loopback port, forwarding to the plain-HTTP backend at target (host:port).
func StartPrefixProxy(prefix, target string) (*PrefixProxy, error) {
	return StartPrefixProxyTo(prefix, func(*http.Request) string { return target })
}

// StartPrefixProxyTo is StartPrefixProxy with the backend of each request chosen by pick (host:port): several
// replicas behind a Service without session affinity, say.
func StartPrefixProxyTo(prefix string, pick func(*http.Request) string) (*PrefixProxy, error) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: pick(r.In)})
			r.Out.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(r.In.URL.Path, prefix), "/")
			r.Out.URL.RawPath = ""
		},
		FlushInterval: -1, // an event stream must not wait in a buffer
	}
	p := &PrefixProxy{prefix: prefix}
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != prefix && !strings.HasPrefix(r.URL.Path, prefix+"/") {
			p.mu.Lock()
			p.outside = append(p.outside, r.URL.String())
			p.mu.Unlock()
			http.NotFound(w, r)
			return
		}
		if abort := p.abort.Load(); abort != nil && (*abort)(r) {
			panic(http.ErrAbortHandler) // the connection closes without an answer: a network error to the client
		}
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.addr = ln.Addr().String()
	p.URL = "http://" + p.addr + prefix + "/"
	p.serve(ln)
	return p, nil
}

func (p *PrefixProxy) serve(ln net.Listener) {
	srv := &http.Server{Handler: p.handler, ReadHeaderTimeout: 5 * time.Second}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	go func() { _ = srv.Serve(&countingListener{Listener: ln, n: &p.bytes}) }()
}

// Stop closes the listener and every connection, event streams included: the browser loses the server.
func (p *PrefixProxy) Stop() {
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	_ = srv.Close()
}

// Restart listens again on the same address after Stop.
func (p *PrefixProxy) Restart() error {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (p *PrefixProxy) Close() {
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = srv.Close()
}

// SetAbort makes the proxy close the connection of every request for which abort returns true, without an answer, as
// a network failure would; nil passes every request again.
func (p *PrefixProxy) SetAbort(abort func(*http.Request) bool) {
	if abort == nil {
		p.abort.Store(nil)
		return
	}
	p.abort.Store(&abort)
}

// Addr is the proxy's host:port.
func (p *PrefixProxy) Addr() string { return p.addr }

// Bytes is how many bytes the proxy sent to its clients so far, headers included.
func (p *PrefixProxy) Bytes() int64 { return p.bytes.Load() }

// Outside is the requests that missed the prefix.
func (p *PrefixProxy) Outside() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.outside...)
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}
