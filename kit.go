// Package etcdkit carries the sources of package etcd and its sub-packages etcd/etcdtls and
// etcd/naming, read live from this module, so that `etcdkit-gen vendor` copies exactly the
// package the module it was built with holds: an edit to etcd/ reaches the next vendor run
// with no other step. Programs that use etcd import github.com/etcdkit/etcdkit/etcd, not this.
package etcdkit

import (
	"embed"
	"io/fs"
)

// sources holds etcd/, etcd/etcdtls and etcd/naming; etcd/etcdtest, which starts servers for
// tests, is not part of the kit.
//
//go:embed etcd/*.go etcd/etcdtls/*.go etcd/naming/*.go
var sources embed.FS

// Sources returns the Go files of package etcd and of its sub-packages etcdtls and naming,
// tests included, as a file system rooted at etcd/ ("kv.go", "naming/register.go").
func Sources() fs.FS {
	sub, err := fs.Sub(sources, "etcd")
	if err != nil { // unreachable: "etcd" is a valid path
		return sources
	}
	return sub
}
