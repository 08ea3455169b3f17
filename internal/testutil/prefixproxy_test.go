package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPrefixProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.RequestURI()+" "+r.Header.Get("X-Forwarded-Prefix"))
	}))
	defer backend.Close()
	p, err := StartPrefixProxy("/mwm", backend.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(p.URL + "events?x=1"); code != http.StatusOK || body != "/events?x=1 " {
		t.Errorf("through the prefix: %d %q, want the path stripped and no X-Forwarded-Prefix", code, body)
	}
	if code, body := get("http://" + p.Addr() + "/mwm"); code != http.StatusOK || body != "/ " {
		t.Errorf("the prefix alone: %d %q", code, body)
	}
	if code, _ := get("http://" + p.Addr() + "/events"); code != http.StatusNotFound || len(p.Outside()) != 1 {
		t.Errorf("outside the prefix: %d, recorded %v", code, p.Outside())
	}
	p.SetAbort(func(r *http.Request) bool { return r.URL.Path == "/mwm/x" })
	if _, err := http.Get(p.URL + "x"); err == nil {
		t.Error("an aborted request got an answer")
	}
	if code, _ := get(p.URL + "y"); code != http.StatusOK {
		t.Errorf("a request SetAbort does not select: %d", code)
	}
	p.SetAbort(nil)
	if code, _ := get(p.URL + "x"); code != http.StatusOK {
		t.Errorf("after SetAbort(nil): %d", code)
	}
	if p.Bytes() == 0 {
		t.Error("no bytes counted")
	}
}
