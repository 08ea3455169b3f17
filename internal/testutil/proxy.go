package testutil

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ProxyMode is what a Proxy does with the traffic it carries (a manager's to kube-apiserver, say).
type ProxyMode int

const (
	// ProxyPass forwards every byte both ways.
	ProxyPass ProxyMode = iota
	// ProxyRefuse is a stopped or unreachable API server that answers with RST: nothing listens (a new connection is
	// refused) and every open connection is reset.
	ProxyRefuse
	// ProxyBlackhole is a network that silently stops carrying packets: new connections are accepted and open ones stay
	// open, but nothing is forwarded, answered or closed (no RST, no FIN). A connection silenced once stays silent
	// after the outage, as one whose packets a restarted middlebox no longer knows: only the client giving up on it
	// ends it.
	ProxyBlackhole
)

func (m ProxyMode) String() string {
	return [...]string{"pass", "refuse", "blackhole"}[m]
}

// Proxy is a TCP proxy on a loopback port, between a manager and kube-apiserver for instance. A test switches its
// mode to cause outages; it stops by itself after its lifetime, so no goroutine or socket outlives a suite that
// forgot it.
type Proxy struct {
	addr, target string

	mu     sync.Mutex
	mode   ProxyMode
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

// StartProxy listens on a free loopback port and forwards to target (host:port) until Close or until lifetime has
// passed.
func StartProxy(target string, lifetime time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on a loopback port for the proxy: %w", err)
	}
	p := &Proxy{addr: ln.Addr().String(), target: target, ln: ln, links: map[*link]struct{}{}, done: make(chan struct{})}
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

// accept serves one listener until it is closed (ProxyRefuse or Close).
func (p *Proxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.handle(c)
	}
}

func (p *Proxy) handle(c net.Conn) {
	l := &link{client: c, silenced: make(chan struct{})}
	p.mu.Lock()
	if p.closed || p.mode == ProxyRefuse {
		p.mu.Unlock()
		l.close(true)
		return
	}
	p.links[l] = struct{}{}
	silent := p.mode == ProxyBlackhole
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
func (p *Proxy) pump(l *link, dst, src net.Conn) {
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

func (p *Proxy) drop(l *link, reset bool) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	l.close(reset)
}

// SetMode switches the proxy; it returns once the new mode applies to every connection.
func (p *Proxy) SetMode(m ProxyMode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the proxy stopped (its lifetime passed)")
	}
	switch m {
	case ProxyRefuse:
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
		}
		for l := range p.links {
			l.silence() // the pumps must not forward anything in flight
			l.close(true)
			delete(p.links, l)
		}
	case ProxyBlackhole, ProxyPass:
		if m == ProxyBlackhole {
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

// Addr is the proxy's 127.0.0.1:port, where clients connect instead of to the target.
func (p *Proxy) Addr() string { return p.addr }

// String says what the proxy did wrong, if anything.
func (p *Proxy) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("proxy %s -> %s (%s): %d failed dials to the target, last: %q", p.addr, p.target, p.mode,
		p.dialErrors, p.lastDialError)
}

// Close stops the proxy: the listener and every connection are closed.
func (p *Proxy) Close() {
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
