// Command etcdkit-gen vendors etcdkit into a Go module: etcd's gRPC protos trimmed to a
// keep-list of services and RPCs, Go stubs generated from them that can be linked into
// the same program as etcd's own Go packages, and etcdkit's package etcd over those
// stubs. It needs nothing on PATH but go: the proto compiler and both code generators
// run in-process.
//
// Usage:
//
//	etcdkit-gen vendor -release v3.5.35 -keep KV,Watch,Lease -into internal/etcdkit [-check]
//	etcdkit-gen -release v3.7.3 -keep KV -go-out gen -proto-out proto [-check]
//	etcdkit-gen version
//
// Run it from the root of the module to write into; -h lists every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcdkit/etcdkit/cmd/internal/stubgen"
	"github.com/etcdkit/etcdkit/cmd/internal/version"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageText heads the -h output.
const usageText = `etcdkit-gen trims etcd's protos to the kept RPCs and the messages they need, checks
the result against upstream field by field, and generates Go from it in-process.

Run it from the root of your module (the directory holding go.mod); output must lie
inside that module.

  etcdkit-gen vendor -release VERSION -keep LIST -into DIR [-check]
      writes DIR/proto (trimmed protos), DIR/gen (stubs) and DIR/etcd (etcdkit's package
      etcd, the files whose needs LIST meets), importable as <module>/DIR/etcd.
  etcdkit-gen -release VERSION -keep LIST -go-out DIR -proto-out DIR [-check]
      writes the stubs only (this is what make gen runs in etcdkit's own module).
  etcdkit-gen version
      prints the generator's version.

The generated code registers private proto names derived from its Go import path, so
it links beside go.etcd.io/etcd/api/v3 and beside etcdkit's own gen/; the client stubs
call etcd's real method paths (/etcdserverpb.KV/Range). The output directories belong
to etcdkit-gen: a run replaces them whole (and refuses when they hold files it did not
write); -check writes nothing and fails if they differ from what it would write.
`

// run dispatches on the subcommand and returns the process exit code: 0 on success,
// 1 on a failed run or check, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "vendor":
			return generate(ctx, "etcdkit-gen vendor", args[1:], stderr)
		case "version":
			fmt.Fprintln(stdout, "etcdkit-gen", version.String())
			return 0
		}
	}
	return generate(ctx, "etcdkit-gen", args, stderr)
}

// generate parses the flags of a vendoring run (name "etcdkit-gen vendor") or a
// stubs-only run and carries it out.
func generate(ctx context.Context, name string, args []string, stderr io.Writer) int {
	vendor := name != "etcdkit-gen"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg stubgen.Config
	var bufCmd string
	fs.StringVar(&cfg.Release, "release", "", "etcd `version` to fetch with go mod download (go.etcd.io/etcd/api/v3, and server/v3 when etcd's server-side Lock or Election service is kept; package etcd's Mutex and Election need only KV, Lease and Watch); v3.5.0 or later")
	fs.StringVar(&cfg.SourceDir, "source", "", "etcd source tree `dir` to read instead of -release (3.4 and later layouts; files are found by path suffix)")
	fs.StringVar(&cfg.SourceName, "source-name", "etcd source tree", "`label` naming -source in the generated headers")
	fs.StringVar(&cfg.Keep, "keep", "", "comma-separated `list` of services (KV) and RPCs (Cluster.MemberList) to keep; required; \"default\" means the everyday kit, "+stubgen.DefaultKeep)
	fs.BoolVar(&cfg.Check, "check", false, "write nothing; fail with a list of differing files unless the output is exactly what this run would write")
	if vendor {
		fs.StringVar(&cfg.Into, "into", "", "`dir`ectory inside the module to vendor into; it belongs to etcdkit-gen as a whole")
	} else {
		fs.StringVar(&cfg.GoOut, "go-out", "", "`dir`ectory of the stub packages (<dir>/etcdserverpb, ...); it belongs to etcdkit-gen as a whole")
		fs.StringVar(&cfg.ProtoOut, "proto-out", "", "proto root `dir`ectory; trimmed files land at <import path of -go-out>/X/<file> below it")
		fs.StringVar(&bufCmd, "buf", "", "generate with this buf `command`, split at spaces (e.g. \"go tool -modfile=tools/go.mod buf\"), instead of in-process")
		fs.StringVar(&cfg.BufTemplate, "buf-template", "", "buf generation template `file` for -buf; empty means protoc-gen-go and protoc-gen-etcdkit-grpc from PATH")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText, "\nflags of ", name, ":\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "%s: %s\n", name, msg)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Sprintf("unexpected argument %q; it takes flags only", fs.Arg(0)))
	case (cfg.Release == "") == (cfg.SourceDir == ""):
		return usage("give exactly one of -release and -source")
	case strings.TrimSpace(cfg.Keep) == "":
		return usage("give a non-empty -keep list, such as KV,Watch,Lease")
	case vendor && cfg.Into == "":
		return usage("give the directory to vendor into with -into, such as internal/etcdkit")
	case !vendor && (cfg.GoOut == "" || cfg.ProtoOut == ""):
		return usage("give both -go-out and -proto-out (or use etcdkit-gen vendor)")
	}
	if cfg.Keep == "default" {
		cfg.Keep = stubgen.DefaultKeep
	}
	cfg.Buf = strings.Fields(bufCmd)
	cfg.Module = "."
	cfg.Log = func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s: %s\n", name, fmt.Sprintf(format, args...))
	}
	start := time.Now()
	res, err := stubgen.Generate(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	verb := "wrote"
	if cfg.Check {
		verb = "checked"
	}
	for i, d := range res.Dirs {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, d); err == nil {
				res.Dirs[i] = rel
			}
		}
	}
	fmt.Fprintf(stderr, "%s: %s: %d RPCs, %d top-level types; %s %d files in %s, %d of an earlier run removed (%.1fs)\n",
		name, res.Source, res.RPCs, res.Types, verb, res.Files, strings.Join(res.Dirs, ", "), len(res.Removed), time.Since(start).Seconds())
	return 0
}
