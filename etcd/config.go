package etcd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Config configures a Client. Only Endpoints is required; every other zero value is usable and
// documented on its field.
type Config struct {
	// Endpoints lists the cluster's client URLs as "host:port", "http://host:port",
	// "https://host:port", or unix sockets as etcd names them, "unix://path" and
	// "unixs://path" (TLS, verified as the socket's host:port file name's host, else
	// localhost). At least one is required, and they must agree on plaintext or TLS.
	// Calls are balanced over every endpoint whose member answers; with several, each is
	// probed twice a second, and one that stops answering or has no leader leaves the
	// rotation until it answers again (Client.EndpointStates shows them).
	Endpoints []string

	// StaticEndpoints keeps the client on the configured endpoints. False (the default)
	// makes a client given more than one endpoint follow the cluster's member list: it reads
	// it after its first contact, every 5 seconds and whenever an endpoint leaves the
	// rotation, and uses the client URLs of members added since (learners excepted) and
	// drops the endpoints of members removed, so that it survives a rolling replacement of
	// every member. Set it when members advertise URLs the client cannot reach.
	StaticEndpoints bool

	// TLS turns on TLS for every endpoint: etcdtls.New(tlsConfig), from package
	// etcd/etcdtls (package etcd links no TLS code of its own). Nil means plaintext, and
	// then https:// endpoints are an error.
	TLS TLS

	// Username and Password authenticate with etcd's auth. An empty Username means no
	// authentication; a Password without a Username is an error. The token etcd returns rides
	// on every call and stream and is refreshed when the server rejects it.
	Username string
	Password string

	// Namespace, when not empty, is prepended to every key sent and removed from every key
	// received, so the client sees only its own part of the keyspace.
	Namespace string

	// DialTimeout bounds each attempt to connect to one endpoint. Zero means 5 seconds. New
	// never waits for a connection; calls wait for one within their own context.
	DialTimeout time.Duration

	// KeepAliveTime is how long a connection with open streams may stay silent before the
	// client pings it, and KeepAliveTimeout how long it then waits for the answer before it
	// drops the connection and fails over. Zero means 10 and 5 seconds. etcd refuses pings
	// more often than every 5 seconds by default (--grpc-keepalive-min-time).
	KeepAliveTime    time.Duration
	KeepAliveTimeout time.Duration

	// ReadHedgeDelay is how long a read (Get, Range, Scan pages, lease and cluster queries)
	// waits for its endpoint before it is also sent to the next one, when there is more than
	// one: the first answer wins, so a hung endpoint costs this delay while a read that is
	// slow everywhere still completes within the call's own context. Zero means 1 second.
	// Writes are never hedged: they are never sent twice.
	ReadHedgeDelay time.Duration

	// MaxResponseBytes is the largest response the client accepts. Zero means gRPC's 4 MiB.
	// Client.Scan reads larger ranges: streamed at one revision on etcd 3.7 and later, in pages
	// before.
	MaxResponseBytes int

	// DialOptions are extra gRPC dial options, applied after the client's own: interceptors
	// for tracing or metrics (grpc.WithChainUnaryInterceptor, grpc.WithChainStreamInterceptor
	// run inside the client's retries and auth), a custom dialer, stats handlers. Nil adds
	// none. Options that replace the client's own (transport credentials, the balancer) are
	// the caller's responsibility. An interceptor must not keep the request or reply of a
	// call after it returns: the client reuses them for later calls.
	DialOptions []grpc.DialOption

	// Logger receives the client's rare diagnostics (token refreshes, stream restarts): a
	// *slog.Logger, or anything with its Debug, Info and Warn. Nil, or a nil pointer, means
	// silent.
	Logger Logger
}

// TLS gives a client's connections their transport security. Package etcd/etcdtls makes
// one from a *tls.Config; each endpoint is verified against its own host name unless that
// config sets ServerName.
type TLS interface {
	// TransportCredentials returns the gRPC credentials of every connection to the cluster.
	TransportCredentials() credentials.TransportCredentials
}

// Logger is what a client logs to; *slog.Logger is one. args are alternating keys and
// values, as log/slog takes them. An interface rather than *slog.Logger itself, so that
// programs that log nothing do not link log/slog (its default handler comes with the
// package, about 110 KB).
type Logger interface {
	// Debug logs what only a debugging reader wants: retries, stream restarts, token refreshes.
	Debug(msg string, args ...any)
	// Info logs an endpoint coming back into use.
	Info(msg string, args ...any)
	// Warn logs an endpoint left out: of another cluster, or its member stopped answering.
	Warn(msg string, args ...any)
}

// silent is the Logger of a client configured without one.
type silent struct{}

func (silent) Debug(string, ...any) {}
func (silent) Info(string, ...any)  {}
func (silent) Warn(string, ...any)  {}

// logger returns c.Logger, or silent when there is none: nil, or a nil pointer (a nil
// *slog.Logger would fail on its first use).
func (c *Config) logger() Logger {
	if c.Logger == nil {
		return silent{}
	}
	if v := reflect.ValueOf(c.Logger); v.Kind() == reflect.Pointer && v.IsNil() {
		return silent{}
	}
	return c.Logger
}

