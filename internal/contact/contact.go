package contact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// State is a replica's contact with the API server, as the API reports it.
type State struct {
	// Stale is true when no confirmation came for longer than --stale-after.
	Stale bool
	// LastContact is the time of the last confirmation (zero before the first).
	LastContact time.Time
}

// Stale decides whether data last confirmed at last is stale at now. Before the first confirmation (last is
// zero) it is not: a replica that never had contact has no data to serve and answers 503 instead.
func Stale(last, now time.Time, after time.Duration) bool {
	return !last.IsZero() && now.Sub(last) > after
}

// Probe confirms contact with the API server every Interval and publishes the verdict to OnChange whenever it
// changes, and LastContact at every confirmation. It is a manager Runnable for every replica.
type Probe struct {
	// Config reaches the API server; the probe builds its own transport from it.
	Config *rest.Config
	// Shared is the client the replica's informers use (the manager's); optional. When set, a confirmation needs an
	// answer through it as well: HTTP/2 keeps sending over a connection that died silently until its health check
	// closes it, and until then the watches on it hear nothing, even though a fresh connection would get through.
	Shared *http.Client
	// StaleAfter is --stale-after.
	StaleAfter time.Duration
	// Interval between probes (default StaleAfter/3, at most 5 s); Timeout bounds one probe (default 5 s).
	Interval, Timeout time.Duration
	Clock             clock.WithTicker
	// OnChange receives every new State (stale flips and confirmations); it must not block.
	OnChange func(State)
	Metrics  *Metrics
	Log      logr.Logger

	mu    sync.Mutex
	state State
}

// NeedLeaderElection is false: every replica serves the API and must know how old its data is.
func (p *Probe) NeedLeaderElection() bool { return false }

// State returns the current verdict.
func (p *Probe) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Start probes until ctx is done. The verdict is re-evaluated every second, so stale turns true at most a second
// after --stale-after has passed, even while a probe hangs.
func (p *Probe) Start(ctx context.Context) error {
	if p.Interval <= 0 {
		p.Interval = min(max(p.StaleAfter/3, time.Second), 5*time.Second)
	}
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	results := make(chan time.Time, 1)
	go func() {
		ticker := p.Clock.NewTicker(p.Interval)
		defer ticker.Stop()
		for {
			start := p.Clock.Now()
			if err := p.probe(ctx); err == nil {
				select {
				case results <- start:
				default:
				}
			} else if ctx.Err() == nil {
				p.Log.V(1).Info("API server probe failed", "error", err.Error())
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C():
			}
		}
	}()
	evaluate := p.Clock.NewTicker(time.Second)
	defer evaluate.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case at := <-results:
			p.update(at)
		case <-evaluate.C():
			p.update(time.Time{})
		}
	}
}

// update records a confirmation made at confirmed (zero: none) and publishes the verdict when it changed.
func (p *Probe) update(confirmed time.Time) {
	p.mu.Lock()
	next := p.state
	if confirmed.After(next.LastContact) {
		next.LastContact = confirmed
	}
	next.Stale = Stale(next.LastContact, p.Clock.Now(), p.StaleAfter)
	changed := next != p.state
	flipped := next.Stale != p.state.Stale
	p.state = next
	p.mu.Unlock()
	if !changed {
		return
	}
	if flipped && next.Stale {
		p.Log.Info("no contact with the Kubernetes API server: the API now reports its data as stale",
			"lastContact", next.LastContact, "staleAfter", p.StaleAfter)
	} else if flipped {
		p.Log.Info("contact with the Kubernetes API server is back: the API's data is fresh again")
	}
	p.Metrics.observe(next)
	if p.OnChange != nil {
		p.OnChange(next)
	}
}

// probe asks the API server for /livez on a fresh connection (never one a dead HTTP/2 stream could hold), and through
// the Shared client when there is one, both bounded by Timeout; it succeeds when both answered.
func (p *Probe) probe(ctx context.Context) error {
	cfg := rest.CopyConfig(p.Config)
	cfg.Timeout = p.Timeout
	// A Dial function makes client-go build a transport of its own instead of sharing the cached one.
	cfg.Dial = (&net.Dialer{Timeout: p.Timeout}).DialContext
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("build the probe's client: %w", err)
	}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	if p.Shared == nil {
		return livez(ctx, hc, cfg.Host)
	}
	shared := make(chan error, 1)
	go func() { shared <- livez(ctx, p.Shared, cfg.Host) }()
	fresh := livez(ctx, hc, cfg.Host)
	if err := <-shared; err != nil {
		return errors.Join(fresh, fmt.Errorf("through the informers' connection: %w", err))
	}
	return fresh
}

// livez is one GET /livez of host through hc.
func livez(ctx context.Context, hc *http.Client, host string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/livez", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	// Any answer proves the server is reachable; an authorization failure still means the watches can be served.
	if resp.StatusCode >= http.StatusInternalServerError {
		return fmt.Errorf("GET /livez answered %s", resp.Status)
	}
	return nil
}

// Metrics are mwm_api_stale and mwm_api_last_contact_timestamp_seconds, exported by every replica.
type Metrics struct {
	stale       prometheus.Gauge
	lastContact prometheus.Gauge
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		stale: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mwm_api_stale",
			Help: "1 when this replica's API serves stale data: no contact with the Kubernetes API server for " +
				"longer than --stale-after."}),
		lastContact: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mwm_api_last_contact_timestamp_seconds",
			Help: "Unix time of this replica's last confirmed contact with the Kubernetes API server."}),
	}
	reg.MustRegister(m.stale, m.lastContact)
	return m
}

func (m *Metrics) observe(s State) {
	if m == nil {
		return
	}
	v := 0.0
	if s.Stale {
		v = 1
	}
	m.stale.Set(v)
	if !s.LastContact.IsZero() {
		m.lastContact.Set(float64(s.LastContact.UnixNano()) / 1e9)
	}
}
