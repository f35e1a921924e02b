// Package kitsrc carries the sources of etcdkit's package etcd and its sub-packages (the
// non-test .go files of etcd/, etcd/etcdtls and etcd/naming) inside the generator, so that `etcdkit-gen vendor` can copy them wherever
// the generator was installed from. scripts/gen.sh writes the snapshot, etcd.txtar, and
// scripts/check-gen.sh fails when it differs from etcd/.
package kitsrc

import (
	_ "embed"
	"fmt"
	"strings"
)

// archive is the snapshot in txtar form: a comment, then "-- name --" lines, each
// followed by that file's content.
//
//go:embed etcd.txtar
var archive string

// File is one source file of package etcd.
type File struct {
	Name string // slash path below etcd/: "kv.go", "etcdtls/etcdtls.go"
	Data []byte
}

// Etcd returns the files of package etcd in the order of the snapshot (by name).
func Etcd() ([]File, error) { return parse(archive) }

// parse splits a txtar archive into its files; a "-- name --" line starts each.
func parse(text string) ([]File, error) {
	var files []File
	for _, line := range strings.SplitAfter(text, "\n") {
		if name, ok := marker(line); ok {
			files = append(files, File{Name: name})
			continue
		}
		if len(files) > 0 {
			f := &files[len(files)-1]
			f.Data = append(f.Data, line...)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("kitsrc: the snapshot of package etcd is empty; run make gen")
	}
	return files, nil
}

// marker reports whether line is a txtar file marker and returns the file name in it.
func marker(line string) (string, bool) {
	line = strings.TrimSuffix(line, "\n")
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < 7 {
		return "", false
	}
	return strings.TrimSpace(line[3 : len(line)-3]), true
}
