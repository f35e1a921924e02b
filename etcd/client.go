package etcd

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver/manual"
)

// Client talks to one etcd cluster over a single gRPC connection balanced across its
// endpoints. It is safe for concurrent use. Close it when done.
type Client struct {
	cfg       Config
	endpoints []string // host:port, in Config order
	conn      *grpc.ClientConn
	ns        namespace
	log       Logger
	auth      *authenticator // nil without a username
	dialOpt   []grpc.DialOption

	partsMu sync.Mutex
	parts   map[string]unsafe.Pointer // the optional parts' shared state, started on first use (see part)

	resolver   *manual.Resolver // the endpoints the balancer uses (endpoints.go)
	health     *health          // the endpoints' health; nil with one endpoint (health.go)
	clusterID  atomic.Uint64    // the cluster's ID; 0 until known
	soleMember atomic.Uint64    // with one endpoint, the member that answered on it

	mu       sync.Mutex         // guards closed against loops.Add
	closed   bool               // set by Close
	life     context.Context    // the client's lifetime: every stream, dial and loop lives under it
	end      context.CancelFunc // ends life; called by Close
	closing  <-chan struct{}    // life.Done(), for selects
	loops    sync.WaitGroup     // the client's background goroutines
	closeErr error
	close    sync.Once
}

// schemes makes each client's resolver scheme unique, so that clients never share resolvers.
var schemes atomic.Uint64

// New validates cfg and returns a client. It does not connect: the first call does, within
// its context, so New never blocks and a cluster that is down yet fails calls, not New.
func New(cfg Config) (*Client, error) {
	eps, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg,
		ns:  namespace(cfg.Namespace),
		log: cfg.logger(),
	}
	c.life, c.end = context.WithCancel(context.Background())
	c.closing = c.life.Done()

	registerBalancer()
	c.dialOpt = c.dialOptions()
	names := make([]string, len(eps))
	for i, ep := range eps {
		names[i] = ep.addr
	}
	if len(names) > 1 {
		c.health = newHealth(c, names, !cfg.StaticEndpoints)
	}
	c.resolver = manual.NewBuilderWithScheme(fmt.Sprintf("etcdkit-%d", schemes.Add(1)))
	c.setAddresses(names)
	r := c.resolver
	// The target names no endpoint: each address carries its own TLS server name.
	target := r.Scheme() + ":///etcd"
	conn, err := grpc.NewClient(target, append(c.dialOpt, grpc.WithResolvers(r))...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.conn = conn
	c.endpoints = names // the configured ones
	if cfg.Username != "" {
		c.auth = &authenticator{user: cfg.Username, password: cfg.Password, conn: conn}
	}
	return c, nil
}

// serviceConfig balances calls over the ready endpoints in use with the client's picker
// (picker.go). Retries are unaryInterceptor's.
const serviceConfig = `{"loadBalancingConfig": [{"` + balancerName + `": {}}]}`

// dialOptions are the gRPC options shared by the balanced connection and the one-endpoint
// connections of Status.
func (c *Client) dialOptions() []grpc.DialOption {
	creds := insecure.NewCredentials()
	if c.cfg.TLS != nil {
		creds = c.cfg.TLS.TransportCredentials()
	}
	dialTimeout := orDefault(c.cfg.DialTimeout, defaultDialTimeout)
	// Every call's options, set once on the connection so that KV calls pass none of their own
	// (see invoke). A call waits for a ready connection within its context rather than failing
	// while an endpoint restarts: nothing is sent until then, so even a write may wait. Every
	// method this connection calls is one of etcd's fixed paths, as StaticMethod tells stats
	// handlers.
	callOpts := []grpc.CallOption{grpc.WaitForReady(true), grpc.StaticMethod(), grpc.ForceCodecV2(kitCodec{})}
	if c.cfg.MaxResponseBytes > 0 {
		callOpts = append(callOpts, grpc.MaxCallRecvMsgSize(c.cfg.MaxResponseBytes))
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: dialTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    orDefault(c.cfg.KeepAliveTime, defaultKeepAliveTime),
			Timeout: orDefault(c.cfg.KeepAliveTimeout, defaultKeepAliveTimeout),
		}),
		// Fixed flow-control windows turn off grpc-go's bandwidth-delay estimation, which
		// otherwise sends a ping (and a window update) after each response it reads and parses
		// the server's acknowledgement: two frames each way and two allocations per call. The
		// windows are 16 times grpc-go's initial ones: a stream may bring 1 MiB, the connection
		// 4 MiB, per round trip.
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
		// Each connection keeps its own 32 KiB write buffer. A shared one (grpc-go's default
		// since v1.82, which deprecated this option) goes back to a pool after every flush, an
		// allocation per call. If grpc-go removes the option, drop this line.
		grpc.WithSharedWriteBuffer(false),
		grpc.WithDefaultCallOptions(callOpts...),
		grpc.WithUnaryInterceptor(c.unaryInterceptor()),
		grpc.WithStreamInterceptor(c.streamInterceptor),
	}
	return append(opts, c.cfg.DialOptions...)
}

// The flow-control windows the client grants the server (see dialOptions).
const (
	streamWindow = 1 << 20
	connWindow   = 4 << 20
)

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Endpoints returns the client's endpoints as "host:port": the configured ones, and when the
// client follows the member list, those of members added since, less those of members
// removed. EndpointStates says which are in use.
func (c *Client) Endpoints() []string {
	if c.health == nil {
		return append([]string(nil), c.endpoints...)
	}
	return c.health.addrs()
}

// Conn returns the client's gRPC connection, for calling gen/ stubs directly. Calls made on
// it carry the auth token but bypass the namespace and the error mapping.
func (c *Client) Conn() grpc.ClientConnInterface { return c.conn }

// Close stops the client's background work (lease keep-alives, sessions' renewals, watches),
// waits for its goroutines to exit, and closes the connection. It returns at once whatever
// the network does: every stream and dial lives under the client's lifetime, which Close
// ends first. It is idempotent; calls after Close fail with ErrClosed.
func (c *Client) Close() error {
	c.close.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		if c.conn == nil {
			return // a zero Client: nothing to close
		}
		c.end()
		c.loops.Wait()
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}

// check returns ErrClosed, wrapped for op, once the client is closed.
func (c *Client) check(op, key string) error {
	if c.isClosed() {
		return &Error{Op: op, Key: key, Err: ErrClosed}
	}
	return nil
}

// isClosed reports whether Close has been called.
func (c *Client) isClosed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// part returns the client's shared state for an optional part of the package (the watch
// hub, the lease keeper), made by start on first use. Parts are kept as unsafe.Pointer, not
// any, and part is not generic: a value converted to an interface, or a type in a generic
// function's dictionary, makes the linker keep every exported method of the types it
// reaches (grpc-go links text/template, whose MethodByName turns off the pruning of unused
// methods), and the parts reach *Client, so every program would carry all of its methods.
func (c *Client) part(name string, start func() unsafe.Pointer) unsafe.Pointer {
	c.partsMu.Lock()
	defer c.partsMu.Unlock()
	p, ok := c.parts[name]
	if !ok {
		if c.parts == nil {
			c.parts = make(map[string]unsafe.Pointer)
		}
		p = start()
		c.parts[name] = p
	}
	return p
}

// goLoop runs f as one of the client's background goroutines, which Close waits for. It
// reports false, and does not run f, once the client is closed.
func (c *Client) goLoop(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		f()
	}()
	return true
}
