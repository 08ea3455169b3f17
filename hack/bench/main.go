// Command bench is `make bench`: it measures the manager against a real kube-apiserver and etcd (localcluster,
// built by `make controlplane`) and prints a table of figures, each the median of several repetitions, with the
// ratio to a baseline measured in the same run and the goal it is held to. It writes bench/results.json and
// bench/results.md. These are benchmarks, not tests: nothing fails on a slow machine or a missed goal.
//
// Sections (run one or several with -only; -scale runs the scale section alone): api, freshness, writes, coalesce,
// streams, scale.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
)

// figure is one row of the results table.
type figure struct {
	// ID is the row's stable key in results.json (e.g. "scale.cpu_per_event.1000_watched"); names may be reworded.
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // the section (-only) that measures it
	Name     string    `json:"name"`
	Value    float64   `json:"value"`
	Unit     string    `json:"unit"`
	Baseline string    `json:"baseline,omitempty"` // "baseline / ratio" as printed
	Goal     string    `json:"goal,omitempty"`
	Runs     []float64 `json:"runs"`
}

// section is how long one section of the run took, so that the whole can be kept within `make bench`'s budget.
type section struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

type results struct {
	Machine  string       `json:"machine"`
	When     string       `json:"when"`
	Figures  []figure     `json:"figures"`
	Scaling  []scalingRow `json:"scaling,omitempty"`
	Sections []section    `json:"sections"`
}

func main() {
	var (
		binDir, manager, out, only string
		reps                       int
		duration                   time.Duration
		scaleOnly                  bool
	)
	flag.StringVar(&binDir, "bin-dir", "bin/k8s", "Directory holding kube-apiserver and etcd (make controlplane).")
	flag.StringVar(&manager, "manager", "bin/manager", "The manager binary, for the sections that run it as a process.")
	flag.StringVar(&out, "out", "bench", "Directory for results.json and results.md.")
	flag.StringVar(&only, "only", strings.Join(kinds, ","), "Comma-separated sections to run: "+strings.Join(kinds, ", ")+".")
	flag.BoolVar(&scaleOnly, "scale", false,
		"Run only the scale section (10,000 Services; 100, 1000 and 10000 watched): -only scale.")
	flag.IntVar(&reps, "reps", 3, "Repetitions of each figure; the median is reported.")
	flag.DurationVar(&duration, "duration", 2*time.Second, "Length of each load run of GET /services.")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel))) // the in-process manager's errors only
	if scaleOnly {
		only = kindScale
	}
	selected, err := sections(only)
	if err == nil {
		err = run(binDir, manager, out, selected, reps, duration)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sections parses -only into known section names, in the order they run (each section sets up the world it needs,
// and the scale section grows it to 10,000 Services, so the order is fixed).
func sections(only string) ([]string, error) {
	var selected []string
	for name := range strings.SplitSeq(only, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(kinds, name) {
			return nil, fmt.Errorf("-only: unknown section %q; use a comma-separated list of %s", name, strings.Join(kinds, ", "))
		}
		if !slices.Contains(selected, name) {
			selected = append(selected, name)
		}
	}
	slices.SortFunc(selected, func(a, b string) int { return slices.Index(kinds, a) - slices.Index(kinds, b) })
	return selected, nil
}

func run(binDir, manager, out string, only []string, reps int, duration time.Duration) error {
	// Ctrl-C still stops kube-apiserver and etcd (the deferred Stop below).
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := raiseFileLimit(); err != nil {
		return err
	}
	start := time.Now()
	step("starting kube-apiserver and etcd from %s", binDir)
	dir, err := os.MkdirTemp("", "mwm-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cluster, err := localcluster.Start(localcluster.Options{BinDir: binDir, CRDDir: "config/crd/bases",
		KubeconfigPath: filepath.Join(dir, "kubeconfig")})
	if err != nil {
		return err
	}
	defer func() { _ = cluster.Stop() }()
	b, err := newBench(ctx, cluster, manager, dir, out, reps, duration)
	if err != nil {
		return err
	}
	defer b.stopInProcess()
	timings := []section{{Name: "setup", Seconds: time.Since(start).Seconds()}}
	var figures []figure
	for _, name := range only {
		step("section %s", name)
		began := time.Now()
		got, err := b.sections()[name](ctx)
		if err != nil {
			return fmt.Errorf("section %s: %w", name, err)
		}
		for i := range got {
			got[i].Kind = name
		}
		figures = append(figures, got...)
		timings = append(timings, section{Name: name, Seconds: time.Since(began).Seconds()})
		step("section %s took %s", name, time.Since(began).Round(time.Second))
	}
	timings = append(timings, section{Name: "total", Seconds: time.Since(start).Seconds()})
	res := results{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		When: time.Now().UTC().Format(time.RFC3339), Figures: figures, Scaling: b.scaling, Sections: timings}
	res = mergeEarlier(filepath.Join(out, "results.json"), only, res)
	table := markdown(res)
	fmt.Printf("\n%s\nbench: done in %s\n", table, time.Since(start).Round(time.Second))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false) // goals read ">= 0.9x", not "\u003e= 0.9x"
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), raw.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "results.md"), []byte(table), 0o644)
}

