package testutil

import (
	"fmt"
	"net"
)

// FreeAddr returns a 127.0.0.1:<port> address that nothing listened on a moment ago, for a process the caller is
// about to start. It panics when no loopback listener can be opened, as net/http/httptest does: nothing a test does
// can recover from that.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("testutil: listen on a free loopback port: %v", err))
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
