// Command etcdkit-gen trims etcd's gRPC protos to a keep-list of services and RPCs and
// generates Go messages and client stubs from them that can be linked into the same
// program as etcd's own Go packages.
//
// Usage:
//
//	etcdkit-gen -release v3.7.3 -keep KV,Watch,Lease [flags]
//	etcdkit-gen -source ./etcd -keep KV [flags]
//
// Run it with -h for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/etcdkit/etcdkit/cmd/internal/stubgen"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

// usageText heads the -h output.
const usageText = `etcdkit-gen trims etcd's protos to the kept RPCs and the messages they need, checks
the result against upstream field by field, and runs buf generate on it.

The generated code registers private proto names derived from -go-package (Go package
P/X, proto file P/X/<file>, proto package from P's path elements, then X), so it can be
linked beside go.etcd.io/etcd/api/v3; the client stubs call etcd's real method paths
(/etcdserverpb.KV/Range). Only package directories P/X it generated earlier are
replaced; it refuses to write where it finds files it did not generate.

usage: etcdkit-gen (-release VERSION | -source DIR) [flags]

Without -buf-template, buf, protoc-gen-go and protoc-gen-etcdkit-grpc must be on PATH.
Example: KV stubs inside your own module, as package example.com/app/internal/etcdpb/...:

  etcdkit-gen -release v3.7.3 -keep KV -go-package example.com/app/internal/etcdpb \
    -go-module example.com/app -go-out . -proto-out internal/etcdpb/proto
`

// run parses args, generates, and returns the process exit code: 0 on success,
// 1 on a failed run, 2 on a usage error.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcdkit-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg stubgen.Config
	var bufCmd string
	fs.StringVar(&cfg.Release, "release", "", "etcd `version` to fetch with go mod download (go.etcd.io/etcd/api/v3, and server/v3 when Lock or Election is kept); v3.5.0 or later")
	fs.StringVar(&cfg.SourceDir, "source", "", "etcd source tree `dir` to read instead of -release (3.4 and later layouts; files are found by path suffix)")
	fs.StringVar(&cfg.SourceName, "source-name", "etcd source tree", "`label` naming -source in the generated headers")
	fs.StringVar(&cfg.Keep, "keep", stubgen.DefaultKeep, "comma-separated `list` of services (KV) and RPCs (Cluster.MemberList) to keep")
	fs.StringVar(&cfg.GoPackage, "go-package", "github.com/etcdkit/etcdkit/gen", "Go base import `path`: upstream package X becomes path/X")
	fs.StringVar(&cfg.GoModule, "go-module", "", "Go module `path` whose root is -go-out (buf's module= option); empty means -go-package")
	fs.StringVar(&cfg.GoOut, "go-out", "gen", "`dir`ectory of the -go-module root; Go files land in its package directories")
	fs.StringVar(&cfg.ProtoOut, "proto-out", "proto", "proto root `dir`ectory; trimmed files land at <go-package>/X/<file> below it")
	fs.StringVar(&bufCmd, "buf", "buf", "buf `command`, split at spaces (e.g. \"go tool -modfile=tools/go.mod buf\")")
	fs.StringVar(&cfg.BufTemplate, "buf-template", "", "buf generation template `file`; empty means protoc-gen-go and protoc-gen-etcdkit-grpc from PATH with module=<go-module>")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText, "\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "etcdkit-gen: unexpected argument %q; it takes flags only\n", fs.Arg(0))
		return 2
	}
	if (cfg.Release == "") == (cfg.SourceDir == "") {
		fmt.Fprintln(stderr, "etcdkit-gen: give exactly one of -release and -source")
		return 2
	}
	cfg.Buf = strings.Fields(bufCmd)
	start := time.Now()
	res, err := stubgen.Generate(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "etcdkit-gen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "etcdkit-gen: %s: %d RPCs, %d top-level types -> %d proto files, %d Go files, %d stale removed (%.1fs)\n",
		res.Source, res.RPCs, res.Types, len(res.ProtoFiles), len(res.GoFiles), len(res.Removed), time.Since(start).Seconds())
	return 0
}
