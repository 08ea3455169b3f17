package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

func startServer(t *testing.T, opts ServerOptions) (*Server, *snapshot.Store) {
	t.Helper()
	store := snapshot.NewStore()
	srv := NewServer(store, opts, logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { errs <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errs; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for srv.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not listen within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return srv, store
}

func TestServerWithCertDirVerifiesAndStaysHTTP1(t *testing.T) {
	cert, _, err := selfSignedCertificate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}

	srv, store := startServer(t, ServerOptions{BindAddress: "127.0.0.1:0", CertDir: dir})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}

	if err := srv.ReadyCheck(nil); err == nil || !strings.Contains(err.Error(), "synced") {
		t.Errorf("ReadyCheck before the first snapshot = %v, want not synced", err)
	}
	resp, err := client.Get("https://" + srv.Addr().String() + "/status")
	if err != nil {
		t.Fatalf("GET with the certificate's CA: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Proto != "HTTP/1.1" {
		t.Errorf("GET /status before sync = %d over %s, want 503 over HTTP/1.1 (HTTP/2 is off)", resp.StatusCode, resp.Proto)
	}

	snap, _ := snapshot.Build(nil, store.NextVersion(), time.Now())
	store.Publish(snap)
	if err := srv.ReadyCheck(nil); err != nil {
		t.Errorf("ReadyCheck after sync = %v", err)
	}

	old := &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11} //nolint:gosec // proving it is refused
	if conn, err := tls.Dial("tcp", srv.Addr().String(), old); err == nil {
		_ = conn.Close()
		t.Error("a TLS 1.1 client was accepted; the minimum is TLS 1.2")
	}
}

func TestServerInsecureAndContradictoryFlags(t *testing.T) {
	srv, store := startServer(t, ServerOptions{BindAddress: "127.0.0.1:0", Insecure: true})
	snap, _ := snapshot.Build(nil, store.NextVersion(), time.Now())
	store.Publish(snap)
	resp, err := http.Get("http://" + srv.Addr().String() + "/services")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("plain HTTP GET /services = %d", resp.StatusCode)
	}

	bad := NewServer(snapshot.NewStore(), ServerOptions{BindAddress: "127.0.0.1:0", Insecure: true, CertDir: "/x"}, logr.Discard())
	if err := bad.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "--api-insecure") {
		t.Errorf("--api-insecure with --api-cert-dir = %v, want an error naming both flags", err)
	}
	busy := NewServer(snapshot.NewStore(), ServerOptions{BindAddress: srv.Addr().String(), Insecure: true}, logr.Discard())
	if err := busy.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "--api-bind-address") {
		t.Errorf("a busy port = %v, want an error naming --api-bind-address", err)
	}
}
