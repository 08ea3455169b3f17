package leader

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// store is an in-memory Lease shared by several replicas' locks; down makes every call fail, as an unreachable API
// server would.
type store struct {
	mu     sync.Mutex
	record *resourcelock.LeaderElectionRecord
	down   bool
}

type memLock struct {
	s  *store
	id string
	// silent makes this replica's calls hang until their context ends, as through a blackholed network.
	silent atomic.Bool
}

func (l *memLock) hang(ctx context.Context) error {
	if !l.silent.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

var errDown = errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")

func (l *memLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	if err := l.hang(ctx); err != nil {
		return nil, nil, err
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.down {
		return nil, nil, errDown
	}
	if l.s.record == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "leases"}, "test")
	}
	r := *l.s.record
	raw, _ := json.Marshal(r)
	return &r, raw, nil
}

func (l *memLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	if err := l.hang(ctx); err != nil {
		return err
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.down {
		return errDown
	}
	if l.s.record != nil {
		return apierrors.NewAlreadyExists(schema.GroupResource{Resource: "leases"}, "test")
	}
	l.s.record = &r
	return nil
}

func (l *memLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	if err := l.hang(ctx); err != nil {
		return err
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.down {
		return errDown
	}
	l.s.record = &r
	return nil
}

func (l *memLock) RecordEvent(string) {}
func (l *memLock) Identity() string   { return l.id }
func (l *memLock) Describe() string   { return "default/test" }
func (s *store) setDown(down bool)    { s.mu.Lock(); s.down = down; s.mu.Unlock() }
func (s *store) holder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.record == nil {
		return ""
	}
	return s.record.HolderIdentity
}

// replica is an Elector whose work counts how many replicas run it at once.
func replica(t *testing.T, s *store, id string, running, maxRunning *atomic.Int32) *Elector {
	return &Elector{
		Lock:          &memLock{s: s, id: id},
		LeaseDuration: 600 * time.Millisecond, RenewDeadline: 400 * time.Millisecond, RetryPeriod: 100 * time.Millisecond,
		Log: testr.New(t),
		Work: []Work{func(ctx context.Context) error {
			n := running.Add(1)
			for {
				if m := maxRunning.Load(); n <= m || maxRunning.CompareAndSwap(m, n) {
					break
				}
			}
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // an in-flight reconcile finishing
			running.Add(-1)
			return nil
		}},
	}
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLosingTheLeaseStopsTheWorkNotTheElector(t *testing.T) {
	s := &store{}
	var running, maxRunning atomic.Int32
	a := replica(t, s, "a", &running, &maxRunning)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()

	eventually(t, "a leads", 2*time.Second, a.Leading)
	s.setDown(true) // the API server goes away: renewals fail
	eventually(t, "a stops leading after the renew deadline", 2*time.Second, func() bool { return !a.Leading() })
	eventually(t, "the work stops", time.Second, func() bool { return running.Load() == 0 })
	select {
	case err := <-done:
		t.Fatalf("the Elector returned (%v) when it lost the Lease; it must campaign again", err)
	default:
	}
	s.setDown(false)
	eventually(t, "a leads again", 3*time.Second, a.Leading)
	if a.Terms() != 2 {
		t.Errorf("terms = %d, want 2", a.Terms())
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start = %v on shutdown", err)
	}
	if running.Load() != 0 {
		t.Error("the work still runs after shutdown")
	}
	if h := s.holder(); h != "" {
		t.Errorf("the Lease is still held by %q after shutdown; a standby would wait a whole lease duration", h)
	}
}

func TestOneReplicaRunsTheWorkAtATime(t *testing.T) {
	s := &store{}
	var running, maxRunning atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	electors := make([]*Elector, 0, 3)
	cancels := make([]context.CancelFunc, 0, 3)
	for _, id := range []string{"a", "b", "c"} {
		e := replica(t, s, id, &running, &maxRunning)
		electors = append(electors, e)
		ectx, ecancel := context.WithCancel(ctx)
		cancels = append(cancels, ecancel)
		wg.Go(func() { _ = e.Start(ectx) })
	}
	leader := func() int {
		for i, e := range electors {
			if e.Leading() {
				return i
			}
		}
		return -1
	}
	eventually(t, "someone leads", 2*time.Second, func() bool { return leader() >= 0 })
	first := leader()
	start := time.Now()
	cancels[first]() // SIGTERM: work stopped, Lease released
	eventually(t, "another replica leads", 2*time.Second, func() bool { l := leader(); return l >= 0 && l != first })
	t.Logf("takeover after a clean shutdown: %s (retry period 100ms)", time.Since(start))

	for range 3 { // outages: whoever leads loses it, someone leads again
		s.setDown(true)
		time.Sleep(700 * time.Millisecond)
		s.setDown(false)
		eventually(t, "someone leads after the outage", 3*time.Second, func() bool { return leader() >= 0 })
	}
	cancel()
	wg.Wait()
	if m := maxRunning.Load(); m != 1 {
		t.Errorf("%d replicas ran the work at once, want 1", m)
	}
}

// Only the leader's network goes silent: client-go ends its term only after a release attempt that hangs for
// another renew deadline, while the standby takes the Lease after the lease duration. The work must stop first.
func TestASilentLeaderStopsBeforeAStandbyTakesOver(t *testing.T) {
	s := &store{}
	var running, maxRunning atomic.Int32
	// The Lease record keeps whole seconds: a sub-second lease duration would read as expired at once.
	seconds := func(e *Elector) *Elector {
		e.LeaseDuration, e.RenewDeadline, e.RetryPeriod = 2*time.Second, 1600*time.Millisecond, 200*time.Millisecond
		return e
	}
	a := seconds(replica(t, s, "a", &running, &maxRunning))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Start(ctx) })
	eventually(t, "a leads", 2*time.Second, a.Leading)
	b := seconds(replica(t, s, "b", &running, &maxRunning))
	wg.Go(func() { _ = b.Start(ctx) })

	a.Lock.(*memLock).silent.Store(true)
	eventually(t, "b takes over", 5*time.Second, b.Leading)
	if m := maxRunning.Load(); m != 1 {
		t.Errorf("%d replicas ran the work at once while the leader was cut off, want 1", m)
	}
	a.Lock.(*memLock).silent.Store(false)
	cancel()
	wg.Wait()
}
