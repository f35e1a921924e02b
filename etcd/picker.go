package etcd

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/resolver"
)

// The client's connection balances with a picker of its own: round-robin over the ready
// endpoints the health tracker has in use (health.go), the held ones only when none is in
// use (those that answer, with no leader, before the silent ones). A call may carry a route:
// pinned to one endpoint (a health probe), or remembering the endpoints its tries went to,
// so that a hedge or a retry goes to an endpoint not tried yet when there is one. The
// tracker rides on every address the client gives the resolver, so the picker finds it
// without any global state. The balancer (gRPC's base balancer, wrapped) starts the tracker
// when the connection leaves idle, dials only the tracker's lead endpoint until the tracker
// widens (health.widen), and hands the tracker a repicker: a change of health that leaves
// the addresses alone has the calls waiting for an endpoint picked again without a resolver
// update (which gRPC logs as JSON and answers with a new picker).

// balancerName is the picker's balancer in the service config.
const balancerName = "etcdkit_health"

var registerBalancer = sync.OnceFunc(func() { balancer.Register(balancerBuilder{}) })

// balancerBuilder builds gRPC's base balancer with the client's picker, wrapped (see
// healthBalancer).
type balancerBuilder struct{}

func (balancerBuilder) Name() string { return balancerName }

func (balancerBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	r := &repicker{ClientConn: cc}
	return &healthBalancer{Balancer: base.NewBalancerBuilder(balancerName, pickerBuilder{}, base.Config{}).Build(r, opts), r: r}
}

// healthBalancer is the base balancer, which gives the tracker riding on its addresses its
// repicker, and until the tracker widens (see health.widen) gives the base balancer only the
// tracker's lead endpoint, so that a client dials the one endpoint its first call needs.
type healthBalancer struct {
	balancer.Balancer
	r *repicker
}

func (b *healthBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	for _, a := range s.ResolverState.Addresses {
		if h, ok := a.Attributes.Value(healthKey{}).(*health); ok {
			h.repicker.Store(b.r)
			b.r.h = h
			break
		}
	}
	h := b.r.h
	if h == nil {
		return b.Balancer.UpdateClientConnState(s)
	}
	h.begin() // the connection leaves idle: the first call is waiting
	if !h.wide.Load() {
		for _, a := range s.ResolverState.Addresses {
			if a.Addr == h.lead {
				s.ResolverState.Addresses = []resolver.Address{a}
				break
			}
		}
	}
	return b.Balancer.UpdateClientConnState(s)
}

// repicker is the connection the base balancer gives its pickers to. It keeps the last
// state given, so that repick can give it again: gRPC then picks again every call waiting
// for an endpoint, and the picker reads the tracker's view afresh. It widens the tracker
// when the lead endpoint's connection fails.
type repicker struct {
	balancer.ClientConn
	h *health // set by UpdateClientConnState; read by the state listeners, which gRPC serializes with it

	mu   sync.Mutex
	last balancer.State
}

func (r *repicker) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	if h := r.h; h != nil && !h.wide.Load() {
		listen := opts.StateListener
		opts.StateListener = func(s balancer.SubConnState) {
			if s.ConnectivityState == connectivity.TransientFailure && !h.wide.Load() {
				h.c.goLoop(h.widen) // widening updates the resolver, which waits for this balancer
			}
			listen(s)
		}
	}
	//lint:ignore SA1019 the base balancer makes its connections with it, one address each
	return r.ClientConn.NewSubConn(addrs, opts)
}

func (r *repicker) UpdateState(s balancer.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = s
	r.ClientConn.UpdateState(s)
}

// repick has the calls waiting for an endpoint picked again.
func (r *repicker) repick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last.Picker != nil {
		r.ClientConn.UpdateState(r.last)
	}
}

// healthKey keys the tracker in an address's attributes.
type healthKey struct{}

// withHealth returns attrs carrying h.
func withHealth(attrs *attributes.Attributes, h *health) *attributes.Attributes {
	return attrs.WithValue(healthKey{}, h)
}

// route is a call's routing: the endpoint it is pinned to, or the endpoints its tries went to.
type route struct {
	pin string // an endpoint, or anyEndpoint

	mu    sync.Mutex
	tried []string
}

