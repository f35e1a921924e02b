package etcd

import "strconv"

// LeaseID identifies a lease. Zero means no lease. Keys carry it whatever stubs a copy of
// the kit keeps; granting and renewing leases needs the Lease service (lease.go).
type LeaseID int64

// String formats the ID in hex, as etcdctl does.
func (id LeaseID) String() string { return strconv.FormatInt(int64(id), 16) }
