package stubgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config says what to generate and where. Exactly one of Release and SourceDir is set.
type Config struct {
	// Release is an etcd release on the Go module proxy, v3.5.0 or later ("v3.7.3").
	Release string
	// SourceDir is a directory holding an etcd source tree (any layout from 3.4 on).
	SourceDir string
	// SourceName labels SourceDir in the generated headers; empty means "etcd source tree".
	SourceName string
	// Keep is the keep-list: services ("KV") and RPCs ("Cluster.MemberList"), comma
	// separated. Empty means DefaultKeep.
	Keep string
	// GoPackage is the Go base import path; each upstream package X becomes GoPackage/X.
	GoPackage string
	// GoModule is the module path whose root is GoOut (buf's module= option). Empty
	// means GoPackage.
	GoModule string
	// GoOut is the directory of GoModule's root; Go files land in the package
	// directories below it.
	GoOut string
	// ProtoOut is the proto root the trimmed files are written under, at GoPackage/X/.
	ProtoOut string
	// Buf is the buf command line, e.g. ["go", "tool", "-modfile=tools/go.mod", "buf"].
	Buf []string
	// BufTemplate is a buf generation template (file or inline YAML/JSON). Empty means a
	// built-in one running protoc-gen-go and protoc-gen-etcdkit-grpc from PATH with
	// module=GoModule.
	BufTemplate string
}

// Result reports what a run produced.
type Result struct {
	Source     string   // where the protos came from
	ProtoFiles []string // written or unchanged, relative to ProtoOut
	GoFiles    []string // written or unchanged, relative to GoOut
	Removed    []string // stale files of earlier runs, relative to their output directory
	RPCs       int      // kept RPCs
	Types      int      // kept top-level messages and enums
}

// validate fills in defaults and rejects inconsistent settings.
func (c *Config) validate() (Naming, error) {
	if (c.Release == "") == (c.SourceDir == "") {
		return Naming{}, fmt.Errorf("give exactly one of an etcd release and a source directory")
	}
	if c.Keep == "" {
		c.Keep = DefaultKeep
	}
	if c.SourceName == "" {
		c.SourceName = "etcd source tree"
	}
	n, err := NewNaming(c.GoPackage)
	if err != nil {
		return Naming{}, err
	}
	if c.GoModule == "" {
		c.GoModule = c.GoPackage
	}
	if c.GoPackage != c.GoModule && !strings.HasPrefix(c.GoPackage, c.GoModule+"/") {
		return Naming{}, fmt.Errorf("Go package %s is not inside module %s", c.GoPackage, c.GoModule)
	}
	if c.GoOut == "" || c.ProtoOut == "" {
		return Naming{}, fmt.Errorf("both the Go and the proto output directories are needed")
	}
	if len(c.Buf) == 0 || c.Buf[0] == "" {
		return Naming{}, fmt.Errorf("the buf command is empty")
	}
	return n, nil
}

// Generate runs the whole pipeline. Nothing is written unless every step, the wire
// check included, succeeds.
func Generate(ctx context.Context, cfg Config) (*Result, error) {
	naming, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	tr, err := trim(ctx, &cfg, naming)
	if err != nil {
		return nil, err
	}
	goFiles, err := generateGo(ctx, &cfg, tr.files)
	if err != nil {
		return nil, err
	}
	trees := []*outputTree{
		protoTree(cfg.ProtoOut, naming, tr.files),
		goTree(cfg.GoOut, cfg.GoModule, naming, goFiles),
	}
	stale := make([][]string, len(trees))
	for i, t := range trees {
		if err := t.check(); err != nil {
			return nil, err
		}
		if stale[i], err = t.stale(); err != nil {
			return nil, err
		}
	}
	res := &Result{Source: tr.source, RPCs: tr.rpcs, Types: tr.types}
	for i, t := range trees {
		if err := t.sync(stale[i]); err != nil {
			return nil, err
		}
		res.Removed = append(res.Removed, stale[i]...)
	}
	res.ProtoFiles = sortedKeys(tr.files)
	res.GoFiles = sortedKeys(goFiles)
	return res, nil
}

// trimmed is the outcome of the trimming stage: checked proto files by path.
type trimmed struct {
	source string            // where the protos came from
	files  map[string][]byte // trimmed files by path below the proto root
	rpcs   int               // kept RPCs
	types  int               // kept top-level messages and enums
}

// trim loads the upstream files, trims them to the keep-list and checks the result
// against upstream.
func trim(ctx context.Context, cfg *Config, naming Naming) (*trimmed, error) {
	entries, err := parseKeep(cfg.Keep)
	if err != nil {
		return nil, err
	}
	var files map[string]*sourceFile
	if cfg.Release != "" {
		files, err = loadRelease(ctx, cfg.Release, needsServerModule(entries))
	} else {
		files, err = loadTree(cfg.SourceDir, cfg.SourceName)
	}
	if err != nil {
		return nil, err
	}
	set, err := linkUpstream(files)
	if err != nil {
		return nil, err
	}
	methods, err := resolveKeep(entries, set)
	if err != nil {
		return nil, err
	}
	sel := closure(methods)
	out := &trimmed{source: files["etcdserverpb"].origin, files: map[string][]byte{}, rpcs: len(methods), types: len(sel.types)}
	for _, u := range upstreamFiles {
		fd, ok := set.descs[u.pkg]
		if !ok || !sel.keepsFile(fd) {
			continue
		}
		text, err := trimFile(files[u.pkg], set.asts[u.pkg], sel, naming, sel.fileDeps(fd, set.byPkg))
		if err != nil {
			return nil, err
		}
		out.files[naming.ProtoPath(u.pkg, u.name)] = text
	}
	compiled, err := compileTrimmed(ctx, out.files)
	if err != nil {
		return nil, err
	}
	if err := wireCheck(compiled, set, sel, naming); err != nil {
		return nil, err
	}
	return out, nil
}

// generateGo stages the trimmed protos in a temporary directory and runs buf on them.
func generateGo(ctx context.Context, cfg *Config, trimmed map[string][]byte) (map[string][]byte, error) {
	stage, err := os.MkdirTemp("", "etcdkit-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	protoDir := filepath.Join(stage, "proto")
	for p, data := range trimmed {
		full := filepath.Join(protoDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return nil, err
		}
	}
	return runBuf(ctx, cfg, protoDir, filepath.Join(stage, "out"))
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
