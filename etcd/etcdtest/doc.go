// Package etcdtest starts real etcd servers for tests, as net/http/httptest starts HTTP servers:
// a cluster of one or more members on free loopback ports, with data in the test's temporary
// directory, optionally TLS and a fault-injecting TCP proxy in front of each member, all stopped
// when the test ends.
//
//	c := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
//	conn, err := grpc.NewClient(c.Endpoints()[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
//	...
//	c.Members[0].Proxy().Blackhole()
//	c.Members[1].Kill()
//
// The servers are the binaries that scripts/etcd.sh builds (`make etcd`); see BinaryPath. A
// missing binary skips the test, or fails it when the environment variable CI is set.
//
// Members run with a 25 ms heartbeat and a 250 ms election timeout, and with --unsafe-no-fsync
// where the release has it (3.5 and later): one member is ready in a fraction of a second; three
// take about two seconds, as a new member of a multi-member cluster first asks each peer for the
// cluster (one second per peer that is not serving yet). On Linux, members die with the test
// process even when it is killed.
//
// The package uses only the standard library: it talks to members over plain HTTP (/health,
// /version and the JSON gateway), never over gRPC.
package etcdtest
