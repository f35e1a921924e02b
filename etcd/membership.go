package etcd

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// A client given several endpoints follows its cluster's member list, unless
// Config.StaticEndpoints: it reads the list once its cluster is settled, every
// memberSyncInterval, and whenever an endpoint leaves the rotation (its member may have
// been removed). A member none of the endpoints serves gets an endpoint for its first client
// URL of the client's kind (plaintext or TLS), probed like the others before any call goes
// to it; an endpoint whose member has left the list is dropped. Learners are skipped: they
// serve no client calls. The list is read with Cluster.MemberList by method path, its
// messages encoded here (request: linearizable = 1, which servers before 3.5 ignore;
// response: header = 1 holding cluster_id = 1, members = 2, each with ID = 1,
// clientURLs = 4, isLearner = 5), so that every copy of the kit follows its cluster whatever
// its stubs keep.

// methodMemberList is Cluster.MemberList's method path.
const methodMemberList = "/etcdserverpb.Cluster/MemberList"

// memberSyncInterval is how often a client reads its cluster's member list.
const memberSyncInterval = 5 * time.Second

// listedMember is what the client uses of a member in the list.
type listedMember struct {
	id      uint64
	urls    []string
	learner bool
}

// followMembers reads the member list when kicked or every memberSyncInterval, until the
// client closes, and gives it to the health tracker.
func (c *Client) followMembers() {
	h := c.health
	t := time.NewTimer(memberSyncInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-h.synced:
		case <-t.C:
		}
		if c.clusterID.Load() != 0 {
			ctx, cancel := context.WithTimeout(c.life, 2*probeInterval)
			l, err := readMembers(ctx, c.conn, true)
			cancel()
			if err != nil {
				c.log.Debug("etcd: reading the member list", "err", err)
			} else {
				h.follow(l)
			}
		}
		t.Reset(memberSyncInterval)
	}
}

// listing is a member list as read, with the header's cluster and member: the cluster
// whose list it is and the member that answered.
type listing struct {
	cluster, member uint64
	members         []listedMember
}

// readMembers reads the cluster's member list from the endpoint conn's picker gives it:
// linearizable, or the answering member's own view (which a member without a leader still
// gives at once).
func readMembers(ctx context.Context, conn grpc.ClientConnInterface, linearizable bool) (listing, error) {
	var l listing
	var req []byte
	if linearizable {
		req = protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)
	}
	resp, err := invokeRaw(ctx, conn, methodMemberList, req)
	if err != nil {
		return listing{}, err
	}
	fields, err := rawFields(resp)
	if err != nil {
		return listing{}, err
	}
	for _, f := range fields {
		sub, err := rawFields(f.bytes)
		if err != nil {
			return listing{}, err
		}
		switch f.num {
		case 1:
			for _, g := range sub {
				switch g.num {
				case 1:
					l.cluster = g.varint
				case 2:
					l.member = g.varint
				}
			}
		case 2:
			var m listedMember
			for _, g := range sub {
				switch g.num {
				case 1:
					m.id = g.varint
				case 4:
					m.urls = append(m.urls, string(g.bytes))
				case 5:
					m.learner = g.varint != 0
				}
			}
			l.members = append(l.members, m)
		}
	}
	if l.cluster == 0 {
		return listing{}, errors.New("etcd: member list without a header")
	}
	return l, nil
}

// follow brings the endpoints in line with the member list l: endpoints for members none
// serves, none for members gone. It never drops the last endpoint.
func (h *health) follow(l listing) {
	ms := l.members
	h.mu.Lock()
	if l.cluster == 0 || l.cluster != h.cluster || len(ms) == 0 {
		h.mu.Unlock()
		return
	}
	listed := make(map[uint64]bool, len(ms))
	for _, m := range ms {
		listed[m.id] = true
	}
	changed := false
	kept := make([]*epState, 0, len(h.eps)+len(ms))
	for _, e := range h.eps {
		if e.member != 0 && e.cluster == h.cluster && !listed[e.member] && len(h.eps) > 1 {
			h.c.log.Info("etcd: member removed from the cluster; dropping its endpoint", "endpoint", e.addr, "member", e.member)
			if e.stop != nil { // (the first probe's endpoint has no loop until the probe reported)
				e.stop()
			}
			changed = true
			continue
		}
		kept = append(kept, e)
	}
	served := make(map[uint64]bool)
	present := make(map[string]bool)
	h.deferred = listing{}
	for _, e := range kept {
		served[e.member] = true
		present[e.addr] = true
		if !e.contacted {
			// It may serve a member the list names by another URL: add no endpoint until
			// every endpoint has answered or failed its first probe (see report).
			h.deferred = l
		}
	}
	secure := h.c.cfg.TLS != nil
	for _, m := range ms {
		if m.learner || served[m.id] || h.deferred.members != nil {
			continue
		}
		for _, u := range m.urls {
			ep, err := parseEndpoint(u)
			if err != nil || ep.secure != secure || present[ep.addr] {
				continue
			}
			h.c.log.Info("etcd: member added to the cluster; probing its endpoint", "endpoint", ep.addr, "member", m.id)
			e := &epState{addr: ep.addr, reason: reasonUnchecked, since: time.Now()}
			kept = append(kept, e)
			present[ep.addr] = true
			h.watch(e, 0)
			changed = true
			break
		}
	}
	h.eps = kept
	h.mu.Unlock()
	if changed {
		h.publish()
	}
}
