package contact

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestStale(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 0, 59, 50, 0, time.UTC) // ten seconds before Europe's clocks change: UTC does not care
	tests := []struct {
		name  string
		last  time.Time
		now   time.Time
		stale bool
	}{
		{"never confirmed: no data, not stale", time.Time{}, t0, false},
		{"just confirmed", t0, t0, false},
		{"exactly stale-after", t0, t0.Add(30 * time.Second), false},
		{"past stale-after", t0, t0.Add(30*time.Second + time.Nanosecond), true},
		{"clock behind the confirmation", t0, t0.Add(-time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Stale(tt.last, tt.now, 30*time.Second); got != tt.stale {
				t.Errorf("Stale(%v, %v, 30s) = %v, want %v", tt.last, tt.now, got, tt.stale)
			}
		})
	}
}

// TestProbeDetectsBothOutages runs the probe on the real clock against a server that answers, then refuses
// connections, then accepts them but never answers (a blackhole), then answers again.
func TestProbeDetectsBothOutages(t *testing.T) {
	var mu sync.Mutex
	mode := "up"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		m := mode
		mu.Unlock()
		if m == "blackhole" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	set := func(m string) {
		mu.Lock()
		defer mu.Unlock()
		mode = m
	}

	var states []State
	var smu sync.Mutex
	p := &Probe{
		Config: &rest.Config{Host: "http://" + addr}, StaleAfter: 600 * time.Millisecond,
		Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond, Clock: clock.RealClock{},
		OnChange: func(s State) { smu.Lock(); states = append(states, s); smu.Unlock() },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Start(ctx) }()
	waitFor := func(what string, cond func(State) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond(p.State()) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: not within 5s; state %+v", what, p.State())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("first contact", func(s State) bool { return !s.LastContact.IsZero() && !s.Stale })

	set("blackhole")
	d := waitFor("stale during a blackhole", func(s State) bool { return s.Stale })
	t.Logf("blackhole: stale after %s (stale-after 600ms)", d)
	if d > 600*time.Millisecond+2*time.Second {
		t.Errorf("stale after %s, later than stale-after + 2s", d)
	}
	set("up")
	waitFor("fresh again", func(s State) bool { return !s.Stale })

	_ = srv.Listener.Close() // refused from now on
	d = waitFor("stale while refused", func(s State) bool { return s.Stale })
	t.Logf("refused: stale after %s", d)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv.Listener = ln
	go func() { _ = srv.Config.Serve(ln) }()
	waitFor("fresh after the refusal", func(s State) bool { return !s.Stale })

	smu.Lock()
	defer smu.Unlock()
	flips := 0
	for i := 1; i < len(states); i++ {
		if states[i].Stale != states[i-1].Stale {
			flips++
		}
	}
	if flips < 3 {
		t.Errorf("OnChange saw %d stale flips, want at least 3 (stale, fresh, stale, fresh)", flips)
	}
}

func TestFakeClockFlipsWithoutProbeAnswer(t *testing.T) {
	fake := clocktesting.NewFakeClock(time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC))
	p := &Probe{StaleAfter: 30 * time.Second, Clock: fake}
	p.update(fake.Now())
	fake.Step(30 * time.Second)
	p.update(time.Time{})
	if p.State().Stale {
		t.Fatal("stale at exactly stale-after")
	}
	fake.Step(time.Second)
	p.update(time.Time{})
	if !p.State().Stale {
		t.Fatal("not stale a second past stale-after")
	}
}

// failing is a RoundTripper that never gets an answer, like an HTTP/2 connection that died silently.
type failing struct{}

func (failing) RoundTrip(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// TestProbeNeedsTheSharedConnection: the API server answers on a fresh connection, but not through the client the
// informers use; the replica stays stale until that client gets an answer too.
func TestProbeNeedsTheSharedConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	var mu sync.Mutex
	dead := true
	shared := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		d := dead
		mu.Unlock()
		if d {
			return failing{}.RoundTrip(r)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	p := &Probe{Config: &rest.Config{Host: srv.URL}, Shared: shared, StaleAfter: time.Minute,
		Interval: 50 * time.Millisecond, Timeout: 100 * time.Millisecond, Clock: clock.RealClock{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Start(ctx) }()
	time.Sleep(500 * time.Millisecond)
	if !p.State().LastContact.IsZero() {
		t.Fatal("contact confirmed while the shared connection got no answer")
	}
	mu.Lock()
	dead = false
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for p.State().LastContact.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("no contact confirmed within 5s once the shared connection answers")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
