package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// ChromiumEnv names the environment variable that points to another Chromium binary than ChromiumPath.
	ChromiumEnv = "CHROMIUM"
	// ChromiumPath is where Debian's chromium package installs the browser (`make chromium` installs it).
	ChromiumPath = "/usr/bin/chromium"
	// BrowserOptionalEnv, set to 1 or true, lets a browser test skip when Chromium is missing. Unset (as under make
	// test), a missing browser fails the test: a suite that silently skips proves nothing.
	BrowserOptionalEnv = "MWM_BROWSER_OPTIONAL"
)

// BrowserFlags are the command-line flags Chromium starts with, besides --user-data-dir (a fresh t.TempDir) and
// the --remote-debugging-pipe chromedp drives it through. Background networking, component updates, sync and QUIC
// are off so that the browser itself contacts no other host: a test may then assert that a page made no request
// to another host.
var BrowserFlags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
}

// Browser is a headless Chromium process of one test. Open pages with NewTab; every tab records what the
// page wrote to its console and every request it made. The browser stops at the test's cleanup.
type Browser struct {
	ctx     context.Context // the chromedp context of the browser's first tab, parent of every NewTab
	cancel  context.CancelFunc
	dataDir string
}

// StartBrowser starts headless Chromium (ChromiumPath, or the binary CHROMIUM names) with BrowserFlags and a
// fresh user data directory under tb.TempDir(), and stops it at tb's cleanup. When the binary is missing the test
// is skipped if MWM_BROWSER_OPTIONAL says browsers are optional, and otherwise StartBrowser returns an error
// saying how to install it. From Ginkgo, pass GinkgoTB().
func StartBrowser(tb testing.TB) (*Browser, error) {
	tb.Helper()
	path := ChromiumPath
	if p := os.Getenv(ChromiumEnv); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if optional, _ := strconv.ParseBool(os.Getenv(BrowserOptionalEnv)); optional {
			tb.Skipf("Chromium is not installed at %s and %s=%s: skipping the browser test (run `make chromium` to "+
				"install it)", path, BrowserOptionalEnv, os.Getenv(BrowserOptionalEnv))
		}
		return nil, fmt.Errorf("no Chromium at %s: run `make chromium` (apt-get install chromium), set %s to "+
			"another binary, or set %s=1 to skip browser tests: %w", path, ChromiumEnv, BrowserOptionalEnv, err)
	}
	b := &Browser{dataDir: tb.TempDir()}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(b.dataDir)}
	for _, f := range BrowserFlags {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	b.cancel = func() { cancelCtx(); cancelAlloc() }
	tb.Cleanup(b.Close)
	// The first Run starts the process; it must not carry a timeout, which would stop the whole browser.
	if err := chromedp.Do(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("start Chromium %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser and every tab; StartBrowser registers it as a cleanup, calling it earlier is harmless.
func (b *Browser) Close() { b.cancel() }

// CommandLine is the command line the browser process runs with, read from /proc (Linux only).
func (b *Browser) CommandLine() ([]string, error) {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return nil, errors.New("the browser is not running")
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(c.Browser.Process().Pid) + "/cmdline")
	if err != nil {
		return nil, fmt.Errorf("read the browser's command line: %w", err)
	}
	return strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00"), nil
}

// NewTab opens a tab that records its console and its requests from its first moment. Drive it with
// chromedp.Do(tab.Context(), ...) or chromedp.Run; close it with Close (the browser's end closes it too).
func (b *Browser) NewTab() (*Tab, error) {
	t := &Tab{}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(t.record))
	t.ctx, t.cancel = ctx, cancel
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("open a browser tab: %w", err)
	}
	return t, nil
}

// Tab is one page of a Browser with what it has recorded so far.
type Tab struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
	requests []string
}

// Context is the chromedp context of the tab, for chromedp.Do and chromedp.Run.
func (t *Tab) Context() context.Context { return t.ctx }

// Close closes the tab.
func (t *Tab) Close() { t.cancel() }

// record runs on chromedp's reading goroutine for every event of the tab: it must only copy and return.
func (t *Tab) record(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		t.messages = append(t.messages, chromedp.ConsoleMessage{Type: chromedp.ConsoleType(e.Type), Text: argsText(e.Args)})
	case *runtime.EventExceptionThrown:
		text := e.ExceptionDetails.Text
		if obj := e.ExceptionDetails.Exception; obj != nil && obj.Description != "" {
			text += " " + obj.Description
		}
		t.messages = append(t.messages, chromedp.ConsoleMessage{Type: chromedp.ConsoleException, Text: text,
			URL: e.ExceptionDetails.URL})
	case *log.EventEntryAdded:
		// The browser's own messages: failed loads, Content Security Policy violations, mixed content.
		t.messages = append(t.messages, chromedp.ConsoleMessage{Type: chromedp.ConsoleType(e.Entry.Level),
			Text: e.Entry.Text, URL: e.Entry.URL, Source: string(e.Entry.Source)})
	case *network.EventRequestWillBeSent:
		t.requests = append(t.requests, e.Request.URL)
	}
}

// argsText renders console arguments well enough for a failure message.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
			parts = append(parts, s)
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

// Console is every message the tab's pages wrote to the console so far: console API calls, uncaught exceptions and
// the browser's log entries.
func (t *Tab) Console() []chromedp.ConsoleMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.messages)
}

// ConsoleErrors is the console messages of type error, assert or exception, as "type: text (url)" strings, for
// an assertion that a page logged none.
func (t *Tab) ConsoleErrors() []string {
	var errs []string
	for _, m := range t.Console() {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException, "assert":
			s := m.String()
			if m.URL != "" {
				s += " (" + m.URL + ")"
			}
			errs = append(errs, s)
		}
	}
	return errs
}

// Requests is the URL of every request the tab made so far, in order (a redirect counts again).
func (t *Tab) Requests() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.requests)
}

// RequestHosts is the distinct host:port of the tab's requests, in order of first use. data: and blob: URLs,
// which reach no host, are left out.
func (t *Tab) RequestHosts() []string {
	var hosts []string
	for _, raw := range t.Requests() {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		if !slices.Contains(hosts, u.Host) {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// ForeignRequests is the requests to any host other than allowed (host:port, as in RequestHosts), for an
// assertion that a page contacts only its own server.
func (t *Tab) ForeignRequests(allowed ...string) []string {
	var foreign []string
	for _, raw := range t.Requests() {
		u, err := url.Parse(raw)
		if err != nil {
			foreign = append(foreign, raw)
			continue
		}
		if u.Host != "" && !slices.Contains(allowed, u.Host) {
			foreign = append(foreign, raw)
		}
	}
	return foreign
}
