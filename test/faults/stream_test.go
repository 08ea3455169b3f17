package faults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// stream is one Server-Sent Events client that follows the readiness of one Service through `event: services`.
type stream struct {
	pattern []byte // `"name":"<name>","namespace":"<ns>","ready":` as the entries are encoded
	done    chan struct{}

	mu      sync.Mutex
	seq     []bool // the Service's readiness, each change once
	stale   []bool // "stale" of the status events, each change once
	events  int
	sample  string // the start of the first services event, for failure messages
	lines   int
	url     string
	err     error // why the stream ended: io.EOF when the server ended it cleanly
	endedAt time.Time
}

// openStream connects to url (an event stream) and follows Service ns/name until the server ends the stream or ctx
// is cancelled; it returns once the response headers came, and only the response when it is not a 200.
func openStream(ctx context.Context, c *http.Client, url, ns, name string) (*stream, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, resp, nil
	}
	s := &stream{url: url, pattern: fmt.Appendf(nil, `"name":%q,"namespace":%q,"ready":`, name, ns), done: make(chan struct{})}
	go s.read(resp.Body)
	return s, resp, nil
}

func (s *stream) read(body io.ReadCloser) {
	defer close(s.done)
	defer func() { _ = body.Close() }()
	in := bufio.NewReaderSize(body, 512<<10) // the whole list of 1,001 Services fits: no copy per event
	event := ""
	for {
		line, err := in.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line: gather it whole (copied first: the next read reuses the buffer).
			start := slices.Clone(line)
			rest, err2 := in.ReadBytes('\n')
			line, err = append(start, rest...), err2
		}
		if err != nil {
			s.mu.Lock()
			s.err, s.endedAt = err, time.Now()
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.lines++
		s.mu.Unlock()
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(bytes.TrimSpace(line[len("event: "):]))
		case bytes.HasPrefix(line, []byte("data: ")) && event == "services":
			s.observe(line)
		case bytes.HasPrefix(line, []byte("data: ")) && event == "status":
			s.observeStatus(line)
		case len(bytes.TrimSpace(line)) == 0:
			event = ""
		}
	}
}

func (s *stream) observe(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	if s.sample == "" {
		s.sample = string(data[:min(len(data), 300)])
	}
	i := bytes.Index(data, s.pattern)
	if i < 0 {
		return
	}
	ready := bytes.HasPrefix(data[i+len(s.pattern):], []byte("true"))
	if len(s.seq) == 0 || s.seq[len(s.seq)-1] != ready {
		s.seq = append(s.seq, ready)
	}
}

// observeStatus records the stale flag of an `event: status`.
func (s *stream) observeStatus(data []byte) {
	stale := bytes.Contains(data, []byte(`"stale":true`))
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.stale) == 0 || s.stale[len(s.stale)-1] != stale {
		s.stale = append(s.stale, stale)
	}
}

// staleness is the sequence of the stale flag of the status events so far, each change once.
func (s *stream) staleness() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stale)
}

// String describes the stream for failure messages.
func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("stream %s following %s: %d lines, %d services events, readiness %v, ended %v, first event %q",
		s.url, s.pattern, s.lines, s.events, s.seq, s.err, s.sample)
}

// readiness is the sequence of the Service's readiness seen so far, each change once.
func (s *stream) readiness() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seq)
}

// ended returns when and why the stream ended (a nil error while it is open).
func (s *stream) ended() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endedAt, s.err
}

// alternating is the readiness sequence of n flips starting from first.
func alternating(first bool, n int) []bool {
	seq := make([]bool, n+1)
	for i := range seq {
		seq[i] = first == (i%2 == 0)
	}
	return seq
}
