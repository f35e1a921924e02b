package stubgen

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/etcdkit/etcdkit"
)

// kitFile is one non-test source file of package etcd or of its sub-packages.
type kitFile struct {
	Name string // slash path below etcd/: "kv.go", "etcdtls/etcdtls.go"
	Data []byte
}

// kitSources returns the non-test sources of package etcd and its sub-packages, read live
// from the root module the generator was built with (etcdkit.Sources), in name order.
func kitSources() ([]kitFile, error) {
	fsys := etcdkit.Sources()
	var files []kitFile
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		files = append(files, kitFile{Name: name, Data: data})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading package etcd's sources: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("package etcd's sources are empty")
	}
	return files, nil
}
