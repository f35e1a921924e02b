package etcd

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A client with several endpoints judges each of them by what it does, not by its TCP
// connection: a frozen member keeps its connections open, and a member cut off from its
// peers answers gRPC but cannot serve a linearizable read or a write. The health tracker owns
// every endpoint's state; the picker (picker.go) reads it on every call and stream.
//
// The first call starts the first probe (when the connection leaves idle), and the
// connection dials only one endpoint, the lead, chosen at random (see widen): the probe
// reads the member list (Cluster.MemberList, the answering member's own view, not
// linearizable, so that any member answers at once) from the first endpoint a read could go
// to; the header says which cluster and member serve that endpoint. Then every endpoint gets
// a probe loop, whose first probe reads the list the same way: at once if the list did not
// settle the cluster (or spreadDelay passed without an answer), or else heldProbeInterval
// later, so that a client that makes one call and closes (a command) never dials nor asks
// the others. Under auth etcd 3.5 and later refuse the list without a token (of any user,
// root or not; 3.4 gives it to anyone): the first probe uses the login the first call makes
// anyway, the loops' probes carry none and fall back to the linearizable probe below, the
// member then being learned from calls' replies (see heard).
//
// The client's cluster is settled by the first of two rules to hold:
//   - one answer: the cluster of a list whose members' client URLs name more than half of
//     the configured endpoints (host:port, or the socket's path, compared exactly; learners
//     count, members not started have no URLs yet);
//   - the vote: the cluster more than half of the endpoints answer for (or, once every
//     endpoint has answered or failed its first probe, the one most of them answer for, a
//     tie going to the endpoint listed first).
// The first rule's one assumption: a member's advertised client URL, when it names a
// configured endpoint, reaches that member. It fails only where addresses are rewritten
// between the client and the cluster (a port forward that gives one cluster's advertised
// addresses to another's members). URLs that name the endpoints otherwise (a host name for
// an IP) only make the first rule not hold: the vote decides. Either way an endpoint is used
// only once its own probe answered for the client's cluster, and one that answers for
// another cluster is never used. The settling list is the first the member list's sync
// follows (membership.go), so that it is not read twice.
//
// From then on the loop sends, every probeInterval, a linearizable count of one key with
// etcd's hasleader metadata: a member that does not answer within probeInterval, or answers
// that it has no leader, is held out of the rotation until a probe answers again. Calls and
// streams go only to endpoints in use; when none is, the held ones are used (a slow cluster
// beats none).
//
// Invariant: an endpoint is in use iff its cluster is the client's and its last probe
// answered. Only a probe loop, the member list's sync (membership.go) and a stream that
// finds its member silent change an endpoint's state, and each change is logged and
// published to the picker at once.

// probeInterval is both how often an endpoint is probed and how long a probe may take: a
// member that stops answering leaves the rotation within twice this.
const probeInterval = 500 * time.Millisecond

// probeKey is the key the health probe counts; any key serves, and an auth user without
// access to it gets a refusal, which is an answer too.
const probeKey = "health"

// EndpointState is one endpoint as the client sees it, for a user's health check or
// metrics: Client.EndpointStates lists them.
type EndpointState struct {
	// Endpoint is the endpoint as "host:port" (or "unix://path").
	Endpoint string
	// MemberID is the member that answered on it; 0 until one did.
	MemberID uint64
	// InUse reports whether calls go to it. With one endpoint it is always true.
	InUse bool
	// Reason says why it is not in use ("" when it is): it has not answered yet, did not
	// answer its health probe, has no leader, belongs to another cluster.
	Reason string
	// Since is when InUse or Reason last changed; zero for a client with one endpoint.
	Since time.Time
}

// errSick is the cause given when a stream leaves a member its endpoint's health probe
// found sick.
var errSick = errors.New("etcd: the member's endpoint left the rotation")

// Reasons an endpoint is not in use.
const (
	reasonUnchecked = "not answered yet"
	reasonSilent    = "no answer to the health probe"
	reasonForeign   = "belongs to another cluster"
)

// epState is the tracker's state of one endpoint. Its fields are guarded by health.mu.
type epState struct {
	addr      string
	member    uint64
	cluster   uint64
	contacted bool   // its first probe has ended, answered or not
	reason    string // "" when its last probe answered
	since     time.Time
	stop      context.CancelFunc // ends its probe loop
}

// inUse reports whether calls may go to e, for a client of cluster: its last probe answered,
// and it serves that cluster, or has not said which (under auth only the root role may ask
// a member's status, so an endpoint may answer its probes with refusals that carry no
// header; its first call's reply then says, see heard).
func (e *epState) inUse(cluster uint64) bool {
	return e.reason == "" && cluster != 0 && (e.cluster == cluster || e.cluster == 0)
}

