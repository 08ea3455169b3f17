package badinput

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// corpusDir holds the committed corpus: one raw request (or several, pipelined) per .http file, the exact bytes the
// suite writes to a TLS connection. A name ending in -incomplete.http is a request the client never finishes, which
// may get no answer at all; a name starting with ok- is a valid request that must get 200.
var corpusDir = filepath.Join("testdata", "http-corpus")

var update = flag.Bool("update", false, "rewrite testdata/http-corpus from the generator in corpus_test.go")

// TestCorpusIsCommitted fails when testdata/http-corpus differs from what the generator below writes, so the corpus
// is always committed and always reviewable as files; `go test ./test/badinput -run TestCorpusIsCommitted -update`
// rewrites it after the generator changed.
func TestCorpusIsCommitted(t *testing.T) {
	want := corpus()
	if len(want) < 200 {
		t.Errorf("the corpus has %d requests; issue #15 asks for at least 200", len(want))
	}
	if *update {
		stale, err := filepath.Glob(filepath.Join(corpusDir, "*.http"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range stale {
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, raw := range want {
			if err := os.WriteFile(filepath.Join(corpusDir, name), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.http"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[name]; !ok {
			t.Errorf("%s is not written by the generator: add it there, or run with -update to remove it", name)
		} else if !bytes.Equal(raw, w) {
			t.Errorf("%s differs from the generator's: run `go test ./test/badinput -run TestCorpusIsCommitted -update`", name)
		}
	}
	if len(files) != len(want) {
		t.Errorf("%d files in %s, the generator writes %d: run with -update", len(files), corpusDir, len(want))
	}
}

// loadCorpus reads the committed corpus in name order.
func loadCorpus() ([]corpusCase, error) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.http"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	cases := make([]corpusCase, 0, len(files))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		cases = append(cases, corpusCase{name: filepath.Base(file), raw: raw})
	}
	return cases, nil
}

type corpusCase struct {
	name string
	raw  []byte
}

// incomplete reports whether the client never finishes the request, so that no answer is a correct one.
func (c corpusCase) incomplete() bool { return strings.HasSuffix(c.name, "-incomplete.http") }

// valid reports whether the request is a valid one that must be answered 200.
func (c corpusCase) valid() bool { return strings.HasPrefix(c.name, "ok-") }

// The ServiceCheckers and Services the suite creates, which some requests name.
const (
	checker     = "shop/storefront"
	otherCheck  = "ops/oncall"
	host        = "127.0.0.1"
	eventStream = "Accept: text/event-stream"
)

// request is one HTTP/1.1 request: a request line, Host unless headers has one (or "-host" removes it), the
// headers and the body, with CRLF line ends.
func request(method, target string, headers []string, body string) []byte {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	if !slices.ContainsFunc(headers, func(h string) bool { return strings.HasPrefix(strings.ToLower(h), "host:") }) &&
		!slices.Contains(headers, "-host") {
		b.WriteString("Host: " + host + "\r\n")
	}
	for _, h := range headers {
		if h != "-host" {
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

func get(target string, headers ...string) []byte { return request("GET", target, headers, "") }

// corpus generates every request of the corpus, by file name. Requests reach every route: /services, /status,
// /events (and /services with Accept: text/event-stream), /services/{namespace}/{name}.
func corpus() map[string][]byte {
	c := map[string][]byte{}
	add := func(name string, raw []byte) {
		name += ".http"
		if _, dup := c[name]; dup {
			panic("corpus: two requests named " + name)
		}
		c[name] = raw
	}
	routes := map[string]string{"services": "/services", "status": "/status", "events": "/events",
		"service": "/services/shop/checkout"}
	routeNames := []string{"events", "service", "services", "status"}

	// Valid requests, the control group: each must be answered 200.
	add("ok-services", get("/services"))
	add("ok-status", get("/status"))
	add("ok-service", get("/services/shop/checkout"))
	add("ok-events", get("/events", eventStream))
	add("ok-services-stream", get("/services?checker="+checker, eventStream))
	add("ok-status-checker", get("/status?checker="+otherCheck))
	add("ok-services-filters", get("/services?namespace=shop,data&service=checkout,data/db&critical=true&ready=true"))
	add("ok-cache-buster", get("/status?_=1700000000000"))
	add("ok-head-services", request("HEAD", "/services", nil, ""))
	add("ok-http10", []byte("GET /status HTTP/1.0\r\n\r\n"))
	add("line-leading-crlf", append([]byte("\r\n\r\n"), get("/status")...))

	// Methods other than GET, HEAD and OPTIONS, on every route; odd spellings and tokens.
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "BREW"} {
		for _, r := range routeNames {
			add(fmt.Sprintf("method-%s-%s", strings.ToLower(m), r), request(m, routes[r], nil, ""))
		}
	}
	add("method-options-preflight", request("OPTIONS", "/services", []string{"Origin: https://shop.example.com",
		"Access-Control-Request-Method: GET", "Access-Control-Request-Headers: If-None-Match"}, ""))
	add("method-options-preflight-foreign", request("OPTIONS", "/events", []string{"Origin: https://evil.example.com",
		"Access-Control-Request-Method: DELETE"}, ""))
	add("method-options-asterisk", request("OPTIONS", "*", nil, ""))
	add("method-connect", request("CONNECT", "127.0.0.1:443", nil, ""))
	add("method-connect-path", request("CONNECT", "/services", nil, ""))
	add("method-lowercase-get", request("get", "/services", nil, ""))
	add("method-mixed-case", request("GeT", "/status", nil, ""))
	add("method-long", request(strings.Repeat("A", 2000), "/services", nil, ""))
	add("method-nul", request("GE\x00T", "/services", nil, ""))
	add("method-utf8", request("GÉT", "/services", nil, ""))
	add("method-separator", request("GET,POST", "/services", nil, ""))
	add("method-post-with-body", request("POST", "/services", []string{"Content-Type: application/json",
		"Content-Length: 27"}, `{"services":[{"name":"x"}]}`))
	add("method-put-status-body", request("PUT", "/status", []string{"Content-Length: 20"}, `{"maintenance":true}`))
	add("method-pri-preface", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))

	// Paths: traversal, NUL, encodings, odd forms, near misses of the routes.
	for i, p := range []string{
		"/../services", "/services/../status", "/services/%2e%2e/shop", "/services/shop/..",
		"/services/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
		"/services/..%2F..%2Fstatus", "/services/..;/status", "/services/%252e%252e/x",
		"/services%00", "/services/%00/x", "/status%00.json", "/services/shop/checkout%00", "/%00",
		"/services/shop%2Fcheckout", "//services", "/services//", "/services/shop/checkout/", "/services/shop/checkout/x",
		"/services/shop", "/services/", "/SERVICES", "/Status", "/services;jsessionid=1", "/services.json", "/status/",
		"/events/", "/events/../events", "/eventsx", "/services/%ff%fe/x", "/services/sh%6fp/checkout",
		"/%", "/%zz", "/services/%", "/services/shop/%C0%AE%C0%AE", "/\\services", "/services\\..\\status",
		"/metrics", "/healthz", "/readyz", "/debug/pprof/", "/.well-known/security.txt", "/.git/config",
		"/services/-/-", "/services/SHOP/Checkout", "/services/shop/checkout.", "/services/a/" + strings.Repeat("b", 300),
		"/services/" + strings.Repeat("n", 300) + "/x", "/" + strings.Repeat("a/", 2000), "/" + strings.Repeat("%2e", 2000),
		"/services#fragment", "/services?", "/services??ready=true", "/services/shop/checkout;x",
	} {
		add(fmt.Sprintf("path-%02d", i), get(p))
	}
	add("path-absolute-form", get("http://evil.example.com/services"))
	add("path-absolute-form-https", get("https://127.0.0.1/status"))
	add("path-absolute-form-userinfo", get("https://user:pass@127.0.0.1/status"))
	add("path-no-slash", get("services"))
	add("path-asterisk", get("*"))
	add("path-empty", []byte("GET  HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("path-space", []byte("GET /ser vices HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("path-tab", []byte("GET /services\tHTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("path-raw-utf8", get("/services/shöp/chéckout"))
	add("path-raw-control", get("/services/\x01\x02/x"))
	add("path-raw-nul", get("/services/\x00/x"))
	add("path-long-8k", get("/services/"+strings.Repeat("x", 8000)))
	add("path-long-64k", get("/"+strings.Repeat("x", 64<<10)))
	add("path-long-128k", get("/"+strings.Repeat("y", 128<<10)))

	// Query strings: unknown, repeated, conflicting, empty and malformed parameters, on every route.
	queries := []string{
		"foo=bar", "checkers=" + checker, "Checker=" + checker, "callback=alert(1)", "%00=1", "=", "==", "&&&&", ";;;",
		"checker=" + checker + "&checker=" + checker, "checker=" + checker + "&checker=" + otherCheck,
		"ready=true&ready=false", "critical=true&critical=yes", "namespace=shop&namespace=data",
		"_=1&_=2&_=3", "checker=", "namespace=", "service=", "ready=", "critical=", "ready=1", "ready=TRUE",
		"critical=null", "namespace=../..", "namespace=%00", "service=a/b/c", "service=%2e%2e/%2e%2e",
		"checker=shop", "checker=/", "checker=shop/", "checker=/storefront", "checker=nobody/none",
		"checker=shop/storefront/extra", "checker=shop%2Fstorefront%00", "%", "%zz", "a=%", "ready=%",
		"ready=true;critical=true", "namespace[]=shop", "namespace[0]=shop", "namespace=shop,,data", "namespace=,",
		"service=checkout,", "namespace=SHOP", "namespace=sh%C3%B6p", "service=ch%C3%A9ckout", "ready=tru%65",
		"ready=+true", "ready=true+", "namespace=" + strings.Repeat("a", 64), "checker=" + strings.Repeat("a", 64) + "/x",
		"namespace=" + strings.Repeat("a,", 2000) + "a", "service=" + strings.Repeat("x", 8000),
		strings.Repeat("ready=true&", 500) + "x=1", strings.Repeat("p", 3000) + "=1",
	}
	for i, q := range queries {
		r := routeNames[i%len(routeNames)]
		headers := []string{}
		if r == "events" {
			headers = append(headers, eventStream)
		}
		add(fmt.Sprintf("query-%02d-%s", i, r), get(routes[r]+"?"+q, headers...))
	}
	var distinct strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&distinct, "p%d=%d&", i, i)
	}
	add("query-1000-unknown", get("/status?"+distinct.String()))
	add("query-long-64k", get("/services?namespace="+strings.Repeat("a", 64<<10)))
	add("query-raw-space", []byte("GET /services?ready=true false HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("query-raw-utf8", get("/services?namespace=shöp"))
	add("query-raw-nul", get("/services?ready=\x00"))
	add("query-single-service-filters", get("/services/shop/checkout?ready=true"))
	add("query-single-service-unknown-checker", get("/services/shop/checkout?checker=nobody/none"))
	add("query-single-service-wrong-checker", get("/services/data/db?checker="+checker))

	// If-None-Match: huge, malformed, wildcard, many values, on every route.
	inm := map[string]string{
		"star": "*", "weak-empty": `W/`, "quote": `"`, "unterminated": `W/"abc`, "commas": strings.Repeat(",", 1000),
		"many": strings.Repeat(`W/"0123456789abcdef01234567", `, 300) + `"x"`, "huge": `"` + strings.Repeat("e", 12000) + `"`,
		"utf8": `"é"`, "binary": "\"\xff\xfe\"", "star-list": `*, *, W/"x"`, "spaces": "   ", "no-quotes": "abc",
	}
	for _, k := range sortedKeys(inm) {
		add("if-none-match-"+k, get("/services", "If-None-Match: "+inm[k]))
	}
	add("if-none-match-status-star", get("/status?checker="+checker, "If-None-Match: *"))
	add("if-none-match-events", get("/events", eventStream, "If-None-Match: *"))
	add("if-none-match-twice", get("/services", `If-None-Match: "a"`, `If-None-Match: *`))
	add("if-none-match-nul", get("/services", "If-None-Match: \"a\x00b\""))
	add("if-none-match-overflow", get("/services", "If-None-Match: "+strings.Repeat(`W/"x",`, 6000)))

	// Accept-Encoding.
	ae := map[string]string{
		"q-nan": "gzip;q=nan", "q-negative": "gzip;q=-1", "q-huge": "gzip;q=1e999", "q-zero": "gzip;q=0",
		"q-garbage": "gzip;q=abc", "star": "*", "repeated": strings.Repeat("gzip, ", 1000) + "gzip",
		"br-only": "br", "identity-zero": "identity;q=0", "uppercase": "GZIP", "semicolons": ";;;;;;",
		"utf8": "gzïp", "huge": strings.Repeat("x", 12000), "params": "gzip;level=9;q=1;q=0",
	}
	for _, k := range sortedKeys(ae) {
		add("accept-encoding-"+k, get("/services", "Accept-Encoding: "+ae[k]))
	}
	add("accept-encoding-status", get("/status", "Accept-Encoding: gzip;q=1e999"))
	add("accept-encoding-events", get("/events", eventStream, "Accept-Encoding: gzip"))
	add("accept-encoding-head", request("HEAD", "/services", []string{"Accept-Encoding: gzip"}, ""))

	// Origin.
	origins := map[string]string{
		"null": "null", "foreign": "https://evil.example.com", "allowed": "https://shop.example.com",
		"allowed-suffix": "https://shop.example.com.evil.example.com", "allowed-uppercase": "HTTPS://SHOP.EXAMPLE.COM",
		"star": "*", "javascript": "javascript:alert(1)", "utf8": "https://shöp.example.com", "huge": "https://" +
			strings.Repeat("o", 12000) + ".example.com", "file": "file://", "spaces": "https://shop.example.com ",
	}
	for _, k := range sortedKeys(origins) {
		add("origin-"+k, get("/services", "Origin: "+origins[k]))
	}
	add("origin-twice", get("/status", "Origin: https://shop.example.com", "Origin: https://evil.example.com"))
	add("origin-events", get("/events", eventStream, "Origin: https://evil.example.com"))

	// Last-Event-ID on streams.
	leid := map[string]string{
		"negative": "-1", "word": "abc", "huge-number": "99999999999999999999999", "max-uint64": "18446744073709551615",
		"zero": "0", "future": "1000000", "float": "1e9", "utf8": "ïd", "long": strings.Repeat("9", 8000),
		"spaces": "  1  ", "hex": "0x10", "empty": "",
	}
	for _, k := range sortedKeys(leid) {
		add("last-event-id-"+k, get("/events", eventStream, "Last-Event-ID: "+leid[k]))
	}
	add("last-event-id-services-stream", get("/services?checker="+checker, eventStream, "Last-Event-ID: -5"))
	add("last-event-id-twice", get("/events", eventStream, "Last-Event-ID: 1", "Last-Event-ID: 2"))
	add("last-event-id-nul", get("/events", eventStream, "Last-Event-ID: 1\x002"))
	add("last-event-id-filtered", get("/events?checker=nobody/none", eventStream, "Last-Event-ID: 1"))
	add("last-event-id-bad-filter", get("/events?ready=maybe", eventStream, "Last-Event-ID: 1"))
	add("last-event-id-head", request("HEAD", "/events", []string{eventStream, "Last-Event-ID: 1"}, ""))
	add("last-event-id-on-status", get("/status", "Last-Event-ID: abc"))

	// Other headers: Accept, Upgrade, Range, conditional and auth headers, invalid names and values.
	add("accept-stream-on-status", get("/status", eventStream))
	add("accept-huge", get("/services", "Accept: "+strings.Repeat("text/event-stream;q=0.1, ", 400)))
	add("accept-garbage", get("/events", "Accept: */*;q=banana"))
	add("upgrade-websocket", get("/events", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="))
	add("upgrade-h2c", get("/services", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
		"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"))
	add("range", get("/services", "Range: bytes=0-10"))
	add("range-garbage", get("/services", "Range: bytes=-99999999999999999999-"))
	add("if-modified-since-garbage", get("/status", "If-Modified-Since: yesterday"))
	add("if-match", get("/status", "If-Match: *"))
	add("authorization-garbage", get("/services", "Authorization: Bearer "+strings.Repeat("A", 4000)))
	add("cookie-big", get("/services", "Cookie: "+strings.Repeat("a=b; ", 2000)))
	add("x-forwarded-for-many", get("/services", "X-Forwarded-For: "+strings.Repeat("10.0.0.1, ", 800)+"10.0.0.1"))
	add("cache-control-garbage", get("/services", "Cache-Control: max-age=-1, no-cache=\"", "Pragma: no-cache"))
	add("connection-close", get("/services", "Connection: close"))
	add("connection-garbage", get("/services", "Connection: keep-alive, close, upgrade, x"))
	add("header-name-space", get("/services", "Bad Header: x"))
	add("header-name-colon-only", get("/services", ": x"))
	add("header-name-utf8", get("/services", "Hëader: x"))
	add("header-no-colon", get("/services", "NoColonHere"))
	add("header-value-nul", get("/services", "X-Test: a\x00b"))
	add("header-value-control", get("/services", "X-Test: a\x01\x7fb"))
	add("header-value-cr", []byte("GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test: a\rb\r\n\r\n"))
	add("header-obs-fold", get("/services", "X-Test: a", " folded"))
	add("header-leading-space", []byte("GET /services HTTP/1.1\r\n Host: 127.0.0.1\r\n\r\n"))
	add("header-lf-only", []byte("GET /services HTTP/1.1\nHost: 127.0.0.1\nAccept: */*\n\n"))
	add("header-one-32k", get("/services", "X-Big: "+strings.Repeat("b", 32<<10)))
	add("header-many-small", get("/services", repeatHeaders("X-H", 3000)...))
	add("header-overflow-128k", get("/services", "X-Big: "+strings.Repeat("z", 128<<10)))
	add("header-just-under-limit", get("/services", "X-Big: "+strings.Repeat("u", 15<<10)))

	// Host.
	add("host-missing", request("GET", "/services", []string{"-host"}, ""))
	add("host-twice", get("/services", "Host: a.example.com", "Host: b.example.com"))
	add("host-invalid", get("/services", "Host: a b"))
	add("host-bad-port", get("/services", "Host: 127.0.0.1:99999999"))
	add("host-long", get("/services", "Host: "+strings.Repeat("h", 8000)))
	add("host-empty", get("/services", "Host:"))

	// Content-Length, Transfer-Encoding and bodies on GET.
	add("body-get-json", request("GET", "/services", []string{"Content-Type: application/json", "Content-Length: 17"},
		`{"checker":"x/y"}`))
	add("body-get-64k", request("GET", "/status", []string{"Content-Length: 65536"}, strings.Repeat("b", 64<<10)))
	add("body-get-short", request("GET", "/services", []string{"Content-Length: 1000"}, "short"))
	add("body-get-no-length", request("GET", "/services", nil, "garbage after the headers"))
	add("body-head", request("HEAD", "/services", []string{"Content-Length: 5"}, "hello"))
	add("body-events", request("GET", "/events", []string{eventStream, "Content-Length: 5"}, "hello"))
	add("content-length-negative", request("GET", "/services", []string{"Content-Length: -1"}, ""))
	add("content-length-garbage", request("GET", "/services", []string{"Content-Length: abc"}, ""))
	add("content-length-huge", request("GET", "/services", []string{"Content-Length: 99999999999999999999"}, ""))
	add("content-length-conflicting", request("GET", "/services", []string{"Content-Length: 1", "Content-Length: 2"},
		"ab"))
	add("content-length-list", request("GET", "/services", []string{"Content-Length: 2, 2"}, "ab"))
	add("content-length-plus", request("GET", "/services", []string{"Content-Length: +2"}, "ab"))
	add("chunked-valid", request("GET", "/services", []string{"Transfer-Encoding: chunked"}, "5\r\nhello\r\n0\r\n\r\n"))
	add("chunked-bad-size", request("GET", "/services", []string{"Transfer-Encoding: chunked"}, "zz\r\nhello\r\n0\r\n\r\n"))
	add("chunked-size-overflow", request("GET", "/services", []string{"Transfer-Encoding: chunked"},
		"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"))
	add("chunked-negative-size", request("GET", "/services", []string{"Transfer-Encoding: chunked"}, "-5\r\nhello\r\n"))
	add("chunked-extension-garbage", request("GET", "/status", []string{"Transfer-Encoding: chunked"},
		"5;"+strings.Repeat("x", 5000)+"\r\nhello\r\n0\r\n\r\n"))
	add("chunked-missing-crlf", request("GET", "/status", []string{"Transfer-Encoding: chunked"}, "5\r\nhelloXX0\r\n\r\n"))
	add("chunked-and-content-length", request("GET", "/services", []string{"Transfer-Encoding: chunked",
		"Content-Length: 3"}, "0\r\n\r\n"))
	add("chunked-twice", request("GET", "/services", []string{"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"},
		"0\r\n\r\n"))
	add("chunked-uppercase", request("GET", "/services", []string{"Transfer-Encoding: CHUNKED"}, "0\r\n\r\n"))
	add("chunked-trailers-garbage", request("GET", "/services", []string{"Transfer-Encoding: chunked"},
		"0\r\nBad Trailer\r\n\r\n"))
	add("chunked-http10", []byte("GET /services HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	add("chunked-unterminated-incomplete", request("GET", "/services", []string{"Transfer-Encoding: chunked"},
		"5\r\nhello\r\n"))
	add("transfer-encoding-gzip", request("GET", "/services", []string{"Transfer-Encoding: gzip"}, ""))
	add("transfer-encoding-identity", request("GET", "/services", []string{"Transfer-Encoding: identity"}, ""))
	add("transfer-encoding-list", request("GET", "/services", []string{"Transfer-Encoding: gzip, chunked"}, "0\r\n\r\n"))
	add("expect-continue", request("GET", "/services", []string{"Expect: 100-continue", "Content-Length: 5"}, "hello"))
	add("expect-other", request("GET", "/services", []string{"Expect: the-unexpected"}, ""))
	add("smuggle-cl-te", request("GET", "/services", []string{"Content-Length: 44", "Transfer-Encoding: chunked"},
		"0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("smuggle-te-obfuscated", request("GET", "/services", []string{"Transfer-Encoding: xchunked", "Content-Length: 4"},
		"0\r\n\r\n"))

	// Request lines and protocol versions.
	add("proto-http2", []byte("GET /services HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-http9", []byte("GET /services HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-http12", []byte("GET /services HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-http1", []byte("GET /services HTTP/1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-lowercase", []byte("GET /services http/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-http09", []byte("GET /services\r\n\r\n"))
	add("proto-missing", []byte("GET\r\n\r\n"))
	add("proto-garbage", []byte("GET /services FTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-extra-spaces", []byte("GET  /services  HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	add("proto-extra-field", []byte("GET /services HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n"))
	add("line-empty-lines", []byte("\r\n\r\n\r\n\r\n"))
	add("line-binary", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\xff\xfe\r\n\r\n"))
	add("line-all-bytes", allBytes())
	add("line-json", []byte(`{"method":"GET","path":"/services"}`+"\r\n\r\n"))
	add("line-only-method-incomplete", []byte("GET"))
	add("line-no-final-crlf-incomplete", []byte("GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
	add("line-nothing-incomplete", []byte{})

	// Pipelining: several requests in one write.
	add("pipeline-two", append(get("/services"), get("/status")...))
	add("pipeline-ten", bytes.Repeat(get("/status?checker="+checker), 10))
	add("pipeline-valid-then-garbage", append(get("/status"), []byte("GARBAGE\r\n\r\n")...))
	add("pipeline-garbage-then-valid", append([]byte("GARBAGE\r\n\r\n"), get("/status")...))
	add("pipeline-head-get", append(request("HEAD", "/services", nil, ""), get("/services")...))
	add("pipeline-error-then-valid", append(get("/services?ready=maybe"), get("/services")...))
	add("pipeline-stream-then-valid", append(get("/events", eventStream), get("/status")...))
	add("pipeline-hundred-bad", bytes.Repeat(get("/nothere"), 100))
	return c
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func repeatHeaders(name string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d: %d", name, i, i)
	}
	return out
}

// allBytes is every byte value once, then the end of a header block.
func allBytes() []byte {
	b := make([]byte, 0, 260)
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, "\r\n\r\n"...)
}
