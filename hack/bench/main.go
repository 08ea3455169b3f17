// Command bench is `make bench`: it measures the manager against a real kube-apiserver and etcd (localcluster,
// built by `make controlplane`) and prints a table of figures, each the median of several repetitions, with the
// ratio to a baseline measured in the same run. It writes bench/results.json and bench/results.md. These are
// benchmarks, not tests: nothing fails on a slow machine.
//
// Figures (run one or several with -only): api, freshness, writes, memory, events.
package main

import (
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
	Name     string    `json:"name"`
	Value    float64   `json:"value"`
	Unit     string    `json:"unit"`
	Baseline string    `json:"baseline,omitempty"` // "baseline / ratio" as printed
	Goal     string    `json:"goal,omitempty"`
	Runs     []float64 `json:"runs"`
}

type results struct {
	Machine string   `json:"machine"`
	When    string   `json:"when"`
	Figures []figure `json:"figures"`
}

func main() {
	var (
		binDir, manager, out, only string
		reps                       int
		duration                   time.Duration
	)
	flag.StringVar(&binDir, "bin-dir", "bin/k8s", "Directory holding kube-apiserver and etcd (make controlplane).")
	flag.StringVar(&manager, "manager", "bin/manager", "The manager binary, for the memory and event-cost figures.")
	flag.StringVar(&out, "out", "bench", "Directory for results.json and results.md.")
	flag.StringVar(&only, "only", strings.Join(kinds, ","), "Comma-separated figures to run.")
	flag.IntVar(&reps, "reps", 3, "Repetitions of each figure; the median is reported.")
	flag.DurationVar(&duration, "duration", 2*time.Second, "Length of each load run of the api figure.")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel))) // the in-process manager's errors only

	if err := run(binDir, manager, out, strings.Split(only, ","), reps, duration); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(binDir, manager, out string, only []string, reps int, duration time.Duration) error {
	// Ctrl-C still stops kube-apiserver and etcd (the deferred Stop below).
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
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
	b, err := newBench(ctx, cluster, manager, dir, reps, duration)
	if err != nil {
		return err
	}
	var figures []figure
	for _, name := range only {
		f, ok := b.figures()[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("-only: unknown figure %q (one of %s)", name, strings.Join(kinds, ", "))
		}
		step("figure %s", name)
		got, err := f(ctx)
		if err != nil {
			return fmt.Errorf("figure %s: %w", name, err)
		}
		figures = append(figures, got...)
	}
	figures = mergeEarlier(filepath.Join(out, "results.json"), only, figures)
	res := results{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		When: time.Now().UTC().Format(time.RFC3339), Figures: figures}
	table := markdown(res)
	fmt.Printf("\n%s\nbench: done in %s\n", table, time.Since(start).Round(time.Second))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "results.md"), []byte(table), 0o644)
}

func markdown(r results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s; each value is the median of the runs.\n\n", r.When, r.Machine)
	b.WriteString("| figure | value | baseline / ratio | goal |\n| --- | --- | --- | --- |\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", f.Name, format(f.Value), f.Unit, f.Baseline, f.Goal)
	}
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

// The figures -only selects.
const (
	kindAPI       = "api"
	kindFreshness = "freshness"
	kindWrites    = "writes"
	kindMemory    = "memory"
	kindEvents    = "events"
)

var kinds = []string{kindAPI, kindFreshness, kindWrites, kindMemory, kindEvents}

// mergeEarlier keeps the rows of figures not run this time from an earlier results.json, so that `-only` updates
// its rows in place. The kinds run now replace every earlier row of theirs.
func mergeEarlier(path string, only []string, figures []figure) []figure {
	raw, err := os.ReadFile(path)
	if err != nil {
		return figures
	}
	var earlier results
	if json.Unmarshal(raw, &earlier) != nil {
		return figures
	}
	var kept []figure
	for _, f := range earlier.Figures {
		if !slices.Contains(only, kindOf(f.Name)) {
			kept = append(kept, f)
		}
	}
	all := append(kept, figures...)
	slices.SortStableFunc(all, func(a, b figure) int { return kindOrder(a.Name) - kindOrder(b.Name) })
	return all
}

// kindOf tells which -only figure a row comes from.
func kindOf(name string) string {
	switch {
	case strings.HasPrefix(name, "GET "):
		return kindAPI
	case strings.HasPrefix(name, "freshness"):
		return kindFreshness
	case strings.HasPrefix(name, "status writes"):
		return kindWrites
	case strings.HasPrefix(name, "bin/manager, "), strings.HasPrefix(name, "cold start"):
		return kindMemory
	default:
		return kindEvents
	}
}

func kindOrder(name string) int {
	return slices.Index(kinds, kindOf(name))
}