// health tracks a client's endpoints (see above).
type health struct {
	c          *Client
	start      sync.Once // starts the first probe, when the connection leaves idle
	spreadOnce sync.Once // starts the probe loops, after the first probe

	mu      sync.Mutex
	eps     []*epState    // configured ones first, then those learned from the member list
	cluster uint64        // the client's cluster; 0 until settled
	settled chan struct{} // closed when cluster is settled
	synced  chan struct{} // kicks the member list's sync; nil when the client does not follow
	// deferred is a list followed before every endpoint had its first probe, to follow again
	// then (membership.go).
	deferred listing
	view     atomic.Pointer[healthView]

	lead      string                   // the endpoint dialled first
	wide      atomic.Bool              // every endpoint is dialled (see widen)
	repicker  atomic.Pointer[repicker] // set by the balancer once built (picker.go)
	pubMu     sync.Mutex               // serializes publishing; guards published
	published []string                 // the endpoints last given to the resolver
}

// healthView is what the picker reads: each endpoint's use, and whether any is in use.
type healthView struct {
	use     map[string]use
	known   map[string]bool // endpoints whose member is known
	out     map[uint64]bool // members whose endpoint is held while another is in use
	anyUsed bool
	pending bool // some endpoint has not had its first answer or failure yet
	// early are the endpoints a read may go to before the cluster is settled: none is known
	// sick or foreign yet. The read's reply then waits for the settling (awaitSettled).
	early map[string]bool
	// replaced is closed when a newer view is stored: stream loops wait on it, so that a
	// stream leaves a member the moment it leaves the rotation.
	replaced chan struct{}
}

// use is how the picker may use an endpoint.
type use uint8

const (
	useNever  use = iota // unknown, or of another cluster
	useSilent            // sick and silent: only when no endpoint is in use, last
	useHeld              // sick but answering (no leader): only when no endpoint is in use
	useInUse             // in the rotation
)

func newHealth(c *Client, addrs []string, follow bool) *health {
	h := &health{c: c, settled: make(chan struct{})}
	now := time.Now()
	for _, a := range addrs {
		h.eps = append(h.eps, &epState{addr: a, reason: reasonUnchecked, since: now})
	}
	if follow {
		h.synced = make(chan struct{}, 1)
	}
	h.published = addrs // New gives them to the resolver
	h.lead = addrs[rand.IntN(len(addrs))]
	h.refresh()
	return h
}

// begin starts the first probe and the member list's sync, once.
func (h *health) begin() {
	h.start.Do(func() {
		if h.c.goLoop(h.firstProbe) && h.synced != nil {
			h.c.goLoop(h.c.followMembers)
		}
	})
}

// spreadDelay is how long the first probe has alone before every endpoint is dialled and its
// probe loop starts anyway: a silent lead delays the settling by no more than this.
const spreadDelay = 100 * time.Millisecond

// firstProbe reads the member list from the first endpoint a read could go to, which
// usually settles the client's cluster at once (see above), then starts every endpoint's
// probe loop (spread).
func (h *health) firstProbe() {
	t := time.AfterFunc(spreadDelay, func() { h.spread(nil, 0) })
	defer t.Stop()
	ctx, cancel := context.WithTimeout(h.c.life, probeInterval)
	defer cancel()
	// Under auth the list is refused without a token, of any user: this probe, which the
	// first call starts, shares that call's login.
	ctx, _, err := h.c.withToken(ctx, methodMemberList)
	r := &route{pin: anyEndpoint}
	var l listing
	if err == nil {
		l, err = readMembers(context.WithValue(ctx, routeKey{}, r), h.c.conn, false)
	}
	var e *epState
	h.mu.Lock()
	for _, x := range h.eps {
		if x.addr == r.last() {
			e = x
		}
	}
	h.mu.Unlock()
	if e == nil || h.c.life.Err() != nil {
		h.spread(nil, 0)
		return
	}
	next := probeInterval
	if h.report(e, l, probeFailure(err)) {
		next = heldProbeInterval
	}
	h.spread(e, next)
}

// spread starts the probe loop of every endpoint that has none, once: first's after next;
// the others' at once while the cluster is not settled, or else after heldProbeInterval,
// so that a client that makes one call and closes (a command) never asks them.
func (h *health) spread(first *epState, next time.Duration) {
	h.spreadOnce.Do(func() {
		h.mu.Lock()
		settled := h.cluster != 0
		for _, e := range h.eps {
			switch {
			case e.stop != nil: // added by the member list's sync, already probed
			case e == first:
				h.watch(e, next)
			case settled:
				h.watch(e, heldProbeInterval)
			default:
				h.watch(e, 0)
			}
		}
		h.mu.Unlock()
		if !settled {
			h.widen()
		}
	})
}

