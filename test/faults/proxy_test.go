package faults

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// mode is what the proxy does with the managers' traffic to kube-apiserver.
type mode int

const (
	// pass forwards every byte both ways.
	pass mode = iota
	// refuse is a stopped or unreachable API server that answers with RST: nothing listens (a new connection is
	// refused) and every open connection is reset.
	refuse
	// blackhole is a network that silently stops carrying packets: new connections are accepted and open ones stay
	// open, but nothing is forwarded, answered or closed (no RST, no FIN). A connection silenced once stays silent
	// after the outage, as one whose packets a restarted middlebox no longer knows: only the client giving up on it
	// ends it.
	blackhole
)

func (m mode) String() string {
	return [...]string{"pass", "refuse", "blackhole"}[m]
}

// proxy is a TCP proxy on a loopback port between the managers and kube-apiserver. The suite switches its mode to
// cause outages; it stops by itself after its lifetime, so no goroutine or socket outlives a suite that forgot it.
type proxy struct {
	addr, target string

	mu     sync.Mutex
	mode   mode
	ln     net.Listener // nil while refusing
	links  map[*link]struct{}
	closed bool
	done   chan struct{} // closed by Close
	// dialErrors counts the connections to the target that failed (the client got an RST), for the suite's log.
	dialErrors    int
	lastDialError string
}

// link is one client connection and, unless it was accepted during a blackhole, its upstream connection.
type link struct {
	client, upstream net.Conn
	silenced         chan struct{} // closed when blackholed: nothing more is forwarded
	silenceOnce      sync.Once
	closeOnce        sync.Once
}

func (l *link) silence() { l.silenceOnce.Do(func() { close(l.silenced) }) }

// close ends both connections; with reset the client gets an RST instead of a FIN.
func (l *link) close(reset bool) {
	l.closeOnce.Do(func() {
		if tcp, ok := l.client.(*net.TCPConn); ok && reset {
			_ = tcp.SetLinger(0)
		}
		_ = l.client.Close()
		if l.upstream != nil {
			_ = l.upstream.Close()
		}
	})
}

// startProxy listens on a free loopback port and forwards to target until Close or until lifetime has passed.
func startProxy(target string, lifetime time.Duration) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on a loopback port for the proxy: %w", err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target, ln: ln, links: map[*link]struct{}{}, done: make(chan struct{})}
	go p.accept(ln)
	go func() {
		select {
		case <-p.done:
		case <-time.After(lifetime):
			p.Close()
		}
	}()
	return p, nil
}

// accept serves one listener until it is closed (refuse mode or Close).
func (p *proxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.handle(c)
	}
}

func (p *proxy) handle(c net.Conn) {
	l := &link{client: c, silenced: make(chan struct{})}
	p.mu.Lock()
	if p.closed || p.mode == refuse {
		p.mu.Unlock()
		l.close(true)
		return
	}
	p.links[l] = struct{}{}
	silent := p.mode == blackhole
	p.mu.Unlock()
	if silent {
		l.silence() // accepted, and never read, answered or closed
		return
	}
	go func() {
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Lock()
			p.dialErrors++
			p.lastDialError = err.Error()
			p.mu.Unlock()
			p.drop(l, true)
			return
		}
		p.mu.Lock()
		_, open := p.links[l] // not reset or closed while dialling
		if open {
			l.upstream = up
		}
		p.mu.Unlock()
		if !open {
			_ = up.Close()
			return
		}
		go p.pump(l, up, c)
		go p.pump(l, c, up)
	}()
}

// pump copies src to dst until either side ends (then it closes the link) or the link is silenced (then it stops
// reading, and leaves both connections open).
func (p *proxy) pump(l *link, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-l.silenced:
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			select {
			case <-l.silenced: // an error from a connection the blackhole holds must not close the other side
				return
			default:
			}
			p.drop(l, !errors.Is(err, io.EOF))
			return
		}
	}
}

func (p *proxy) drop(l *link, reset bool) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	l.close(reset)
}

// setMode switches the proxy; it returns once the new mode applies to every connection.
func (p *proxy) setMode(m mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the proxy stopped (its lifetime passed)")
	}
	switch m {
	case refuse:
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
		}
		for l := range p.links {
			l.silence() // the pumps must not forward anything in flight
			l.close(true)
			delete(p.links, l)
		}
	case blackhole, pass:
		if m == blackhole {
			for l := range p.links {
				l.silence()
			}
		}
		if p.ln == nil {
			ln, err := listenAgain(p.addr)
			if err != nil {
				return err
			}
			p.ln = ln
			go p.accept(ln)
		}
	}
	p.mode = m
	return nil
}

// listenAgain listens on the proxy's own address again after a refused outage; the port may take a moment to be
// free.
func listenAgain(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("listen on the proxy's address %s again: %w", addr, err)
}

// String says what the proxy did wrong, if anything.
func (p *proxy) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("proxy %s -> %s (%s): %d failed dials to the target, last: %q", p.addr, p.target, p.mode,
		p.dialErrors, p.lastDialError)
}

// Close stops the proxy: the listener and every connection are closed.
func (p *proxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	close(p.done)
	if p.ln != nil {
		_ = p.ln.Close()
	}
	for l := range p.links {
		l.silence()
		l.close(false)
		delete(p.links, l)
	}
}

// network is the managers' way to kube-apiserver: a proxy per replica, so that an outage can cut every replica or
// only one.
type network struct {
	target string

	mu      sync.Mutex
	mode    mode              // of every proxy, unless one was switched alone
	proxies map[string]*proxy // by replica name
}

// proxyFor starts the proxy of a replica, in the network's mode: a replica started during an outage starts cut off.
func (n *network) proxyFor(name string) (*proxy, error) {
	p, err := startProxy(n.target, 9*time.Minute)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proxies[name] = p
	return p, p.setMode(n.mode)
}

// setMode switches every replica's proxy.
func (n *network) setMode(m mode) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mode = m
	errs := make([]error, 0, len(n.proxies))
	for _, p := range n.proxies {
		errs = append(errs, p.setMode(m))
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
