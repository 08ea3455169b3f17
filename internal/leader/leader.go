package leader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Work is run while this replica leads; it must return soon after ctx is cancelled.
type Work func(ctx context.Context) error

// Elector campaigns for a Lease and runs Work while it holds it. It is a manager Runnable that runs on every replica.
type Elector struct {
	// Lock is the Lease to campaign for; nil runs the work without an election (--leader-elect=false: one replica).
	Lock resourcelock.Interface
	// LeaseDuration, RenewDeadline and RetryPeriod are the --leader-election-* flags (15 s, 10 s, 2 s). The leader
	// stops its work when it cannot renew within RenewDeadline, before the Lease (LeaseDuration) lets another
	// replica take it.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Work runs while leading, each function in its own goroutine. The next campaign starts only once every function
	// has returned, so two replicas never run it at once. A function returning an error ends this term: the
	// Lease is released and the replica campaigns again.
	Work []Work
	// Prepare runs once on every replica before the first campaign (indexes, warm informers): it needs the API
	// server, so it is retried with backoff until it succeeds, and the process never exits because of it.
	Prepare func(ctx context.Context) error
	Log     logr.Logger

	leading atomic.Bool
	terms   atomic.Int64
}

// NeedLeaderElection is false: the Elector is what elects.
func (e *Elector) NeedLeaderElection() bool { return false }

// Leading reports whether this replica holds the Lease and runs the work now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Terms counts how many times this replica became leader.
func (e *Elector) Terms() int64 { return e.terms.Load() }

// Validate checks the timings the way client-go's leader election requires them.
func (e *Elector) Validate() error {
	switch {
	case e.LeaseDuration <= e.RenewDeadline:
		return fmt.Errorf("--leader-election-lease-duration (%s) must be longer than --leader-election-renew-deadline (%s)",
			e.LeaseDuration, e.RenewDeadline)
	case e.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(e.RetryPeriod)):
		return fmt.Errorf("--leader-election-renew-deadline (%s) must be longer than %.1f x --leader-election-retry-period (%s)",
			e.RenewDeadline, leaderelection.JitterFactor, e.RetryPeriod)
	case e.RetryPeriod <= 0:
		return errors.New("--leader-election-retry-period must be positive")
	}
	return nil
}

// Start campaigns until ctx is done. On shutdown the work is stopped first, then the Lease released, so a standby
// can take over at once (not after LeaseDuration).
func (e *Elector) Start(ctx context.Context) error {
	if !e.prepare(ctx) {
		return nil
	}
	if e.Lock == nil {
		return e.unelected(ctx)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	wait := e.RetryPeriod
	for {
		failed := e.term(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// A term whose work failed (a cache that cannot sync, say) would otherwise take and give up the Lease every
		// retry period: back off up to thirty seconds while it keeps failing.
		if failed {
			wait = min(2*wait, 30*time.Second)
		} else {
			wait = e.RetryPeriod
		}
		e.Log.Info("not leading any more; campaigning again", "lease", e.Lock.Describe(), "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// prepare runs Prepare until it succeeds, backing off from a second to thirty; false when ctx ended first.
func (e *Elector) prepare(ctx context.Context) bool {
	if e.Prepare == nil {
		return true
	}
	wait := time.Second
	for {
		err := e.Prepare(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		e.Log.Error(err, "preparing the leader's work failed; retrying", "in", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// unelected runs the work until ctx is done, starting it again a second after it fails.
func (e *Elector) unelected(ctx context.Context) error {
	for {
		termCtx, endTerm := context.WithCancel(ctx)
		e.lead(ctx, termCtx, endTerm, "no leader election", nil)
		endTerm()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// term campaigns once, leads until the Lease is lost or ctx is done, and returns when the work has stopped and the
// Lease was given up; failed tells whether the work ended the term by failing.
func (e *Elector) term(ctx context.Context) (failed bool) {
	// client-go releases the Lease when the context of Run ends: that context must outlive the work.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	lock := &renewals{Interface: e.Lock}
	var (
		mu       sync.Mutex
		started  bool // the work began; guarded by mu
		over     bool // term is returning: work must not begin any more; guarded by mu
		workDone = make(chan struct{})
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   e.LeaseDuration,
		RenewDeadline:   e.RenewDeadline,
		RetryPeriod:     e.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.Lock.Describe(),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leadCtx context.Context) {
				mu.Lock()
				if over || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				started = true
				mu.Unlock()
				defer close(workDone)
				failed = e.lead(ctx, leadCtx, cancelRun, e.Lock.Describe(), lock)
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil { // Validate checked what NewLeaderElector checks
		e.Log.Error(err, "configure leader election")
		return true
	}
	// waitWork marks the term over and waits for work that began; work cannot begin after it.
	waitWork := func() {
		mu.Lock()
		over = true
		began := started
		mu.Unlock()
		if began {
			<-workDone
		}
	}
	go func() {
		select {
		case <-ctx.Done(): // shutdown: stop the work, then let Run release the Lease
			waitWork()
			cancelRun()
		case <-runCtx.Done():
		}
	}()
	le.Run(runCtx)
	waitWork()
	return failed
}

// lead runs the work until the Lease is lost (leadCtx), the process stops (ctx), a function fails (then it ends the
// term through endTerm, which makes Run release the Lease) or, with lock, the Lease was not renewed within
// RenewDeadline. That last check is the work's own: client-go ends leadCtx only after its release attempt, which a
// silent network stretches by another RenewDeadline, long enough for a standby to take the Lease meanwhile. It reports
// whether the work failed.
func (e *Elector) lead(ctx, leadCtx context.Context, endTerm context.CancelFunc, lease string, lock *renewals) bool {
	workCtx, cancel := context.WithCancel(leadCtx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	e.terms.Add(1)
	e.leading.Store(true)
	defer e.leading.Store(false)
	e.Log.Info("leading: starting the leader's work", "lease", lease)

	if lock != nil {
		go func() {
			tick := time.NewTicker(max(e.RetryPeriod/4, 10*time.Millisecond))
			defer tick.Stop()
			for {
				select {
				case <-workCtx.Done():
					return
				case <-tick.C:
				}
				if since := time.Since(lock.last()); since > e.RenewDeadline {
					e.Log.Info("the Lease was not renewed within the renew deadline: stopping the leader's work",
						"lease", lease, "lastRenewal", since)
					endTerm()
					cancel()
					return
				}
			}
		}()
	}

	var failed atomic.Bool
	var wg sync.WaitGroup
	for _, w := range e.Work {
		wg.Go(func() {
			if err := w(workCtx); err != nil && workCtx.Err() == nil {
				e.Log.Error(err, "the leader's work failed; giving up the Lease to campaign again")
				failed.Store(true)
				endTerm()
				cancel()
			}
		})
	}
	wg.Wait()
	e.Log.Info("the leader's work stopped", "lease", lease)
	return failed.Load()
}

// renewals records when this replica last took or renewed the Lease.
type renewals struct {
	resourcelock.Interface
	mu sync.Mutex
	at time.Time
}

func (r *renewals) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return r.record(r.Interface.Create(ctx, ler))
}

func (r *renewals) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return r.record(r.Interface.Update(ctx, ler))
}

func (r *renewals) record(err error) error {
	if err == nil {
		r.mu.Lock()
		r.at = time.Now()
		r.mu.Unlock()
	}
	return err
}

func (r *renewals) last() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at
}