// widen has the balancer dial every endpoint, once. Until then it dials only the lead: the
// first probe and the first call go there. The tracker widens when the first probe did not
// settle the cluster, or has not answered spreadDelay after the connection left idle, when
// the lead's connection fails, and before any other endpoint is probed. (A lead that cannot
// be reached and does not refuse the connection so costs the first call spreadDelay.)
func (h *health) widen() {
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	if !h.wide.Swap(true) {
		h.c.setAddresses(h.published)
	}
}

// watch starts e's probe loop, its first probe after first. The caller holds mu.
func (h *health) watch(e *epState, first time.Duration) {
	ctx, cancel := context.WithCancel(h.c.life)
	e.stop = cancel
	if !h.c.goLoop(func() { h.probeLoop(ctx, e, first) }) {
		cancel()
	}
}

// probeLoop probes e, first after first and then every probeInterval, until ctx ends.
func (h *health) probeLoop(ctx context.Context, e *epState, first time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		every := probeInterval
		if h.probe(ctx, e) {
			every = heldProbeInterval // to bring it back soon after it recovers
		}
		t.Reset(max(0, every-time.Since(start)))
	}
}

// heldProbeInterval is how often an endpoint out of use is probed.
const heldProbeInterval = 100 * time.Millisecond

// probe asks e once: the member list until it has answered once, then the linearizable
// probe. It reports whether e is held out, sick, afterwards.
func (h *health) probe(ctx context.Context, e *epState) bool {
	if !h.wide.Load() {
		h.widen()
	}
	h.mu.Lock()
	first := e.member == 0
	h.mu.Unlock()
	loop := ctx
	ctx, cancel := context.WithTimeout(pinned(ctx, e.addr), probeInterval)
	defer cancel()
	var l listing
	var err error
	if first {
		l, err = readMembers(ctx, h.c.conn, false)
	}
	if !first || (err != nil && probeFailure(err) == "") {
		// The list answered with a refusal (under auth etcd 3.5 and later refuse it without
		// a token, and probes carry none, so that they never keep a token alive nor wait for
		// a login): the member is learned from the replies of calls instead (see heard), and
		// judged here; etcd checks a read's permission after the read's linearizable wait.
		ctx = metadata.AppendToOutgoingContext(ctx, hasLeaderKey, "true")
		var resp etcdserverpb.RangeResponse
		err = h.c.conn.Invoke(ctx, methodRange, &etcdserverpb.RangeRequest{Key: []byte(probeKey), CountOnly: true}, &resp)
		l = listing{cluster: resp.GetHeader().GetClusterId(), member: resp.GetHeader().GetMemberId()}
	}
	if loop.Err() != nil {
		return false // the client closed, or e was dropped
	}
	return h.report(e, l, probeFailure(err))
}

// probeFailure says why a probe's error shows a sick member, or "" when the error is an
// answer (a refusal, a stale token): the member is alive and has a leader.
func probeFailure(err error) string {
	if err == nil {
		return ""
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.DeadlineExceeded, codes.Canceled:
		return reasonSilent
	case codes.Unavailable, codes.Unknown, codes.Internal:
		return st.Message()
	}
	return ""
}

// report records a probe's outcome: what answered (the cluster and member, 0 when none
// said, and the member list when the probe read it), and why the endpoint is sick ("" when
// it answered). It reports whether e is held out, sick (not in use, of the client's cluster
// as far as is known).
func (h *health) report(e *epState, l listing, reason string) bool {
	h.mu.Lock()
	first := !e.contacted
	e.contacted = true
	if l.member != 0 {
		e.member = l.member
	}
	if l.cluster != 0 {
		e.cluster = l.cluster
	}
	var by uint64
	if h.cluster == 0 && h.names(l.members) {
		by = l.cluster
	}
	changed := h.settle(by)
	var follow listing // the list to follow at once: the settling one
	if changed {
		if l.cluster == h.cluster && len(l.members) > 0 && h.synced != nil {
			follow = l
		} else {
			h.kickSync() // the first look at the member list
		}
	}
	changed = changed || first // the picker waits for every endpoint's first probe
	if h.cluster != 0 && e.cluster != 0 && e.cluster != h.cluster {
		reason = reasonForeign
	}
	changed = h.set(e, reason) || changed
	if first && follow.members == nil && h.deferred.members != nil && !slices.ContainsFunc(h.eps, func(e *epState) bool { return !e.contacted }) {
		follow = h.deferred // every endpoint has answered or failed: add those of the others
	}
	sick := !e.inUse(h.cluster) && e.reason != reasonForeign
	h.mu.Unlock()
	if changed {
		h.publish()
	}
	if follow.members != nil {
		h.follow(follow)
	}
	return sick
}

