// Package etcdtls turns on TLS for package etcd's clients. Package etcd links no TLS code of
// its own (no handshake, no certificate verification), so a program that talks plaintext
// does not carry it; a program that talks to https:// endpoints passes a value of this
// package as etcd.Config.TLS:
//
//	tc, err := etcdtls.Load("ca.pem", "client.pem", "client-key.pem")
//	if err != nil { ... }
//	c, err := etcd.New(etcd.Config{Endpoints: eps, TLS: etcdtls.New(tc)})
//
// etcd.New refuses https:// endpoints without it. Each endpoint is verified against its own
// host name unless the tls.Config sets ServerName.
package etcdtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc/credentials"
)

// ErrFiles is wrapped by every error Load returns.
var ErrFiles = errors.New("etcdtls: bad TLS files")

// Credentials is TLS for etcd.Config.TLS. The zero value is TLS 1.2 or later, verified
// against the system's roots.
type Credentials struct {
	config *tls.Config
}

// New returns TLS with config, which is cloned when a client is made from it. Nil means
// TLS 1.2 or later, verified against the system's roots.
func New(config *tls.Config) Credentials { return Credentials{config: config} }

// TransportCredentials returns the gRPC credentials of a client's connections.
func (c Credentials) TransportCredentials() credentials.TransportCredentials {
	config := c.config
	if config == nil {
		config = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return credentials.NewTLS(config)
}

// Load builds a TLS config from PEM files: caFile verifies the servers (empty means the
// system's roots); certFile and keyFile, both or neither, are the client's certificate.
func Load(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %v", ErrFiles, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrFiles, caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both a cert file and a key file", ErrFiles)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %v", ErrFiles, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
