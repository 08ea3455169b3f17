package faults

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// mode is what the managers' proxies do with their traffic to kube-apiserver (testutil.Proxy, shared with the
// browser suite's stale scenario).
type mode = testutil.ProxyMode

const (
	pass      = testutil.ProxyPass
	refuse    = testutil.ProxyRefuse
	blackhole = testutil.ProxyBlackhole
)

// network is the managers' way to kube-apiserver: a proxy per replica, so that an outage can cut every replica or
// only one.
type network struct {
	target string

	mu      sync.Mutex
	mode    mode                       // of every proxy, unless one was switched alone
	proxies map[string]*testutil.Proxy // by replica name
}

// proxyFor starts the proxy of a replica, in the network's mode: a replica started during an outage starts cut off.
func (n *network) proxyFor(name string) (*testutil.Proxy, error) {
	p, err := testutil.StartProxy(n.target, 9*time.Minute)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proxies[name] = p
	return p, p.SetMode(n.mode)
}

// setMode switches every replica's proxy.
func (n *network) setMode(m mode) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mode = m
	errs := make([]error, 0, len(n.proxies))
	for _, p := range n.proxies {
		errs = append(errs, p.SetMode(m))
	}
	return errors.Join(errs...)
}

func (n *network) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.proxies {
		p.Close()
	}
}

func (n *network) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var b strings.Builder
	for name, p := range n.proxies {
		fmt.Fprintf(&b, "%s: %v; ", name, p)
	}
	return b.String()
}
