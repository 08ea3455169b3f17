package testutil

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestParallel(t *testing.T) {
	var sum atomic.Int64
	if err := Parallel(1000, func(i int) error { sum.Add(int64(i)); return nil }); err != nil || sum.Load() != 499500 {
		t.Errorf("Parallel = %v, sum %d; want every index once (499500)", err, sum.Load())
	}
	boom := errors.New("boom")
	if err := Parallel(10, func(i int) error {
		if i == 7 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Errorf("Parallel = %v, want the failing call's error", err)
	}
}
