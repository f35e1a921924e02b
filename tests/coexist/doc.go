// Package coexist holds the test that links etcdkit's generated stubs and etcd's own
// clientv3 (with go.etcd.io/etcd/api/v3) into one binary: their proto registrations must
// not collide, and each client must read what the other wrote on a real etcd server.
package coexist
