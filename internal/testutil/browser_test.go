package testutil

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRecordsConsoleAndHosts runs real Chromium against two loopback servers: the page logs an error,
// throws, and fetches from the second server, a host other than its own. The tab must have recorded all of it,
// and the browser must run with exactly the documented flags.
func TestBrowserRecordsConsoleAndHosts(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write([]byte("ok"))
	}))
	defer other.Close()
	// The page's own server answers on localhost, the other on 127.0.0.1: two hosts on loopback.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><script>
console.log("fine");
console.error("broken", 42);
fetch("` + other.URL + `/x").then(r => r.text()).then(t => { document.title = t; });
setTimeout(() => { throw new Error("boom"); });
</script>`))
	}))
	defer page.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(page.URL, "http://"))
	pageHost := "localhost:" + port

	b, err := StartBrowser(t)
	if err != nil {
		t.Fatal(err)
	}
	args, err := b.CommandLine()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range BrowserFlags {
		if !slices.Contains(args, f) {
			t.Errorf("Chromium runs without %s: %q", f, args)
		}
	}
	if !slices.Contains(args, "--user-data-dir="+b.dataDir) {
		t.Errorf("Chromium runs without the test's own --user-data-dir %s: %q", b.dataDir, args)
	}

	tab, err := b.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	ctx, cancel := context.WithTimeout(tab.Context(), 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+pageHost+"/")); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.title === "ok"`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("wait for the page's fetch to %s: %v", other.URL, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(tab.ConsoleErrors()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}

	errs := strings.Join(tab.ConsoleErrors(), "\n")
	for _, want := range []string{"error: broken 42", "exception: Uncaught Error: boom"} {
		if !strings.Contains(errs, want) {
			t.Errorf("console errors lack %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "fine") {
		t.Errorf("console.log counted as an error:\n%s", errs)
	}
	otherHost := strings.TrimPrefix(other.URL, "http://")
	if hosts := tab.RequestHosts(); !slices.Equal(hosts, []string{pageHost, otherHost}) {
		t.Errorf("request hosts = %q, want %q", hosts, []string{pageHost, otherHost})
	}
	if foreign := tab.ForeignRequests(pageHost); !slices.Equal(foreign, []string{other.URL + "/x"}) {
		t.Errorf("foreign requests = %q, want the fetch to %s/x only", foreign, other.URL)
	}
}

// TestStartBrowserWithoutChromium: a missing browser fails with what to do, unless browsers are optional.
func TestStartBrowserWithoutChromium(t *testing.T) {
	t.Setenv(ChromiumEnv, "/nonexistent/chromium")
	t.Setenv(BrowserOptionalEnv, "")
	_, err := StartBrowser(t)
	if err == nil || !strings.Contains(err.Error(), "make chromium") || !strings.Contains(err.Error(), BrowserOptionalEnv) {
		t.Fatalf("StartBrowser without Chromium: err = %v, want one naming make chromium and %s", err, BrowserOptionalEnv)
	}

	t.Run("optional", func(t *testing.T) {
		t.Setenv(BrowserOptionalEnv, "1")
		_, _ = StartBrowser(t)
		t.Error("StartBrowser did not skip although browsers are optional")
	})
}
