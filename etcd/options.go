package etcd

import "github.com/etcdkit/etcdkit/gen/etcdserverpb"

// ReadOption shapes a Get, Range, Scan or OpGet. The set is closed: build options with the
// functions below.
type ReadOption interface {
	applyRange(*etcdserverpb.RangeRequest)
}

// PutOption shapes a Put or OpPut.
type PutOption interface {
	applyPut(*etcdserverpb.PutRequest)
}

// DeleteOption shapes a Delete or OpDelete.
type DeleteOption interface {
	applyDelete(*etcdserverpb.DeleteRangeRequest)
}

type readOption func(*etcdserverpb.RangeRequest)

func (f readOption) applyRange(r *etcdserverpb.RangeRequest) { f(r) }

type putOption func(*etcdserverpb.PutRequest)

func (f putOption) applyPut(r *etcdserverpb.PutRequest) { f(r) }

// Limit returns at most n keys; RangeResult.More tells whether there were more. Zero means no
// limit. For Scan it is the page size.
func Limit(n int64) ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.Limit = n })
}

// AtRevision reads the store as it was at rev. Zero means the newest revision.
func AtRevision(rev int64) ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.Revision = rev })
}

// SortTarget is the field a sorted read orders by.
type SortTarget int32

// Sort targets.
const (
	SortByKey            = SortTarget(etcdserverpb.RangeRequest_KEY)
	SortByVersion        = SortTarget(etcdserverpb.RangeRequest_VERSION)
	SortByCreateRevision = SortTarget(etcdserverpb.RangeRequest_CREATE)
	SortByModRevision    = SortTarget(etcdserverpb.RangeRequest_MOD)
	SortByValue          = SortTarget(etcdserverpb.RangeRequest_VALUE)
)

// SortOrder is the direction of a sorted read.
type SortOrder int32

// Sort orders.
const (
	Ascend  = SortOrder(etcdserverpb.RangeRequest_ASCEND)
	Descend = SortOrder(etcdserverpb.RangeRequest_DESCEND)
)

// Sort orders the result by target. Without it, keys come in ascending key order.
func Sort(target SortTarget, order SortOrder) ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) {
		r.SortTarget = etcdserverpb.RangeRequest_SortTarget(target)
		r.SortOrder = etcdserverpb.RangeRequest_SortOrder(order)
	})
}

// KeysOnly returns keys and revisions without values.
func KeysOnly() ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.KeysOnly = true })
}

// CountOnly returns only RangeResult.Count.
func CountOnly() ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.CountOnly = true })
}

// Serializable serves the read from the member's local state without consulting the leader:
// faster and available without a quorum, but possibly stale. Reads are linearizable without it.
func Serializable() ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.Serializable = true })
}

// ModRevisionBetween keeps the keys whose ModRevision is within [min, max]; 0 leaves that side
// open.
func ModRevisionBetween(min, max int64) ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.MinModRevision, r.MaxModRevision = min, max })
}

// CreateRevisionBetween keeps the keys whose CreateRevision is within [min, max]; 0 leaves
// that side open.
func CreateRevisionBetween(min, max int64) ReadOption {
	return readOption(func(r *etcdserverpb.RangeRequest) { r.MinCreateRevision, r.MaxCreateRevision = min, max })
}

// AttachLease attaches the key to lease id: the key is deleted when the lease ends.
func AttachLease(id LeaseID) PutOption {
	return putOption(func(r *etcdserverpb.PutRequest) { r.Lease = int64(id) })
}

// IgnoreValue keeps the key's current value (the value given must be empty); the key must
// exist.
func IgnoreValue() PutOption {
	return putOption(func(r *etcdserverpb.PutRequest) { r.IgnoreValue = true })
}

// IgnoreLease keeps the key's current lease; the key must exist.
func IgnoreLease() PutOption {
	return putOption(func(r *etcdserverpb.PutRequest) { r.IgnoreLease = true })
}

// PrevKVOption asks a put or a delete for the key-values it replaced or removed, and a watch
// for each key as it was before the change. It is a PutOption, a DeleteOption and a
// WatchOption: one name for one idea.
type PrevKVOption struct{}

// PrevKV returns the previous key-values in PutResult.PrevKV, DeleteResult.PrevKVs or
// Event.PrevKV.
func PrevKV() PrevKVOption { return PrevKVOption{} }

func (PrevKVOption) applyPut(r *etcdserverpb.PutRequest)            { r.PrevKv = true }
func (PrevKVOption) applyDelete(r *etcdserverpb.DeleteRangeRequest) { r.PrevKv = true }