// anyEndpoint pins a call (the first health probe) to no endpoint in particular: it goes
// where a read would, and its route records where. No endpoint is named "*".
const anyEndpoint = "*"

type routeKey struct{}

// pinned returns ctx with its calls pinned to addr.
func pinned(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, routeKey{}, &route{pin: addr})
}

// routed returns ctx with a route of its own, for a call whose tries should spread over the
// endpoints, and the route.
func routed(ctx context.Context) (context.Context, *route) {
	r := &route{}
	return context.WithValue(ctx, routeKey{}, r), r
}

// routeOf returns ctx's route, or nil.
func routeOf(ctx context.Context) *route {
	r, _ := ctx.Value(routeKey{}).(*route)
	return r
}

// wasTried reports whether a try of the call went to addr.
func (r *route) wasTried(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.tried, addr)
}

// record notes that a try went to addr.
func (r *route) record(addr string) {
	r.mu.Lock()
	r.tried = append(r.tried, addr)
	r.mu.Unlock()
}

// last returns the endpoint the latest try went to, or "".
func (r *route) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tried) == 0 {
		return ""
	}
	return r.tried[len(r.tried)-1]
}

// untried reports how many endpoints in use no try of the call went to yet.
func (r *route) untried(h *health) int {
	v := h.view.Load()
	n := 0
	for addr, u := range v.use {
		if u == useInUse && !r.wasTried(addr) {
			n++
		}
	}
	return n
}

type pickerBuilder struct{}

func (pickerBuilder) Build(info base.PickerBuildInfo) balancer.Picker {
	if len(info.ReadySCs) == 0 {
		return base.NewErrPicker(balancer.ErrNoSubConnAvailable)
	}
	p := &picker{}
	for sc, i := range info.ReadySCs {
		p.scs = append(p.scs, sc)
		p.addrs = append(p.addrs, i.Address.Addr)
		if h, ok := i.Address.Attributes.Value(healthKey{}).(*health); ok {
			p.h = h
		}
	}
	p.next.Store(rand.Uint32())
	return p
}

// picker picks for one set of ready endpoints.
type picker struct {
	h     *health // nil: plain round-robin (a one-endpoint connection)
	scs   []balancer.SubConn
	addrs []string
	next  atomic.Uint32
}

func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	n := len(p.scs)
	start := int(p.next.Add(1) % uint32(n))
	if p.h == nil {
		// No tracker (a connection to one endpoint): a route only chooses among the
		// endpoints the tracker judges, so the context is not searched for one.
		return balancer.PickResult{SubConn: p.scs[start]}, nil
	}
	r := routeOf(info.Ctx)
	if r != nil && r.pin != "" && r.pin != anyEndpoint {
		if i := slices.Index(p.addrs, r.pin); i >= 0 {
			return balancer.PickResult{SubConn: p.scs[i]}, nil
		}
		return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
	}
	v := p.h.view.Load()
	best, bestRank := -1, 6
	for i := range n {
		j := (start + i) % n
		var rank int
		switch u := v.use[p.addrs[j]]; u {
		case useInUse:
		case useHeld, useSilent:
			if v.anyUsed || v.pending {
				continue
			}
			rank = 2
			if u == useSilent {
				rank = 4
			}
		default:
			continue
		}
		if r != nil && r.wasTried(p.addrs[j]) {
			rank++
		}
		if rank < bestRank {
			best, bestRank = j, rank
		}
	}
	if best < 0 && !v.anyUsed && readOnly[info.FullMethodName] {
		// Before the cluster is settled, a read goes to any ready endpoint not known to be
		// sick or foreign: its reply waits for the settling and is checked against it
		// (retry.go), so the first read costs one round trip after connecting, not two.
		for i := range n {
			j := (start + i) % n
			if v.early[p.addrs[j]] && (best < 0 || r != nil && r.wasTried(p.addrs[best]) && !r.wasTried(p.addrs[j])) {
				best = j
			}
		}
	}
	if best < 0 {
		// An endpoint in use is not ready yet, or none has answered: wait for the next
		// picker, which comes with every change of an endpoint's connection or health.
		return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
	}
	if r != nil {
		r.record(p.addrs[best])
	}
	return balancer.PickResult{SubConn: p.scs[best]}, nil
}
