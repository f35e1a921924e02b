package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles names the PEM files of the certificates a TLS cluster uses, all generated for the
// test: a CA, the members' server certificate (for 127.0.0.1, ::1 and localhost) and a client
// certificate that members accept when they require client certificates.
type TLSFiles struct {
	// CAFile is the CA certificate that signed the other two.
	CAFile string
	// ServerCertFile and ServerKeyFile are the members' certificate and private key.
	ServerCertFile, ServerKeyFile string
	// ClientCertFile and ClientKeyFile are a client's certificate and private key.
	ClientCertFile, ClientKeyFile string
}

// ClientConfig returns a TLS configuration that trusts the CA and presents the client
// certificate, ready for an HTTP or gRPC client of the cluster.
func (f *TLSFiles) ClientConfig() (*tls.Config, error) {
	ca, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("etcdtest: no certificate in %s", f.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(f.ClientCertFile, f.ClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// writeTLSFiles generates a CA, a server certificate for hosts (the loopback names when
// empty) and a client certificate into dir.
func writeTLSFiles(dir string, hosts []string) (*TLSFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f := &TLSFiles{
		CAFile:         filepath.Join(dir, "ca.pem"),
		ServerCertFile: filepath.Join(dir, "server.pem"),
		ServerKeyFile:  filepath.Join(dir, "server-key.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"),
		ClientKeyFile:  filepath.Join(dir, "client-key.pem"),
	}
	now := time.Now()
	ca := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "etcdtest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caKey, err := issue(ca, nil, nil, f.CAFile, "")
	if err != nil {
		return nil, err
	}
	leaf := func(cn string, usage ...x509.ExtKeyUsage) *x509.Certificate {
		return &x509.Certificate{
			Subject:     pkix.Name{CommonName: cn},
			NotBefore:   ca.NotBefore,
			NotAfter:    ca.NotAfter,
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: usage,
		}
	}
	// Members also present their server certificate as clients (the JSON gateway dials the
	// member's own gRPC port), so it carries both usages.
	server := leaf("etcdtest server", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, h)
		}
	}
	if _, err := issue(server, ca, caKey, f.ServerCertFile, f.ServerKeyFile); err != nil {
		return nil, err
	}
	client := leaf("etcdtest client", x509.ExtKeyUsageClientAuth)
	if _, err := issue(client, ca, caKey, f.ClientCertFile, f.ClientKeyFile); err != nil {
		return nil, err
	}
	return f, nil
}

// issue signs tmpl with parent's key (self-signed when parent is nil), writes the certificate
// to certFile and, unless keyFile is empty, the new private key to keyFile.
func issue(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, certFile, keyFile string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if keyFile != "" {
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := writePEM(keyFile, "PRIVATE KEY", kder); err != nil {
			return nil, err
		}
	}
	return key, nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
