//etcdkit:needs Lease,Watch

// Package naming registers gRPC service instances in etcd and resolves them for grpc-go:
// Register publishes an instance under "<service>/<id>" on a session lease, and NewBuilder
// gives a resolver.Builder for targets such as "etcd:///my-service" that follows the live
// instances by list-then-watch. Values are stored as clientv3's naming/endpoints stores them
// (JSON {"Op":0,"Addr":...,"Metadata":...}) under the same keys, so either client can
// register and either can resolve, and a fleet can move over one service at a time.
package naming

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/etcdkit/etcdkit/etcd"
)

// Endpoint is one instance of a service: the address to dial, and metadata for whoever reads
// the registry. clientv3's endpoints.Endpoint has the same fields.
type Endpoint struct {
	// Addr is the instance's address, "host:port"; required.
	Addr string
	// Metadata is any JSON-encodable value, or nil. Read back, it holds what encoding/json
	// decodes into an any (map[string]any for an object).
	Metadata any
}

// record is an Endpoint as stored in etcd: clientv3's internal update format, a superset of
// grpc-go's former naming.Update, whose Op 0 means "add". Field order and names matter: they
// are the bytes clientv3 writes.
type record struct {
	Op       uint8
	Addr     string
	Metadata any
}

// MarshalJSON encodes ep as etcd stores it under "<service>/<id>", in clientv3's format
// ({"Op":0,"Addr":...,"Metadata":...}), so that a program can write a registration itself:
// on a lease of its own (a session's, with etcd.AttachLease), or inside a transaction.
func (ep Endpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(record{Addr: ep.Addr, Metadata: ep.Metadata})
}

// UnmarshalJSON decodes a stored endpoint. A value that is not an added endpoint with an
// address (which List and the resolver skip) is an error wrapping etcd.ErrInvalidArgument.
func (ep *Endpoint) UnmarshalJSON(b []byte) error {
	e, ok := decode(b)
	if !ok {
		return fmt.Errorf("naming: %w: not a registered endpoint: %.64q", etcd.ErrInvalidArgument, b)
	}
	*ep = e
	return nil
}

// encode returns ep as stored in etcd.
func encode(ep Endpoint) (string, error) {
	b, err := ep.MarshalJSON()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decode reads a stored endpoint; ok is false for a value that is not an added endpoint
// with an address (such values are skipped, as clientv3 skips them).
func decode(value []byte) (ep Endpoint, ok bool) {
	var r record
	if json.Unmarshal(value, &r) != nil || r.Op != 0 || r.Addr == "" {
		return Endpoint{}, false
	}
	return Endpoint{Addr: r.Addr, Metadata: r.Metadata}, true
}

// prefix returns the keys a service's instances live under, after checking its name.
func prefix(op, service string) (string, error) {
	if service == "" || strings.HasSuffix(service, "/") {
		return "", fmt.Errorf("naming: %s %q: %w: a service is a non-empty name without a trailing /", op, service, etcd.ErrInvalidArgument)
	}
	return service + "/", nil
}

// List reads the instances of service now, keyed by their keys ("<service>/<id>"). Values
// that are not endpoints are left out.
func List(ctx context.Context, c *etcd.Client, service string) (map[string]Endpoint, error) {
	p, err := prefix("list", service)
	if err != nil {
		return nil, err
	}
	out := map[string]Endpoint{}
	for kv, err := range c.Scan(ctx, etcd.Prefix(p)) {
		if err != nil {
			return nil, fmt.Errorf("naming: list %q: %w", service, err)
		}
		if ep, ok := decode(kv.Value); ok {
			out[string(kv.Key)] = ep
		}
	}
	return out, nil
}
