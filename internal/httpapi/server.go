package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// ServerOptions configure the API server; they mirror the manager's --api-* flags.
type ServerOptions struct {
	// BindAddress is host:port to listen on (":8443"); port 0 picks a free one (see Addr).
	BindAddress string
	// CertDir holds tls.crt and tls.key, reloaded when they change. Empty: a self-signed certificate is
	// generated in memory at start.
	CertDir string
	// Insecure serves plain HTTP, for a local run or behind a mesh that terminates TLS.
	Insecure bool
	// EnableHTTP2 allows HTTP/2; off by default because of the HTTP/2 rapid reset CVEs.
	EnableHTTP2 bool
	Handler     HandlerOptions
}

// Server is a manager Runnable serving the API on every replica (it does not need leader election).
type Server struct {
	opts  ServerOptions
	store *snapshot.Store
	log   logr.Logger

	mu        sync.Mutex
	addr      net.Addr
	listening bool
}

// NewServer returns a server for the snapshots of store.
func NewServer(store *snapshot.Store, opts ServerOptions, log logr.Logger) *Server {
	return &Server{opts: opts, store: store, log: log}
}

// Store is the store of snapshots the server answers from.
func (s *Server) Store() *snapshot.Store { return s.store }

// NeedLeaderElection is false: every replica answers, the leader only writes the status they read.
func (s *Server) NeedLeaderElection() bool { return false }

// Addr is the address the server listens on, or nil before it does.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ReadyCheck is a healthz.Checker: ready once the API is listening and the replica's cache has synced.
func (s *Server) ReadyCheck(_ *http.Request) error {
	s.mu.Lock()
	listening := s.listening
	s.mu.Unlock()
	if !listening {
		return errors.New("the API server is not listening yet")
	}
	if s.store.Current() == nil {
		return errors.New("the API has not synced with the cluster yet")
	}
	return nil
}

// Start listens and serves until ctx is cancelled, then shuts down, ending open event streams.
func (s *Server) Start(ctx context.Context) error {
	if s.opts.Insecure && s.opts.CertDir != "" {
		return errors.New("--api-insecure and --api-cert-dir contradict each other: drop --api-insecure to serve " +
			"TLS with the certificate, or drop --api-cert-dir to serve plain HTTP")
	}
	ln, err := net.Listen("tcp", s.opts.BindAddress)
	if err != nil {
		return fmt.Errorf("listen on --api-bind-address %s: %w (is another process using the port?)", s.opts.BindAddress, err)
	}
	scheme := "http"
	if !s.opts.Insecure {
		cfg, err := s.tlsConfig(ctx)
		if err != nil {
			_ = ln.Close()
			return err
		}
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
	}

	stopping := make(chan struct{})
	handlerOpts := s.opts.Handler
	handlerOpts.Stopping = stopping
	handlerOpts.Log = s.log
	srv := &http.Server{
		Handler:           NewHandler(s.store, handlerOpts),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	if !s.opts.EnableHTTP2 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	srv.RegisterOnShutdown(func() { close(stopping) })

	s.mu.Lock()
	s.addr, s.listening = ln.Addr(), true
	s.mu.Unlock()
	s.log.Info("serving the maintenance API", "address", scheme+"://"+ln.Addr().String(), "http2", s.opts.EnableHTTP2)

	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		s.mu.Lock()
		s.listening = false // not ready while draining
		s.mu.Unlock()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.log.Error(err, "shut down the API server")
		}
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve the API: %w", err)
	}
	<-done
	return nil
}

func (s *Server) tlsConfig(ctx context.Context) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if s.opts.EnableHTTP2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	if s.opts.CertDir == "" {
		cert, fingerprint, err := selfSignedCertificate(time.Now())
		if err != nil {
			return nil, err
		}
		s.log.Info("no --api-cert-dir given: serving a self-signed certificate generated in memory; "+
			"clients must skip verification (curl -k) or pin this fingerprint", "sha256", fingerprint)
		cfg.Certificates = []tls.Certificate{cert}
		return cfg, nil
	}
	watcher, err := certwatcher.New(filepath.Join(s.opts.CertDir, "tls.crt"), filepath.Join(s.opts.CertDir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("load the API certificate from --api-cert-dir %s (tls.crt, tls.key): %w", s.opts.CertDir, err)
	}
	go func() {
		if err := watcher.Start(ctx); err != nil {
			s.log.Error(err, "watch the API certificate for changes", "certDir", s.opts.CertDir)
		}
	}()
	cfg.GetCertificate = watcher.GetCertificate
	return cfg, nil
}
