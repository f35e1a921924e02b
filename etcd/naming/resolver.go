//etcdkit:needs Lease,Watch

package naming

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	"github.com/etcdkit/etcdkit/etcd"
)

// Scheme is the URI scheme of the targets NewBuilder resolves: "etcd:///<service>".
const Scheme = "etcd"

// roundRobin is the service config a resolver gives by default, so that calls are spread
// over every instance rather than sent to the first.
const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// BuilderOption configures NewBuilder.
type BuilderOption interface{ applyBuilder(*builder) }

type builderOption func(*builder)

func (f builderOption) applyBuilder(b *builder) { f(b) }

// ServiceConfig sets the service config (JSON) the resolver gives gRPC with every list.
// Empty gives none, leaving gRPC's default (pick_first) or grpc.WithDefaultServiceConfig in
// charge. Without this option the resolver asks for round_robin over the instances.
func ServiceConfig(json string) BuilderOption {
	return builderOption(func(b *builder) { b.serviceConfig = json })
}

// NewBuilder returns a resolver.Builder for targets "etcd:///<service>" (as clientv3's
// naming/resolver reads them), to pass to grpc.NewClient with grpc.WithResolvers. Each
// resolver lists the service's instances at one revision and then follows every change
// (ListWatch), so gRPC always holds the instances as of a known revision: a compaction or a
// broken stream is followed by a fresh listing, never by a silent gap. When the listing or
// the watch fails, the error goes to gRPC (ClientConn.ReportError, which fails calls only if
// no list was ever given), and the resolver lists again with backoff, sooner when gRPC asks
// (ResolveNow). The client c must outlive the gRPC connections using the builder.
func NewBuilder(c *etcd.Client, opts ...BuilderOption) resolver.Builder {
	b := &builder{c: c, serviceConfig: roundRobin}
	for _, o := range opts {
		o.applyBuilder(b)
	}
	return b
}

type builder struct {
	c             *etcd.Client
	serviceConfig string
}

func (b *builder) Scheme() string { return Scheme }

// Build starts a resolver for target's service.
func (b *builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	service := target.Endpoint()
	p, err := prefix("resolve", service)
	if err != nil {
		return nil, err
	}
	r := &etcdResolver{
		c: b.c, cc: cc, service: service, prefix: p,
		now:  make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	if b.serviceConfig != "" {
		if r.sc = cc.ParseServiceConfig(b.serviceConfig); r.sc.Err != nil {
			return nil, fmt.Errorf("naming: service config: %w", r.sc.Err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
	return r, nil
}

// etcdResolver follows one service's instances for one gRPC ClientConn.
type etcdResolver struct {
	c       *etcd.Client
	cc      resolver.ClientConn
	service string
	prefix  string
	sc      *serviceconfig.ParseResult

	now    chan struct{} // ResolveNow: cut a backoff short
	cancel context.CancelFunc
	done   chan struct{}
}

// run lists and watches until ctx ends or the client closes. Invariant: the state given to
// gRPC is always the registry as of the revision of the last update applied.
func (r *etcdResolver) run(ctx context.Context) {
	defer close(r.done)
	b := newBackoff(5 * time.Second)
	defer b.stop()
	for {
		eps := map[string]Endpoint{}
		var failure error
		for u, err := range r.c.ListWatch(ctx, etcd.Prefix(r.prefix)) {
			if err != nil {
				failure = err
				break
			}
			switch {
			case u.Resync:
				clear(eps)
				for _, kv := range u.KVs {
					if ep, ok := decode(kv.Value); ok {
						eps[string(kv.Key)] = ep
					}
				}
				b.reset()
			case u.Event.Type == etcd.EventPut:
				if ep, ok := decode(u.Event.KV.Value); ok {
					eps[string(u.Event.KV.Key)] = ep
				} else {
					delete(eps, string(u.Event.KV.Key))
				}
			case u.Event.Type == etcd.EventDelete:
				delete(eps, string(u.Event.KV.Key))
			}
			r.update(eps)
		}
		if ctx.Err() != nil {
			return
		}
		r.cc.ReportError(fmt.Errorf("naming: resolving %q: %w", r.service, failure))
		if errors.Is(failure, etcd.ErrClosed) || !b.sleep(ctx, r.now) {
			return
		}
	}
}

// update gives gRPC the instances in eps, one endpoint per distinct address, in address
// order, each with its Metadata in the endpoint's attributes (see EndpointMetadata); where
// several keys share an address, the first key's metadata wins. gRPC's answer needs no
// action: a balancer that rejects an empty list asks for ResolveNow, and the next change
// brings a new list anyway.
func (r *etcdResolver) update(eps map[string]Endpoint) {
	keys := slices.Sorted(maps.Keys(eps))
	meta := make(map[string]any, len(keys))
	addrs := make([]string, 0, len(keys))
	for _, k := range keys {
		ep := eps[k]
		if _, seen := meta[ep.Addr]; !seen {
			meta[ep.Addr] = ep.Metadata
			addrs = append(addrs, ep.Addr)
		}
	}
	slices.Sort(addrs)
	st := resolver.State{Endpoints: make([]resolver.Endpoint, len(addrs)), ServiceConfig: r.sc}
	for i, a := range addrs {
		st.Endpoints[i] = resolver.Endpoint{
			Addresses:  []resolver.Address{{Addr: a}},
			Attributes: attributes.New(metadataKey{}, metadataValue{meta[a]}),
		}
	}
	_ = r.cc.UpdateState(st)
}

// metadataKey keys an instance's Metadata in the attributes of its resolver.Endpoint.
type metadataKey struct{}

// metadataValue holds an instance's Metadata in attributes, which compare values: JSON
// metadata (maps, slices) cannot be compared with ==, so it compares them in depth.
type metadataValue struct{ v any }

// Equal reports whether o holds the same metadata.
func (m metadataValue) Equal(o any) bool {
	other, ok := o.(metadataValue)
	return ok && reflect.DeepEqual(m.v, other.v)
}

// EndpointMetadata returns the Metadata an instance registered with (as encoding/json read
// it back), from an endpoint the resolver gave gRPC, for a custom balancer that picks by
// zone or weight; ok is false for an endpoint that did not come from this resolver.
func EndpointMetadata(ep resolver.Endpoint) (metadata any, ok bool) {
	m, ok := ep.Attributes.Value(metadataKey{}).(metadataValue)
	return m.v, ok
}

// ResolveNow cuts short the wait before the next listing, when the last one failed.
func (r *etcdResolver) ResolveNow(resolver.ResolveNowOptions) {
	select {
	case r.now <- struct{}{}:
	default:
	}
}

// Close stops the resolver and waits for its goroutine.
func (r *etcdResolver) Close() {
	r.cancel()
	<-r.done
}
