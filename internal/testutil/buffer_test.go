package testutil

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Run with -race: writers and a reader at once.
func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				_, _ = fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			_ = b.String()
		}
	})
	wg.Wait()
	if lines := strings.Count(b.String(), "\n"); lines != 400 {
		t.Fatalf("%d lines written, want 400", lines)
	}
}
