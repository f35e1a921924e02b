package etcd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; empty means valid
	}{
		{"host:port", Config{Endpoints: []string{"127.0.0.1:2379"}}, ""},
		{"http and name", Config{Endpoints: []string{"http://localhost:2379", "http://127.0.0.1:22379"}}, ""},
		{"https", Config{Endpoints: []string{"https://127.0.0.1:2379"}}, ""},
		{"ipv6", Config{Endpoints: []string{"[::1]:2379"}}, ""},
		{"no endpoints", Config{}, "no endpoints"},
		{"missing port", Config{Endpoints: []string{"127.0.0.1"}}, "want host:port"},
		{"bad port", Config{Endpoints: []string{"127.0.0.1:99999"}}, `bad port "99999"`},
		{"empty host", Config{Endpoints: []string{":2379"}}, "empty host"},
		{"wrong scheme", Config{Endpoints: []string{"unix://x:1"}}, `unsupported scheme "unix"`},
		{"path", Config{Endpoints: []string{"http://h:1/v3"}}, "without path"},
		{"mixed schemes", Config{Endpoints: []string{"http://a:1", "https://b:1"}}, "mix http:// and https://"},
		{"duplicate", Config{Endpoints: []string{"a:1", "http://a:1"}}, "listed twice"},
		{"password without user", Config{Endpoints: []string{"a:1"}, Password: "x"}, "password without a username"},
		{"colon in user", Config{Endpoints: []string{"a:1"}, Username: "a:b"}, "contains ':'"},
		{"negative timeout", Config{Endpoints: []string{"a:1"}, DialTimeout: -time.Second}, "negative DialTimeout"},
		{"keepalive too often", Config{Endpoints: []string{"a:1"}, KeepAliveTime: time.Second}, "below etcd's minimum"},
		{"negative max response", Config{Endpoints: []string{"a:1"}, MaxResponseBytes: -1}, "negative MaxResponseBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %q, want ErrConfig containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadTLSErrors(t *testing.T) {
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
			_, err := LoadTLS(tt.ca, tt.cert, tt.key)
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadTLS error = %v, want ErrConfig containing %q", err, tt.want)
			}
		})
	}
}

func TestCloseIsIdempotentAndFailsCalls(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Endpoints: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = c.Get(t.Context(), "k")
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), `get "k"`) {
		t.Fatalf("Get after Close = %v, want ErrClosed naming the op and key", err)
	}
}
