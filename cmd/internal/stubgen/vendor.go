package stubgen

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"path"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// needsPrefix starts line 1 of each file of package etcd that needs more than KV:
// "//etcdkit:needs Lease,Watch" names services, or Service.RPC for single RPCs. A file
// without it needs KV only.
const needsPrefix = "//etcdkit:needs "

// kitGen is the import path prefix of etcdkit's own stub packages, rewritten in the
// vendored copy of package etcd.
const kitGen = kitModule + "/gen/"

// etcdOrigin names package etcd in the stamps of its vendored files.
const etcdOrigin = kitModule + "/etcd"

// kept is what a run keeps, to decide which files of package etcd it can copy.
type kept struct {
	methods  map[protoreflect.FullName]bool            // kept RPCs, upstream names
	services map[string]protoreflect.ServiceDescriptor // every service of the release
}

// meets reports whether the kept RPCs satisfy one need: a whole service (every RPC the
// release has in it) or a single RPC.
func (k kept) meets(need keepEntry) bool {
	sd, ok := k.services[need.service]
	if !ok {
		return false
	}
	if need.rpc != "" {
		md := sd.Methods().ByName(protoreflect.Name(need.rpc))
		return md != nil && k.methods[md.FullName()]
	}
	for i := 0; i < sd.Methods().Len(); i++ {
		if !k.methods[sd.Methods().Get(i).FullName()] {
			return false
		}
	}
	return true
}

// fileNeeds reads what a file of package etcd needs from its first line.
func fileNeeds(f kitFile) ([]keepEntry, error) {
	first, _, _ := bytes.Cut(f.Data, []byte("\n"))
	list, ok := strings.CutPrefix(string(first), needsPrefix)
	if !ok {
		return []keepEntry{{service: "KV"}}, nil
	}
	needs, err := parseKeep(list)
	if err != nil {
		return nil, fmt.Errorf("package etcd, %s: line 1: %w", f.Name, err)
	}
	return needs, nil
}

// etcdFiles returns the files of package etcd and of its sub-packages ("etcdtls/etcdtls.go")
// whose needs k meets, with their imports of etcdkit's stubs pointed at goBase, those of
// package etcd and its sub-packages at the copy beside goBase, and a stamp on top, by slash
// path. Package etcd cannot work without KV: a keep-list without all of it is an error.
func etcdFiles(src []kitFile, k kept, goBase string, st stamp) (map[string][]byte, error) {
	if !k.meets(keepEntry{service: "KV"}) {
		return nil, fmt.Errorf("package etcd needs every RPC of KV: put KV in the keep-list")
	}
	out := map[string][]byte{}
	for _, f := range src {
		needs, err := fileNeeds(f)
		if err != nil {
			return nil, err
		}
		met := true
		for _, n := range needs {
			met = met && k.meets(n)
		}
		if !met {
			continue
		}
		data, err := rewriteImports(f, goBase)
		if err != nil {
			return nil, err
		}
		out[f.Name] = append([]byte(st.header(etcdOrigin, f.Name, f.Data)+"\n"), data...)
	}
	return out, nil
}

// rewriteImports points a file's imports of etcdkit's stub packages at goBase, and its
// imports of package etcd and its sub-packages at the copy of etcd/ beside goBase. Any
// other import of etcdkit's module is an error: the vendored copy could not build.
func rewriteImports(f kitFile, goBase string) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, f.Name, f.Data, parser.ImportsOnly)
	if err != nil {
		return nil, fmt.Errorf("package etcd: %w", err)
	}
	var edits []edit
	for _, spec := range file.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("package etcd, %s: %w", f.Name, err)
		}
		switch {
		case strings.HasPrefix(p, kitGen):
			edits = append(edits, edit{
				fset.Position(spec.Path.Pos()).Offset, fset.Position(spec.Path.End()).Offset,
				strconv.Quote(goBase + "/" + strings.TrimPrefix(p, kitGen)),
			})
		case p == etcdOrigin || strings.HasPrefix(p, etcdOrigin+"/"):
			edits = append(edits, edit{
				fset.Position(spec.Path.Pos()).Offset, fset.Position(spec.Path.End()).Offset,
				strconv.Quote(path.Dir(goBase) + "/etcd" + strings.TrimPrefix(p, etcdOrigin)),
			})
		case p == kitModule || strings.HasPrefix(p, kitModule+"/"):
			return nil, fmt.Errorf("package etcd, %s imports %s, which vendoring does not copy", f.Name, p)
		}
	}
	return applyEdits(f.Data, edits)
}
