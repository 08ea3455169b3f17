package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pprofFlag is the manager's flag for controller-runtime's pprof server (off by default). When bin/manager has it,
// the scale section saves a CPU profile over readiness flips and a heap profile, at 1000 and at 10000 watched, so
// that bench/README.md can show the top consumers before and after a change.
const pprofFlag = "--pprof-bind-address"

// profileSeconds is the length of the CPU profile; the flips go on until it is taken.
const profileSeconds = 5

// profile flips the world's first Service while it takes a CPU profile of the process, then a heap profile after a
// GC; it writes both to dir as cpu-<label>.pprof and heap-<label>.pprof, with `go tool pprof -top` of each beside
// them (.txt), and prints the CPU top.
func (b *bench) profile(ctx context.Context, pprofURL string, apiURL string, w world, dir, label string) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := b.flipperFor(streamCtx, apiURL, w)
	if err != nil {
		return err
	}
	type result struct {
		body []byte
		err  error
	}
	cpu := make(chan result, 1)
	go func() {
		body, err := fetch(pprofURL+fmt.Sprintf("/debug/pprof/profile?seconds=%d", profileSeconds), 2*profileSeconds*time.Second)
		cpu <- result{body, err}
	}()
	var got result
	flips := 0
	for done := false; !done; {
		for range 2 { // pairs of flips: the Service ends ready
			if _, err := f.flip(ctx); err != nil {
				return err
			}
			if _, err := f.event(f.ready, 10*time.Second); err != nil {
				return err
			}
			flips++
		}
		select {
		case got = <-cpu:
			done = true
		default:
		}
	}
	if got.err != nil {
		return fmt.Errorf("CPU profile: %w", got.err)
	}
	heap, err := fetch(pprofURL+"/debug/pprof/heap?gc=1", 30*time.Second)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	top, err := saveProfile(dir, "cpu-"+label, got.body,
		fmt.Sprintf("CPU profile of bin/manager, %s: %d s during %d readiness flips", label, profileSeconds, flips))
	if err != nil {
		return err
	}
	step("CPU profile, %s, %d flips (%s):\n%s", label, flips, filepath.Join(dir, "cpu-"+label+".pprof"), firstLines(top, 18))
	_, err = saveProfile(dir, "heap-"+label, heap,
		fmt.Sprintf("heap profile of bin/manager, %s: in use after a GC, after %d readiness flips", label, flips),
		"-sample_index=inuse_space")
	return err
}

// heapProfile saves the process's heap in use after a GC as heap-<label>.pprof in dir, with its top beside it.
func heapProfile(pprofURL, dir, label, what string) error {
	heap, err := fetch(pprofURL+"/debug/pprof/heap?gc=1", 30*time.Second)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	_, err = saveProfile(dir, "heap-"+label, heap, "heap profile of bin/manager, "+what+": in use after a GC",
		"-sample_index=inuse_space")
	return err
}

// saveProfile writes a profile to dir as <name>.pprof, and `go tool pprof -top` of it, under a header line, as
// <name>.txt; it returns the top.
func saveProfile(dir, name string, body []byte, header string, args ...string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".pprof")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return "", err
	}
	top, err := pprofTop(path, args...)
	if err != nil {
		return "", err
	}
	return top, os.WriteFile(filepath.Join(dir, name+".txt"), []byte("# "+header+"\n"+top), 0o644)
}

// fetch returns the body of GET url (a plain-HTTP pprof endpoint).
func fetch(url string, timeout time.Duration) ([]byte, error) {
	resp, err := (&http.Client{Timeout: timeout}).Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return body, err
}

// pprofTop is `go tool pprof -top` of a profile: the top consumers by flat and cumulative share.
func pprofTop(path string, args ...string) (string, error) {
	cmd := exec.Command("go", append(append([]string{"tool", "pprof", "-top", "-nodecount=25"}, args...), path)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -top %s: %w: %s", path, err, out)
	}
	return string(out), nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
