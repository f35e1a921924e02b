// Command bench-raw runs one benchmark workload with the raw client and prints its figures
// as JSON. scripts/bench.sh runs it through cmd/benchdrive; see harness.Main for the flags.
package main

import (
	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/bench/internal/rawclient"
)

func main() { harness.Main("raw", rawclient.New) }
