// Package naming tests that etcdkit's etcd/naming and clientv3's naming/endpoints and
// naming/resolver (v3.7.3) read each other's registrations on a real etcd server, so that a
// fleet can move from one to the other one service at a time.
package naming
