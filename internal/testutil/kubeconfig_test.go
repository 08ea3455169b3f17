package testutil

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestProxiedKubeconfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, servers ...string) string {
		cfg := clientcmdapi.NewConfig()
		for i, s := range servers {
			cfg.Clusters[string(rune('a'+i))] = &clientcmdapi.Cluster{Server: s}
		}
		path := filepath.Join(dir, name)
		if err := clientcmd.WriteToFile(*cfg, path); err != nil {
			t.Fatal(err)
		}
		return path
	}

	dst := filepath.Join(dir, "proxied")
	proxy, err := ProxiedKubeconfig(write("one", "https://127.0.0.1:6443"), dst, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	got, err := clientcmd.LoadFromFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if server := got.Clusters["a"].Server; server != "https://"+proxy.Addr() {
		t.Errorf("proxied server = %s, want https://%s", server, proxy.Addr())
	}
	if !strings.HasPrefix(proxy.Addr(), "127.0.0.1:") {
		t.Errorf("the proxy listens on %s, not loopback: the API server's certificate would not hold", proxy.Addr())
	}

	if _, err := ProxiedKubeconfig(write("two", "https://127.0.0.1:1", "https://127.0.0.1:2"), dst, time.Minute); err == nil ||
		!strings.Contains(err.Error(), "names 2 clusters") {
		t.Errorf("two clusters: err = %v, want one naming the count", err)
	}
	if _, err := ProxiedKubeconfig(filepath.Join(dir, "missing"), dst, time.Minute); err == nil {
		t.Error("a missing kubeconfig gave no error")
	}
}
