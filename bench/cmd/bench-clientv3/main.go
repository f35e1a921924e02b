// Command bench-clientv3 runs one benchmark workload with the clientv3 client and prints its figures
// as JSON. scripts/bench.sh runs it through cmd/benchdrive; see harness.Main for the flags.
package main

import (
	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/bench/internal/v3client"
)

func main() { harness.Main("clientv3", v3client.New) }
