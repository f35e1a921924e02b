//etcdkit:needs Lease

package etcd

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Lease is a granted or renewed lease.
type Lease struct {
	ID LeaseID // the lease
	// TTL is the time to live the server granted, which may exceed the one asked for.
	TTL    time.Duration
	Header Header // the response's header
}

// LeaseInfo describes a lease's remaining life.
type LeaseInfo struct {
	ID LeaseID // the lease
	// TTL is the remaining time to live.
	TTL time.Duration
	// GrantedTTL is the TTL the lease was granted with.
	GrantedTTL time.Duration
	// Keys are the keys attached to the lease, when asked for.
	Keys   [][]byte
	Header Header // the response's header
}

// seconds converts a TTL to etcd's whole seconds, rounding up, and rejects TTLs below one
// second.
func seconds(ttl time.Duration) (int64, error) {
	if ttl < time.Second {
		return 0, wrapArg(fmt.Sprintf("TTL %v is below one second", ttl))
	}
	return int64((ttl + time.Second - 1) / time.Second), nil
}

// Grant creates a lease that lives for ttl (whole seconds, at least one; the server may raise
// it to its minimum) unless kept alive.
func (c *Client) Grant(ctx context.Context, ttl time.Duration) (Lease, error) {
	if err := c.check("lease grant", ""); err != nil {
		return Lease{}, err
	}
	secs, err := seconds(ttl)
	if err != nil {
		return Lease{}, &Error{Op: "lease grant", Err: err}
	}
	resp, err := etcdserverpb.NewLeaseClient(c.conn).LeaseGrant(ctx, &etcdserverpb.LeaseGrantRequest{TTL: secs})
	if err != nil {
		return Lease{}, opError("lease grant", "", err)
	}
	if resp.GetError() != "" {
		return Lease{}, &Error{Op: "lease grant", Err: fmt.Errorf("%w: %s", ErrServer, resp.GetError())}
	}
	return Lease{ID: LeaseID(resp.GetID()), TTL: time.Duration(resp.GetTTL()) * time.Second, Header: header(resp.GetHeader())}, nil
}

// Revoke ends lease id at once, deleting its keys.
func (c *Client) Revoke(ctx context.Context, id LeaseID) (Header, error) {
	if err := c.check("lease revoke", id.String()); err != nil {
		return Header{}, err
	}
	resp, err := etcdserverpb.NewLeaseClient(c.conn).LeaseRevoke(ctx, &etcdserverpb.LeaseRevokeRequest{ID: int64(id)})
	if err != nil {
		return Header{}, opError("lease revoke", id.String(), err)
	}
	return header(resp.GetHeader()), nil
}

// TimeToLiveOption shapes a TimeToLive. The set is closed: AttachedKeys is the only one.
type TimeToLiveOption interface {
	applyTimeToLive(*etcdserverpb.LeaseTimeToLiveRequest)
}

type timeToLiveOption func(*etcdserverpb.LeaseTimeToLiveRequest)

func (f timeToLiveOption) applyTimeToLive(r *etcdserverpb.LeaseTimeToLiveRequest) { f(r) }

// AttachedKeys makes TimeToLive list the keys attached to the lease in LeaseInfo.Keys.
func AttachedKeys() TimeToLiveOption {
	return timeToLiveOption(func(r *etcdserverpb.LeaseTimeToLiveRequest) { r.Keys = true })
}

// TimeToLive reports lease id's remaining life, and its keys with AttachedKeys. A lease that
// does not exist (expired or revoked) is ErrLeaseNotFound; the LeaseInfo returned with it
// still carries the response's Header.
func (c *Client) TimeToLive(ctx context.Context, id LeaseID, opts ...TimeToLiveOption) (LeaseInfo, error) {
	if err := c.check("lease timetolive", id.String()); err != nil {
		return LeaseInfo{}, err
	}
	req := &etcdserverpb.LeaseTimeToLiveRequest{ID: int64(id)}
	for _, o := range opts {
		o.applyTimeToLive(req)
	}
	resp, err := etcdserverpb.NewLeaseClient(c.conn).LeaseTimeToLive(ctx, req)
	if err != nil {
		return LeaseInfo{}, opError("lease timetolive", id.String(), err)
	}
	if resp.GetTTL() < 0 {
		return LeaseInfo{ID: id, Header: header(resp.GetHeader())}, &Error{Op: "lease timetolive", Key: id.String(), Err: ErrLeaseNotFound}
	}
	info := LeaseInfo{
		ID:         id,
		TTL:        time.Duration(resp.GetTTL()) * time.Second,
		GrantedTTL: time.Duration(resp.GetGrantedTTL()) * time.Second,
		Header:     header(resp.GetHeader()),
	}
	for _, k := range resp.GetKeys() {
		info.Keys = append(info.Keys, c.ns.strip(k))
	}
	return info, nil
}

// LeaseList lists the IDs of every live lease.
func (c *Client) LeaseList(ctx context.Context) ([]LeaseID, Header, error) {
	if err := c.check("lease list", ""); err != nil {
		return nil, Header{}, err
	}
	resp, err := etcdserverpb.NewLeaseClient(c.conn).LeaseLeases(ctx, &etcdserverpb.LeaseLeasesRequest{})
	if err != nil {
		return nil, Header{}, opError("lease list", "", err)
	}
	ids := make([]LeaseID, len(resp.GetLeases()))
	for i, l := range resp.GetLeases() {
		ids[i] = LeaseID(l.GetID())
	}
	return ids, header(resp.GetHeader()), nil
}

// KeepAliveOnce renews lease id once and returns it with its new TTL (python-etcd's
// refresh). A lease that no longer exists is ErrLeaseNotFound.
func (c *Client) KeepAliveOnce(ctx context.Context, id LeaseID) (Lease, error) {
	if err := c.check("lease keep-alive", id.String()); err != nil {
		return Lease{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := etcdserverpb.NewLeaseClient(c.conn).LeaseKeepAlive(ctx)
	if err != nil {
		return Lease{}, opError("lease keep-alive", id.String(), err)
	}
	// A failed Send reports io.EOF; the stream's real error comes from Recv.
	_ = stream.Send(&etcdserverpb.LeaseKeepAliveRequest{ID: int64(id)})
	resp, err := stream.Recv()
	if err != nil {
		return Lease{}, opError("lease keep-alive", id.String(), err)
	}
	if resp.GetTTL() <= 0 {
		return Lease{}, &Error{Op: "lease keep-alive", Key: id.String(), Err: ErrLeaseNotFound}
	}
	return Lease{ID: id, TTL: time.Duration(resp.GetTTL()) * time.Second, Header: header(resp.GetHeader())}, nil
}

// PutWithTTL writes value under key on a new lease of ttl, so that the key disappears after
// ttl unless the lease is kept alive (python-etcd's write(ttl=)). PutResult.Lease is the lease.
// If the put fails, the lease is revoked.
func (c *Client) PutWithTTL(ctx context.Context, key, value string, ttl time.Duration, opts ...PutOption) (PutResult, error) {
	if key == "" {
		return PutResult{}, &Error{Op: "put", Key: key, Err: errEmptyKey}
	}
	l, err := c.Grant(ctx, ttl)
	if err != nil {
		return PutResult{}, renameOp("put", key, err)
	}
	res, err := c.Put(ctx, key, value, append(opts[:len(opts):len(opts)], AttachLease(l.ID))...)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultDialTimeout)
		defer cancel()
		c.Revoke(rctx, l.ID) // best effort: an unrevoked lease still expires after ttl
	}
	return res, err
}
