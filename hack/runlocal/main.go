// Command runlocal is `make run-local`: it starts a local kube-apiserver, etcd and kube-controller-manager (built by
// `make controlplane`), installs the CRD, applies a demo (Services, Pods, ServiceCheckers), plays the scheduler and
// kubelet for the Pods, runs bin/manager against it in the foreground, and shows the resulting ServiceCheckers.
// Ctrl-C stops everything it started.
//
// `runlocal outage` and `runlocal recover` (make demo-outage, make demo-recover) mark the Pods of a demo Service
// not ready, or ready again, in the running demo.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/internal/kubeletsim"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
)

// The demo's subcommands: make a Service's Pods not ready, or ready again.
const (
	actionOutage  = "outage"
	actionRecover = "recover"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == actionOutage || os.Args[1] == actionRecover) {
		if err := demo(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "run-local:", err)
			os.Exit(1)
		}
		return
	}
	var binDir, crdDir, manager, stateDir, apiURL string
	var manifests stringList
	flag.StringVar(&binDir, "bin-dir", "bin/k8s", "Directory holding kube-apiserver, etcd, kubectl and kube-controller-manager.")
	flag.StringVar(&crdDir, "crd-dir", "config/crd/bases", "Directory of the CRDs to install.")
	flag.StringVar(&manager, "manager", "bin/manager", "The manager binary to run.")
	flag.StringVar(&stateDir, "state-dir", "bin/run-local", "Where the kubeconfig is written.")
	flag.Var(&manifests, "apply", "A manifest to apply before the manager starts (repeatable).")
	flag.StringVar(&apiURL, "api-url", "https://127.0.0.1:8443", "Where the manager serves its API, to show it answering.")
	flag.Parse()

	if err := run(binDir, crdDir, manager, stateDir, apiURL, manifests, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "run-local:", err)
		os.Exit(1)
	}
}

func run(binDir, crdDir, manager, stateDir, apiURL string, manifests, managerArgs []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	kubeconfig, err := filepath.Abs(filepath.Join(stateDir, "kubeconfig"))
	if err != nil {
		return err
	}
	step("starting kube-apiserver, etcd and kube-controller-manager from %s (a few seconds)", binDir)
	cluster, err := localcluster.Start(localcluster.Options{
		BinDir: binDir, CRDDir: crdDir, KubeconfigPath: kubeconfig, ControllerManager: true,
		LogDir: filepath.Join(filepath.Dir(kubeconfig), "logs"),
	})
	if err != nil {
		return err
	}
	defer func() {
		step("stopping the local control plane")
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "run-local:", err)
		}
	}()
	step("control plane up; kubeconfig written to %s", kubeconfig)

	c, err := client.New(cluster.Config, client.Options{})
	if err != nil {
		return fmt.Errorf("create a client for the local control plane: %w", err)
	}
	kubelet := kubeletsim.New(c, "local-node")
	if err := kubelet.RegisterNode(ctx); err != nil {
		return err
	}
	go kubelet.Sync(ctx, 250*time.Millisecond, func(err error) {
		fmt.Fprintln(os.Stderr, "run-local: simulated kubelet (retrying):", err)
	})
	step("kube-controller-manager writes the EndpointSlices (log: %s); run-local plays the kubelet of Node %s",
		cluster.ControllerManagerLog(), kubelet.Node)
	for _, m := range manifests {
		step("applying %s", m)
		if err := apply(ctx, c, m); err != nil {
			return err
		}
	}

	args := append([]string{"--kubeconfig", kubeconfig}, managerArgs...)
	step("starting %s %s", manager, strings.Join(args, " "))
	cmd := exec.Command(manager, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// The manager dies with run-local even if run-local itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (built by `make build`): %w", manager, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	kubectl := filepath.Join(binDir, "kubectl")
	go showCheckers(ctx, kubectl, kubeconfig, apiURL)

	select {
	case err := <-exited:
		return fmt.Errorf("manager exited: %w", err)
	case <-cluster.ControllerManagerExited():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		return fmt.Errorf("kube-controller-manager exited, so no EndpointSlice would change any more (see %s); "+
			"the manager stopped with: %v", cluster.ControllerManagerLog(), <-exited)
	case <-ctx.Done():
		step("stopping the manager")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return ignoreSignalExit(err)
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("the manager did not stop within 15s and was killed: %w", <-exited)
		}
	}
}

