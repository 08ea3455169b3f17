package source

import (
	"context"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// Source yields the watched Services of a selection, judged by the rules of internal/snapshot (a selection by
// checker holds that ServiceChecker's own verdicts). A selection naming a ServiceChecker that does not exist is an
// error, never an empty all clear.
type Source interface {
	// List returns the selected Services, sorted by namespace then name, and how fresh they are.
	List(ctx context.Context, sel selection.Selection) (View, error)
	// Watch calls fn with the selected list once connected and again after every change (of the list or of its
	// freshness), until ctx is done (then it returns nil). A dropped connection is retried with backoff, reported
	// through Options.OnRetry; only a failure before the first list is returned.
	Watch(ctx context.Context, sel selection.Selection, fn func(View)) error
	// Windows returns the MaintenanceWindows of the selection's namespaces (all when none) and, with a checker,
	// those naming it, whatever their phase, sorted by name: what GET /windows answers. Only Namespaces and Checker
	// of the selection apply.
	Windows(ctx context.Context, sel selection.Selection) ([]snapshot.Window, error)
}

// View is what a source answers for a selection.
type View struct {
	Entries []snapshot.Entry
	// Status is the /status answer of the selection: the one to decide on.
	Status snapshot.Summary
	// StatusKnown is false while Status is not known yet: an API event stream that has sent its list but not yet its
	// status event (or a manager older than status events).
	StatusKnown bool
	// Freshness is the API replica's staleness; data read through a kubeconfig comes straight from the API server
	// and is always fresh.
	Freshness snapshot.Freshness
}

// Options are shared by both sources.
type Options struct {
	// OnRetry is told why the connection dropped and how long until the next attempt.
	OnRetry func(err error, wait time.Duration)
	// Warn receives notes for the user, such as a fallback to one namespace.
	Warn func(msg string)
}

// follow runs connect until ctx is done, calling fn with every list it yields. connect returns when its connection
// ends. classify tells whether to back off and the error to report; a clean end that needs no
// backoff is retried after a second, silently. Only a failure before the first list is returned.
func follow(ctx context.Context, opts Options, connect func(context.Context, func(View)) error,
	fn func(View), classify func(error) (bool, error)) error {
	var b backoff
	connected := false
	for {
		err := connect(ctx, func(v View) {
			connected = true
			b.reset()
			fn(v)
		})
		if ctx.Err() != nil {
			return nil
		}
		if !connected {
			return err
		}
		backOff, reported := classify(err)
		wait := time.Second
		if backOff {
			wait = b.wait()
			if opts.OnRetry != nil {
				opts.OnRetry(reported, wait)
			}
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// backoff doubles from one second up to thirty.
type backoff struct{ next time.Duration }

func (b *backoff) reset() { b.next = 0 }

func (b *backoff) wait() time.Duration {
	switch {
	case b.next == 0:
		b.next = time.Second
	case b.next < 30*time.Second:
		b.next = min(2*b.next, 30*time.Second)
	}
	return b.next
}

// sleep waits d or until ctx is done; false when ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
