package snapshot

import (
	"sync"
	"sync/atomic"
	"time"
)

// Freshness says whether the replica's data is stale (no confirmed contact with the Kubernetes API server for longer
// than --stale-after) and, if so, since when: the time of the last confirmation.
type Freshness struct {
	Stale bool
	Since time.Time
}

// Store holds the current snapshot and wakes the readers waiting for the next one.
// Readers never block writers and never hold a lock while serving.
type Store struct {
	current   atomic.Pointer[Snapshot]
	freshness atomic.Pointer[Freshness]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every Publish
	version uint64
}

// NewStore returns an empty store: Current is nil until the first Publish.
func NewStore() *Store {
	return &Store{changed: make(chan struct{})}
}

// Freshness returns whether the data is stale; fresh until SetFreshness says otherwise.
func (s *Store) Freshness() Freshness {
	if f := s.freshness.Load(); f != nil {
		return *f
	}
	return Freshness{}
}

// SetFreshness records the replica's staleness and wakes every waiting reader when it changed (a new confirmation
// while fresh changes nothing a client sees).
func (s *Store) SetFreshness(stale bool, lastContact time.Time) {
	next := Freshness{Stale: stale}
	if stale {
		next.Since = lastContact.UTC().Truncate(time.Second)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.freshness.Load(); prev != nil && *prev == next || prev == nil && next == (Freshness{}) {
		return
	}
	s.freshness.Store(&next)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Poke wakes every waiting reader without a new snapshot: an answer that depends on the time (a window becoming
// upcoming) changed.
func (s *Store) Poke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// Current returns the latest snapshot, or nil when none was published yet (the cache has not synced).
func (s *Store) Current() *Snapshot {
	return s.current.Load()
}

// Changed returns a channel that is closed when a snapshot newer than the current one is published, or the
// freshness changes.
// Take it before reading Current to never miss an update.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// NextVersion reserves the version number of the next snapshot to publish.
func (s *Store) NextVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	return s.version
}

// Publish makes snap current and wakes every waiting reader.
func (s *Store) Publish(snap *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current.Store(snap)
	close(s.changed)
	s.changed = make(chan struct{})
}
