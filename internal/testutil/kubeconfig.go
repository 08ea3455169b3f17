package testutil

import (
	"fmt"
	"net/url"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// ProxiedKubeconfig writes to dst a copy of the kubeconfig at src whose API server is reached through a new Proxy
// (alive for lifetime), so that a test can refuse or blackhole a manager's traffic to kube-apiserver. The proxy
// listens on 127.0.0.1, like the local kube-apiserver, so its serving certificate still holds. src must name one
// cluster.
func ProxiedKubeconfig(src, dst string, lifetime time.Duration) (*Proxy, error) {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", src, err)
	}
	if len(cfg.Clusters) != 1 {
		return nil, fmt.Errorf("kubeconfig %s names %d clusters; a proxied copy needs exactly one", src, len(cfg.Clusters))
	}
	var proxy *Proxy
	for name, c := range cfg.Clusters {
		server, err := url.Parse(c.Server)
		if err != nil {
			return nil, fmt.Errorf("cluster %s of kubeconfig %s: server %q: %w", name, src, c.Server, err)
		}
		if proxy, err = StartProxy(server.Host, lifetime); err != nil {
			return nil, err
		}
		c.Server = server.Scheme + "://" + proxy.Addr()
	}
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		proxy.Close()
		return nil, fmt.Errorf("write the proxied kubeconfig %s: %w", dst, err)
	}
	return proxy, nil
}