// ignoreSignalExit accepts the manager's exit caused by our own SIGTERM.
func ignoreSignalExit(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && !exit.Exited() {
		return nil
	}
	return err
}

// showCheckers prints `kubectl get servicecheckers` once the manager has written every status, and how to try it.
func showCheckers(ctx context.Context, kubectl, kubeconfig, apiURL string) {
	get := []string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(filepath.Dir(kubeconfig), "kubectl-cache"),
		"get", "servicecheckers", "-A"}
	for range 60 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		out, err := exec.CommandContext(ctx, kubectl, append(get, "-o",
			"jsonpath={range .items[*]}{.metadata.generation}={.status.observedGeneration} {end}")...).Output()
		if err != nil || !allObserved(string(out)) {
			continue
		}
		table, _ := exec.CommandContext(ctx, kubectl, get...).CombinedOutput()
		step("the manager is reconciling; ServiceCheckers now:\n\n%s", table)
		showAPI(ctx, apiURL)
		step("try it (Ctrl-C stops everything):\n"+
			"    curl -sk %[3]s/services\n"+
			"    curl -sk %[3]s/status\n"+
			"    curl -skN %[3]s/events        # live stream; in another terminal:\n"+
			"    KUBECONFIG=%[2]s bin/mwmctl status -o wide\n"+
			"    KUBECONFIG=%[2]s kubectl get svcchk -A             # or: %[1]s --kubeconfig %[2]s get servicecheckers -A\n"+
			"    make demo-outage    # checkout's Pods fail readiness: storefront enters maintenance\n"+
			"    make demo-recover   # and come back\n"+
			"    make demo-window    # a 2-minute maintenance window on storefront (mwmctl maintenance on)",
			kubectl, kubeconfig, apiURL)
		return
	}
	fmt.Fprintln(os.Stderr, "run-local: the ServiceCheckers' status was not written within a minute; see the manager log above")
}

// showAPI prints what the manager's API answers, as curl -sk would show it (the certificate is self-signed).
func showAPI(ctx context.Context, apiURL string) {
	httpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the local self-signed certificate
	}}
	for _, path := range []string{"/services", "/status"} {
		var body []byte
		for range 20 {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+path, nil)
			resp, err := httpClient.Do(req)
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		step("curl -sk %s%s\n%s\n", apiURL, path, body)
	}
}

func allObserved(pairs string) bool {
	fields := strings.Fields(pairs)
	if len(fields) == 0 {
		return false
	}
	for _, f := range fields {
		gen, observed, _ := strings.Cut(f, "=")
		if gen != observed {
			return false
		}
	}
	return true
}

// apply creates every object of a multi-document YAML file, in order.
func apply(ctx context.Context, c client.Client, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decode %s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetNamespace() == "" && obj.GetKind() != "Namespace" {
			obj.SetNamespace("default")
		}
		if err := c.Create(ctx, &obj); err != nil {
			return fmt.Errorf("create %s %s/%s from %s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), path, err)
		}
	}
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func step(format string, args ...any) {
	fmt.Printf(">> "+format+"\n", args...)
}

// demo marks the Pods of a Service of the running demo not ready (outage) or ready (recover), as their kubelet
// would when their readiness probe starts failing or passing.
func demo(action string, args []string) error {
	fs := flag.NewFlagSet("runlocal "+action, flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "bin/run-local/kubeconfig", "The kubeconfig run-local wrote.")
	namespace := fs.String("namespace", "shop", "Namespace of the Service.")
	service := fs.String("service", "checkout", "The Service whose Pods (label app=<service>) change.")
	_ = fs.Parse(args)
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("read %s (is `make run-local` running?): %w", *kubeconfig, err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(*namespace), client.MatchingLabels{"app": *service}); err != nil {
		return fmt.Errorf("list the Pods of %s/%s (is `make run-local` running?): %w", *namespace, *service, err)
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("no Pod with label app=%s in namespace %s", *service, *namespace)
	}
	kubelet := kubeletsim.New(c, "local-node")
	for _, p := range pods.Items {
		if err := kubelet.SetReady(ctx, p.Namespace, p.Name, action == actionRecover); err != nil {
			return err
		}
		step("Pod %s/%s: ready=%t", p.Namespace, p.Name, action == actionRecover)
	}
	step("the EndpointSlice controller updates %s/%s's slices; watch it with: curl -sk https://127.0.0.1:8443/status",
		*namespace, *service)
	return nil
}
