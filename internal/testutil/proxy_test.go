package testutil

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestProxyModes checks the proxy against an echo server: what each mode does to open and new connections.
func TestProxyModes(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = echo.Close() }()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	p, err := StartProxy(echo.Addr().String(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// roundTrip writes a line and reads what comes back within wait.
	roundTrip := func(c net.Conn, wait time.Duration) (string, error) {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return "", err
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 5)
		n, err := io.ReadFull(c, buf)
		return string(buf[:n]), err
	}
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	expectEcho := func(c net.Conn, what string) {
		t.Helper()
		if got, err := roundTrip(c, time.Second); got != "ping\n" || err != nil {
			t.Fatalf("%s: got %q, %v", what, got, err)
		}
	}
	expectSilence := func(c net.Conn, what string) {
		t.Helper()
		if _, err := roundTrip(c, 300*time.Millisecond); !isTimeout(err) {
			t.Fatalf("%s: want a timeout, got %v", what, err)
		}
	}
	setMode := func(m ProxyMode) {
		t.Helper()
		if err := p.SetMode(m); err != nil {
			t.Fatal(err)
		}
	}

	open := dial()
	expectEcho(open, "pass forwards")

	setMode(ProxyBlackhole)
	expectSilence(open, "blackhole: an open connection is silent, neither answered nor closed")
	expectSilence(dial(), "blackhole: a new connection is accepted and silent")

	setMode(ProxyPass)
	expectSilence(open, "a connection silenced once stays silent")
	fresh := dial()
	expectEcho(fresh, "pass again: new connections are forwarded")

	setMode(ProxyRefuse)
	_ = fresh.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := fresh.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("refuse: an open connection is reset, got %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refuse: a new connection is refused, got %v", err)
	}

	setMode(ProxyPass)
	expectEcho(dial(), "pass after refuse: listening again on the same port")

	p.Close()
	if err := p.SetMode(ProxyPass); err == nil {
		t.Error("SetMode after Close succeeded")
	}
}