// names reports whether the client URLs of the members ms name more than half of the
// configured endpoints (see the first rule above). The caller holds mu, before the cluster
// is settled, while eps are the configured endpoints.
func (h *health) names(ms []listedMember) bool {
	if len(ms) == 0 {
		return false
	}
	named := make(map[string]bool, len(ms))
	for _, m := range ms {
		for _, u := range m.urls {
			if ep, err := parseEndpoint(u); err == nil {
				named[ep.addr] = true
			}
		}
	}
	n := 0
	for _, e := range h.eps {
		if named[e.addr] {
			n++
		}
	}
	return n > len(h.eps)/2
}

// set gives e its reason, logging a change of use, and reports whether anything changed.
// The caller holds mu.
func (h *health) set(e *epState, reason string) bool {
	if e.reason == reason {
		return false
	}
	was := e.inUse(h.cluster)
	e.reason, e.since = reason, time.Now()
	switch now := e.inUse(h.cluster); {
	case now && !was:
		h.c.log.Info("etcd: endpoint answers; using it", "endpoint", e.addr, "member", e.member)
	case was && !now:
		h.c.log.Warn("etcd: endpoint left the rotation", "endpoint", e.addr, "member", e.member, "reason", reason)
		h.kickSync()
	case reason == reasonForeign:
		h.c.log.Warn("etcd: endpoint belongs to another cluster; not using it", "endpoint", e.addr, "cluster", e.cluster, "want", h.cluster)
	}
	return true
}

// settle decides the client's cluster: by, when an answer settled it (not 0), or else the
// vote once enough endpoints have answered. It reports whether it did. The caller holds mu.
func (h *health) settle(by uint64) bool {
	if h.cluster != 0 {
		return false
	}
	if by != 0 {
		h.settleOn(by)
		return true
	}
	votes := make(map[uint64]int)
	done := true
	for _, e := range h.eps {
		if e.cluster != 0 {
			votes[e.cluster]++
		}
		done = done && e.contacted
	}
	var best uint64
	for _, e := range h.eps { // the most votes; a tie goes to the endpoint listed first
		if e.cluster != 0 && votes[e.cluster] > votes[best] {
			best = e.cluster
		}
	}
	if best == 0 || (votes[best] <= len(h.eps)/2 && !done) {
		return false
	}
	h.settleOn(best)
	return true
}

// settleOn makes best the client's cluster. The caller holds mu.
func (h *health) settleOn(best uint64) {
	h.cluster = best
	h.c.clusterID.CompareAndSwap(0, best)
	close(h.settled)
	for _, e := range h.eps {
		switch {
		case e.cluster != 0 && e.cluster != best:
			h.set(e, reasonForeign)
		case e.cluster == best && e.reason == reasonUnchecked:
			h.set(e, "")
		}
	}
}

