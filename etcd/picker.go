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
)

// The client's connection balances with a picker of its own: round-robin over the ready
// endpoints the health tracker has in use (health.go), the held ones only when none is in
// use (those that answer, with no leader, before the silent ones). A call may carry a route: pinned to one endpoint (a health probe), or remembering the
// endpoints its tries went to, so that a hedge or a retry goes to an endpoint not tried yet
// when there is one. The tracker rides on every address the client gives the resolver, so
// the picker finds it without any global state.

// balancerName is the picker's balancer in the service config.
const balancerName = "etcdkit_health"

var registerBalancer = sync.OnceFunc(func() {
	balancer.Register(base.NewBalancerBuilder(balancerName, pickerBuilder{}, base.Config{}))
})

// healthKey keys the tracker in an address's attributes.
type healthKey struct{}

// withHealth returns attrs carrying h.
func withHealth(attrs *attributes.Attributes, h *health) *attributes.Attributes {
	return attrs.WithValue(healthKey{}, h)
}

// route is a call's routing: the endpoint it is pinned to, or the endpoints its tries went to.
type route struct {
	pin string

	mu    sync.Mutex
	tried []string
}

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
	r := routeOf(info.Ctx)
	if r != nil && r.pin != "" {
		if i := slices.Index(p.addrs, r.pin); i >= 0 {
			return balancer.PickResult{SubConn: p.scs[i]}, nil
		}
		return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
	}
	n := len(p.scs)
	start := int(p.next.Add(1) % uint32(n))
	if p.h == nil {
		return balancer.PickResult{SubConn: p.scs[start]}, nil
	}
	p.h.begin()
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
