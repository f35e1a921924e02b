// Command bench-etcdkit runs one benchmark workload with the etcdkit client and prints its figures
// as JSON. scripts/bench.sh runs it through cmd/benchdrive; see harness.Main for the flags.
package main

import (
	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/bench/internal/kitclient"
)

func main() { harness.Main("etcdkit", kitclient.New) }
