package faults

import (
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
)

// row is one scenario's line of the table; an empty cell is a figure the scenario does not measure.
type row struct {
	scenario, errors, staleDetected, fresh, served, takeover, rss, notes string
}

type table struct {
	mu   sync.Mutex
	rows []row
}

var results = &table{}

func (t *table) add(r row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, r)
}

// render is a Markdown table, as the README's Failure modes section quotes it.
func (t *table) render() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	header := row{"scenario", "API errors", "stale detected after", "fresh again after", "change served after",
		"takeover", "RSS growth", "notes"}
	cells := func(r row) []string {
		return []string{r.scenario, r.errors, r.staleDetected, r.fresh, r.served, r.takeover, r.rss, r.notes}
	}
	var b strings.Builder
	line := func(c []string) {
		for i := range c {
			if c[i] == "" {
				c[i] = "-"
			}
		}
		b.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	line(cells(header))
	sep := make([]string, len(cells(header)))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.rows {
		line(cells(r))
	}
	return b.String()
}

// seconds formats a duration for the table: milliseconds below a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// durations are the steps' wall times, printed after the suite.
var durations = &stepDurations{}

type stepDurations struct {
	mu    sync.Mutex
	steps []string
}

func (d *stepDurations) render() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.steps, "\n")
}

func timed(step string, fn func()) {
	start := time.Now()
	defer func() {
		durations.mu.Lock()
		durations.steps = append(durations.steps, fmt.Sprintf("%7.1fs  %s", time.Since(start).Seconds(), step))
		durations.mu.Unlock()
	}()
	By(step)
	fn()
}