// awaitSettled waits, within ctx, until the client's cluster is settled, so that a reply
// read before it (from an early endpoint) can be checked against it.
func (h *health) awaitSettled(ctx context.Context) error {
	if h.c.clusterID.Load() != 0 { // settled: what every call but the first few sees
		return nil
	}
	select {
	case <-h.settled:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heard learns from a call's reply which cluster and member answered on addr, when the
// tracker does not know it yet: under auth, only the root role may ask a member's status.
func (h *health) heard(addr string, reply any) {
	if addr == "" || h.view.Load().known[addr] {
		return
	}
	r, ok := reply.(headered)
	if !ok || r.GetHeader().GetMemberId() == 0 {
		return
	}
	h.mu.Lock()
	changed := false
	for _, e := range h.eps {
		if e.addr == addr && e.member == 0 {
			e.member, e.cluster = r.GetHeader().GetMemberId(), r.GetHeader().GetClusterId()
			changed = h.settle(0)
			if h.cluster != 0 && e.cluster != h.cluster {
				changed = h.set(e, reasonForeign) || changed
			} else {
				changed = true // known now
				if e.reason == reasonUnchecked {
					h.set(e, "")
				}
			}
		}
	}
	h.mu.Unlock()
	if changed {
		h.publish()
	}
}

// silent holds out the endpoint of member, when known, after a stream found the member
// silent; its probe loop brings it back once it answers.
func (h *health) silent(member uint64) {
	h.mu.Lock()
	changed := false
	for _, e := range h.eps {
		if e.member == member && e.reason == "" {
			changed = h.set(e, reasonSilent) || changed
		}
	}
	h.mu.Unlock()
	if changed {
		h.publish()
	}
}

// foreignReply holds out addr, whose reply came from another cluster than the client's.
func (h *health) foreignReply(addr string) {
	h.mu.Lock()
	changed := false
	for _, e := range h.eps {
		if e.addr == addr {
			e.cluster = 0 // its next status says which cluster it serves
			e.member = 0
			changed = h.set(e, reasonUnchecked)
		}
	}
	h.mu.Unlock()
	if changed {
		h.publish()
	}
}

// kickSync asks the member list's sync to run now. The caller holds mu.
func (h *health) kickSync() {
	if h.synced == nil {
		return
	}
	select {
	case h.synced <- struct{}{}:
	default:
	}
}

// refresh rebuilds the picker's view. The caller holds mu (or owns h alone).
func (h *health) refresh() {
	v := &healthView{use: make(map[string]use, len(h.eps)), known: make(map[string]bool, len(h.eps)), replaced: make(chan struct{})}
	for _, e := range h.eps {
		v.known[e.addr] = e.member != 0
		if h.cluster == 0 && (e.reason == reasonUnchecked || e.reason == "") {
			if v.early == nil {
				v.early = make(map[string]bool)
			}
			v.early[e.addr] = true
		}
		switch {
		case e.inUse(h.cluster):
			v.use[e.addr] = useInUse
			v.anyUsed = true
		case e.reason == reasonForeign:
		case e.reason == reasonSilent:
			v.use[e.addr] = useSilent
		case e.reason != reasonUnchecked:
			v.use[e.addr] = useHeld
		case !e.contacted:
			v.pending = true
		default:
			// It never answered: once the others have settled nothing, it is as good as a
			// held one.
			if h.cluster == 0 {
				v.use[e.addr] = useHeld
			}
		}
	}
	if v.anyUsed {
		for _, e := range h.eps {
			if e.member != 0 && v.use[e.addr] != useInUse {
				if v.out == nil {
					v.out = make(map[uint64]bool)
				}
				v.out[e.member] = true
			}
		}
	}
	if old := h.view.Swap(v); old != nil {
		close(old.replaced)
	}
}

// publish rebuilds the view and has the calls waiting for an endpoint picked again: through
// the balancer's repicker while the endpoints to connect to are the same, or else by giving
// the resolver the new ones, which makes gRPC build a new picker.
func (h *health) publish() {
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	h.mu.Lock()
	h.refresh()
	var addrs []string
	for _, e := range h.eps {
		if e.reason != reasonForeign {
			addrs = append(addrs, e.addr)
		}
	}
	h.mu.Unlock()
	if r := h.repicker.Load(); r != nil && slices.Equal(addrs, h.published) {
		r.repick()
		return
	}
	h.published = addrs
	h.c.setAddresses(addrs)
}

// states lists the endpoints' states.
func (h *health) states() []EndpointState {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]EndpointState, len(h.eps))
	for i, e := range h.eps {
		out[i] = EndpointState{Endpoint: e.addr, MemberID: e.member, InUse: e.inUse(h.cluster), Reason: e.reason, Since: e.since}
	}
	return out
}

// addrs lists the endpoints, in order.
func (h *health) addrs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.eps))
	for i, e := range h.eps {
		out[i] = e.addr
	}
	return out
}

// statusOf asks the endpoint conn's picker gives it for its cluster, member and version.
// Maintenance.Status is called by method path with its response decoded here (header = 1
// holding cluster_id = 1 and member_id = 2; version = 2), so that every copy of the kit checks
// its endpoints whatever its stubs keep.
func statusOf(ctx context.Context, conn grpc.ClientConnInterface) (clusterID, memberID uint64, version string, err error) {
	resp, err := invokeRaw(ctx, conn, methodStatus, nil)
	if err != nil {
		return 0, 0, "", err
	}
	fields, err := rawFields(resp)
	if err != nil {
		return 0, 0, "", err
	}
	for _, f := range fields {
		switch f.num {
		case 1:
			hdr, err := rawFields(f.bytes)
			if err != nil {
				return 0, 0, "", err
			}
			for _, h := range hdr {
				switch h.num {
				case 1:
					clusterID = h.varint
				case 2:
					memberID = h.varint
				}
			}
		case 2:
			version = string(f.bytes)
		}
	}
	if clusterID == 0 {
		return 0, 0, "", errors.New("etcd: status without a header")
	}
	return clusterID, memberID, version, nil
}
