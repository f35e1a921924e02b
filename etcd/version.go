package etcd

// Version is the release of module github.com/etcdkit/etcdkit this package belongs to: its
// exported API is the one testdata/api lists, and CHANGELOG.md says what changed in it.
const Version = "v1.0.0"
