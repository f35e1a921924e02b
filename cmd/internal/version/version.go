// Package version names the build of etcdkit's generator and client plugin that is
// running, for the stamps they write into generated files.
package version

import "runtime/debug"

// module is the module that holds etcdkit-gen and protoc-gen-etcdkit-grpc.
const module = "github.com/etcdkit/etcdkit/cmd"

// String returns the version of module github.com/etcdkit/etcdkit/cmd linked into this
// binary: what `go install ...@version` or `go get -tool` resolved, or "(devel)" for a
// build from a checkout (scripts/gen.sh builds with -buildvcs=false so that its stamps
// do not change with every commit).
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if bi.Main.Path == module && bi.Main.Version != "" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module && d.Replace == nil && d.Version != "" {
			return d.Version
		}
	}
	return "(devel)"
}
