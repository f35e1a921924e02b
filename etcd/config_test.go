package etcd

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtls"
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
		{"https", Config{Endpoints: []string{"https://127.0.0.1:2379"}, TLS: etcdtls.New(nil)}, ""},
		{"host:port with TLS", Config{Endpoints: []string{"127.0.0.1:2379"}, TLS: etcdtls.New(nil)}, ""},
		{"https without TLS", Config{Endpoints: []string{"https://127.0.0.1:2379"}}, "needs Config.TLS: set it to etcdtls.New(nil)"},
		{"http with TLS", Config{Endpoints: []string{"http://127.0.0.1:2379"}, TLS: etcdtls.New(nil)}, "plaintext but TLS is configured"},
		{"ipv6", Config{Endpoints: []string{"[::1]:2379"}}, ""},
		{"no endpoints", Config{}, "no endpoints"},
		{"missing port", Config{Endpoints: []string{"127.0.0.1"}}, "want host:port"},
		{"bad port", Config{Endpoints: []string{"127.0.0.1:99999"}}, `bad port "99999"`},
		{"empty host", Config{Endpoints: []string{":2379"}}, "empty host"},
		{"wrong scheme", Config{Endpoints: []string{"ftp://x:1"}}, `unsupported scheme "ftp"`},
		{"unix socket", Config{Endpoints: []string{"unix:///run/etcd.sock", "unix://localhost:2379"}}, ""},
		{"unixs socket", Config{Endpoints: []string{"unixs:///run/etcd.sock"}, TLS: etcdtls.New(nil)}, ""},
		{"unixs without TLS", Config{Endpoints: []string{"unixs:///run/etcd.sock"}}, "endpoint unixs:///run/etcd.sock needs Config.TLS"},
		{"unix with TLS", Config{Endpoints: []string{"unix:///run/etcd.sock"}, TLS: etcdtls.New(nil)}, "endpoint unix:///run/etcd.sock is plaintext"},
		{"empty socket", Config{Endpoints: []string{"unix://"}}, "empty unix socket path"},
		{"unix and unixs", Config{Endpoints: []string{"unix:///a", "unixs:///b"}}, "mix http:// and https://"},
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

func TestNilLoggerIsSilent(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]Logger{"nil": nil, "nil *slog.Logger": (*slog.Logger)(nil)} {
		c, err := New(Config{Endpoints: []string{"127.0.0.1:1"}, Logger: l})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.log.(silent); !ok {
			t.Errorf("%s: the client logs to %T, want silent", name, c.log)
		}
		c.log.Warn("etcd: nothing", "k", 1) // must not panic
		c.Close()
	}
	l := slog.New(slog.DiscardHandler)
	c, err := New(Config{Endpoints: []string{"127.0.0.1:1"}, Logger: l})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.log != Logger(l) {
		t.Errorf("the client logs to %v, want the configured logger", c.log)
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