// Defaults for zero Config fields.
const (
	defaultDialTimeout      = 5 * time.Second
	defaultKeepAliveTime    = 10 * time.Second
	defaultKeepAliveTimeout = 5 * time.Second
	defaultReadHedgeDelay   = time.Second
	minKeepAliveTime        = 5 * time.Second
)

// endpoint is a validated Config endpoint.
type endpoint struct {
	addr   string // host:port, or unix://path for a unix socket (gRPC dials that form)
	secure bool   // https:// or unixs://
	scheme bool   // written with a scheme
}

// url is the endpoint as written with its scheme, for messages.
func (ep endpoint) url() string {
	path, unix := strings.CutPrefix(ep.addr, unixPrefix)
	switch {
	case unix && ep.secure:
		return "unixs://" + path
	case unix:
		return ep.addr
	case ep.secure:
		return "https://" + ep.addr
	}
	return "http://" + ep.addr
}

// unixPrefix starts the address of an endpoint that is a unix socket.
const unixPrefix = "unix://"

// validate checks c and returns the parsed endpoints.
func (c *Config) validate() ([]endpoint, error) {
	if len(c.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no endpoints", ErrConfig)
	}
	eps := make([]endpoint, 0, len(c.Endpoints))
	seen := make(map[string]bool, len(c.Endpoints))
	for _, raw := range c.Endpoints {
		ep, err := parseEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: endpoint %q: %v", ErrConfig, redact(raw), err)
		}
		if seen[ep.addr] {
			return nil, fmt.Errorf("%w: endpoint %q is listed twice", ErrConfig, redact(raw))
		}
		seen[ep.addr] = true
		eps = append(eps, ep)
	}
	for _, ep := range eps {
		if ep.scheme && ep.secure != eps[0].secure {
			return nil, fmt.Errorf("%w: endpoints mix http:// and https:// (or unix:// and unixs://)", ErrConfig)
		}
		if ep.secure && c.TLS == nil {
			return nil, fmt.Errorf("%w: endpoint %s needs Config.TLS: set it to etcdtls.New(nil) (package etcd/etcdtls) for the system's roots, or to etcdtls.New(tlsConfig)", ErrConfig, ep.url())
		}
		if ep.scheme && !ep.secure && c.TLS != nil {
			return nil, fmt.Errorf("%w: endpoint %s is plaintext but TLS is configured", ErrConfig, ep.url())
		}
	}
	if c.Password != "" && c.Username == "" {
		return nil, fmt.Errorf("%w: a password without a username", ErrConfig)
	}
	if strings.ContainsRune(c.Username, ':') {
		return nil, fmt.Errorf("%w: username %q contains ':'", ErrConfig, c.Username)
	}
	for name, d := range map[string]time.Duration{
		"DialTimeout": c.DialTimeout, "KeepAliveTime": c.KeepAliveTime, "KeepAliveTimeout": c.KeepAliveTimeout,
		"ReadHedgeDelay": c.ReadHedgeDelay,
	} {
		if d < 0 {
			return nil, fmt.Errorf("%w: negative %s %v", ErrConfig, name, d)
		}
	}
	if c.KeepAliveTime != 0 && c.KeepAliveTime < minKeepAliveTime {
		return nil, fmt.Errorf("%w: KeepAliveTime %v is below etcd's minimum of %v", ErrConfig, c.KeepAliveTime, minKeepAliveTime)
	}
	if c.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("%w: negative MaxResponseBytes %d", ErrConfig, c.MaxResponseBytes)
	}
	return eps, nil
}

// parseEndpoint accepts "host:port", "http://host:port", "https://host:port", and unix
// sockets as etcd names them: "unix://path" and, with TLS, "unixs://path" (etcd's
// "unix://localhost:2379" is the socket file localhost:2379 in the working directory).
func parseEndpoint(raw string) (endpoint, error) {
	var ep endpoint
	hostport := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		u, err := url.Parse(raw)
		if err != nil {
			return ep, err
		}
		switch u.Scheme {
		case "http":
		case "https":
			ep.secure = true
		case "unix", "unixs":
			path := u.Host + u.Path
			switch {
			case u.RawQuery != "" || u.User != nil || u.Fragment != "":
				return ep, errors.New("a unix socket endpoint is unix://path, without query or user")
			case path == "":
				return ep, errors.New("empty unix socket path")
			}
			return endpoint{addr: unixPrefix + path, secure: u.Scheme == "unixs", scheme: true}, nil
		default:
			return ep, fmt.Errorf("unsupported scheme %q (want http, https, unix or unixs)", u.Scheme)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return ep, errors.New("an endpoint is scheme://host:port, without path, query or user")
		}
		ep.scheme = true
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return ep, errors.New("want host:port")
	}
	if host == "" {
		return ep, errors.New("empty host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return ep, fmt.Errorf("bad port %q", port)
	}
	ep.addr = net.JoinHostPort(host, port)
	return ep, nil
}

// redact hides a password written into an endpoint URL, for error messages.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}