// raiseFileLimit lifts the soft limit of open files to the hard one, for this process and for the bin/manager
// processes it starts (which inherit it): the streams section holds 1,000 TLS connections at each end.
func raiseFileLimit() error {
	const need = 2500
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the limit of open files: %w", err)
	}
	if lim.Max < need {
		// Raising the hard limit needs privileges (CI runs as root); without them, say what to do.
		raised := syscall.Rlimit{Cur: need, Max: need}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return fmt.Errorf("the hard limit of open files is %d; the streams section needs about %d (1,000 streams at "+
				"both ends) and could not raise it (%v): raise it (ulimit -Hn %d) and run again", lim.Max, need, err, need)
		}
		lim = raised
	}
	lim.Cur = lim.Max
	// Setting the limit explicitly also makes bin/manager inherit it: Go restores the original soft limit for the
	// processes it starts only when the program never set it.
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

func markdown(r results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s; each value is the median of the runs.\n\n", r.When, r.Machine)
	b.WriteString("| figure | value | baseline / ratio | goal |\n| --- | --- | --- | --- |\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", f.Name, format(f.Value), f.Unit, f.Baseline, f.Goal)
	}
	if len(r.Scaling) > 0 {
		b.WriteString("\n" + scalingTable(r.Scaling))
	}
	b.WriteString("\nSections (wall time):")
	for i, s := range r.Sections {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s %s", sep, s.Name, (time.Duration(s.Seconds) * time.Second).Round(time.Second))
	}
	b.WriteString(".\n")
	return b.String()
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func step(format string, args ...any) { fmt.Printf(">> "+format+"\n", args...) }

// The sections -only selects, in the order they run.
const (
	kindAPI       = "api"
	kindFreshness = "freshness"
	kindWrites    = "writes"
	kindCoalesce  = "coalesce"
	kindStreams   = "streams"
	kindScale     = "scale"
)

var kinds = []string{kindAPI, kindFreshness, kindWrites, kindCoalesce, kindStreams, kindScale}

// mergeEarlier keeps the rows of sections not run this time from an earlier results.json, so that `-only` updates
// its rows in place. The sections run now replace every earlier row of theirs; rows of sections that no longer
// exist (an earlier harness's) are dropped. Section timings are this run's only.
func mergeEarlier(path string, only []string, now results) results {
	raw, err := os.ReadFile(path)
	if err != nil {
		return now
	}
	var earlier results
	if json.Unmarshal(raw, &earlier) != nil {
		return now
	}
	var kept []figure
	for _, f := range earlier.Figures {
		if slices.Contains(kinds, f.Kind) && !slices.Contains(only, f.Kind) {
			kept = append(kept, f)
		}
	}
	now.Figures = append(kept, now.Figures...)
	slices.SortStableFunc(now.Figures, func(a, b figure) int {
		return slices.Index(kinds, a.Kind) - slices.Index(kinds, b.Kind)
	})
	if !slices.Contains(only, kindScale) {
		now.Scaling = earlier.Scaling
	}
	return now
}
