package source

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// APIOptions configure the API source; they mirror mwmctl's --api-* flags.
type APIOptions struct {
	URL                   string
	CAFile                string
	TLSServerName         string
	InsecureSkipTLSVerify bool
	Timeout               time.Duration
	Options
}

// API reads the manager's HTTP API.
type API struct {
	base    *url.URL
	opts    APIOptions
	client  *http.Client // bounded by Timeout, for List
	streams *http.Client // no overall timeout, for Watch
}

// NewAPI validates the options. Its errors are usage errors (a bad URL or CA file).
func NewAPI(opts APIOptions) (*API, error) {
	base, err := url.Parse(strings.TrimRight(opts.URL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("--api-url %q is not an http(s) URL such as https://mwm.example.com:8443", opts.URL)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: opts.TLSServerName,
		InsecureSkipVerify: opts.InsecureSkipTLSVerify} //nolint:gosec // user's choice
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read --api-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--api-ca-file %s holds no PEM certificate", opts.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       tlsConfig,
		DialContext:           (&net.Dialer{Timeout: opts.Timeout}).DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
	}
	return &API{
		base:    base,
		opts:    opts,
		client:  &http.Client{Transport: transport, Timeout: opts.Timeout},
		streams: &http.Client{Transport: transport},
	}, nil
}

// List implements Source: the selection travels as query parameters, the API applies it.
// The freshness comes from /status of the same selection.
func (a *API) List(ctx context.Context, sel selection.Selection) (View, error) {
	var v View
	var entries []wireEntry
	if err := a.getJSON(ctx, withQuery("/services", sel), &entries); err != nil {
		return View{}, err
	}
	v.Entries = fromWire(entries)
	var status snapshot.Summary
	if err := a.getJSON(ctx, withQuery("/status", sel), &status); err != nil {
		return View{}, err
	}
	v.Status, v.Freshness, v.StatusKnown = status, freshness(status), true
	return v, nil
}

// Windows implements Source with GET /windows.
func (a *API) Windows(ctx context.Context, sel selection.Selection) ([]snapshot.Window, error) {
	windows := []snapshot.Window{}
	err := a.getJSON(ctx, withQuery("/windows", selection.Selection{Namespaces: sel.Namespaces, Checker: sel.Checker}),
		&windows)
	return windows, err
}

func (a *API) getJSON(ctx context.Context, path string, into any) error {
	resp, err := a.get(ctx, a.client, path, "application/json")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("the answer of %s%s is not the maintenance API's JSON: %w", a.base, path, err)
	}
	return nil
}

// wireEntry tells an entry whose maintenance key is absent (a manager older than mwmctl) from one that is false.
type wireEntry struct {
	snapshot.Entry
	Maintenance *bool `json:"maintenance"`
}

// fromWire takes an older manager's entry as it meant it: critical and not ready is maintenance.
func fromWire(in []wireEntry) []snapshot.Entry {
	out := make([]snapshot.Entry, len(in))
	for i, w := range in {
		out[i] = w.Entry
		if w.Maintenance != nil {
			out[i].Maintenance = *w.Maintenance
		} else {
			out[i].Maintenance = w.Critical && !w.Ready
		}
	}
	return out
}

func freshness(s snapshot.Summary) snapshot.Freshness {
	f := snapshot.Freshness{Stale: s.Stale}
	if s.Stale && s.StaleSince != nil {
		f.Since = *s.StaleSince
	}
	return f
}

// Watch implements Source with the API's Server-Sent Events stream of the selection.
func (a *API) Watch(ctx context.Context, sel selection.Selection, fn func(View)) error {
	connect := func(ctx context.Context, fn func(View)) error { return a.stream(ctx, sel, fn) }
	return follow(ctx, a.opts.Options, connect, fn, func(err error) (bool, error) {
		if err == nil {
			err = errors.New("the server closed the event stream")
		}
		return true, err
	})
}

// idleLimit is how long a stream may stay silent before it is presumed dead (a laptop that slept, a NAT or load
// balancer that dropped the connection without a FIN). The server sends a heartbeat every 15 s by default.
func (a *API) idleLimit() time.Duration {
	return max(45*time.Second, 3*a.opts.Timeout)
}

// stream reads one event stream: services events carry the list, status events its freshness. fn is called once
// the list has arrived, and again after every change of either.
func (a *API) stream(ctx context.Context, sel selection.Selection, fn func(View)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := a.get(ctx, a.streams, withQuery("/events", sel), "text/event-stream")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	idle := time.AfterFunc(a.idleLimit(), cancel)
	defer idle.Stop()
	silent := func() bool { return !idle.Stop() } // the timer already fired
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	var data strings.Builder
	event := ""
	var v View
	haveList := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if silent() {
				return fmt.Errorf("the event stream of %s was silent for %s, longer than its heartbeats allow",
					a.base, a.idleLimit())
			}
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read the event stream of %s: %w", a.base, err)
		}
		if silent() {
			return fmt.Errorf("the event stream of %s was silent for %s", a.base, a.idleLimit())
		}
		idle.Reset(a.idleLimit())
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case line == "" && data.Len() > 0:
			var err error
			switch event {
			case "status":
				var s snapshot.Summary
				err = json.Unmarshal([]byte(data.String()), &s)
				v.Status, v.Freshness, v.StatusKnown = s, freshness(s), true
			default: // "services", or a server older than the status events
				var entries []wireEntry
				err = json.Unmarshal([]byte(data.String()), &entries)
				v.Entries, haveList = fromWire(entries), true
			}
			if err != nil {
				return fmt.Errorf("an event of %s/events is not the maintenance API's JSON: %w", a.base, err)
			}
			data.Reset()
			event = ""
			if haveList {
				fn(v)
			}
		case line == "":
			event = ""
		}
	}
}

func withQuery(path string, sel selection.Selection) string {
	if q := sel.Values().Encode(); q != "" {
		return path + "?" + q
	}
	return path
}

func (a *API) get(ctx context.Context, client *http.Client, path, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base.String()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		return nil, a.explain(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	if body.Error == "" {
		body.Error = http.StatusText(resp.StatusCode)
	}
	hint := "check --api-url"
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		hint = "retry in a few seconds"
	case resp.StatusCode == http.StatusNotFound && strings.HasPrefix(body.Error, "no such path"):
		hint = "the manager is older than this mwmctl; upgrade it, or read the cluster through your kubeconfig " +
			"(without --api-url)"
	case resp.StatusCode == http.StatusNotFound:
		hint = "check --checker for a typo (mwmctl status -o wide shows every Service's CHECKERS)"
	case resp.StatusCode == http.StatusBadRequest:
		hint = "check -n, --checker and the SERVICE arguments"
	}
	shown, uerr := url.QueryUnescape(path)
	if uerr != nil {
		shown = path
	}
	return nil, fmt.Errorf("%s%s answered %d: %s; %s", a.base, shown, resp.StatusCode, body.Error, hint)
}

// explain turns a transport error into a sentence saying what to do.
func (a *API) explain(err error) error {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verification *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verification):
		return fmt.Errorf("TLS verification of %s failed: %w; pass --api-ca-file with the CA that signed the API's "+
			"certificate (or --api-insecure-skip-tls-verify for a test setup)", a.base, errors.Unwrap(err))
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer from the maintenance API at %s within --api-timeout %s; check the address "+
			"and the network, or raise --api-timeout", a.base, a.opts.Timeout)
	default:
		return fmt.Errorf("cannot reach the maintenance API at %s: %w; check --api-url (or MWM_API_URL) and that "+
			"the manager is running", a.base, errors.Unwrap(err))
	}
}
