package etcdtls

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ca, cert, key, want string
	}{
		{"missing CA", filepath.Join(dir, "nope.pem"), "", "", "CA file"},
		{"CA without PEM", junk, "", "", "holds no PEM certificate"},
		{"cert without key", "", junk, "", "both a cert file and a key file"},
		{"bad key pair", "", junk, junk, "client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.ca, tt.cert, tt.key)
			if err == nil || !errors.Is(err, ErrFiles) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want ErrFiles containing %q", err, tt.want)
			}
		})
	}
}

func TestCredentialsSpeakTLS(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Credentials{
		"zero value": {},
		"nil config": New(nil),
		"a config":   New(&tls.Config{MinVersion: tls.VersionTLS13, ServerName: "etcd.example"}),
	} {
		info := c.TransportCredentials().Info()
		if info.SecurityProtocol != "tls" {
			t.Errorf("%s: security protocol %q, want tls", name, info.SecurityProtocol)
		}
	}
	//lint:ignore SA1019 the deprecated field is how credentials still report the name they verify
	if got := New(&tls.Config{ServerName: "etcd.example"}).TransportCredentials().Info().ServerName; got != "etcd.example" {
		t.Errorf("server name %q, want the config's etcd.example", got)
	}
}
