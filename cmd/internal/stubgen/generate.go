package stubgen

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile/linker"
)

// Config says what to generate and where. Exactly one of Release and SourceDir is set,
// and either Into or both GoOut and ProtoOut.
type Config struct {
	// Release is an etcd release on the Go module proxy, v3.5.0 or later ("v3.7.3").
	Release string
	// SourceDir is a directory holding an etcd source tree (any layout from 3.4 on).
	SourceDir string
	// SourceName labels SourceDir in the generated headers; empty means "etcd source tree".
	SourceName string
	// Keep is the keep-list: services ("KV") and RPCs ("Cluster.MemberList"), comma
	// separated. It must not be empty (DefaultKeep is the everyday kit).
	Keep string
	// Module is the root directory of the Go module written into (it holds go.mod, which
	// gives the import paths); relative output directories are resolved against it.
	Module string
	// Into, when set, makes the run vendor the kit: the trimmed protos, the stubs and
	// package etcd (the files whose needs the keep-list meets) go to Into/proto,
	// Into/gen and Into/etcd. Into belongs to the generator as a whole.
	Into string
	// GoOut is, for a stubs-only run, the directory of the stub packages (GoOut/etcdserverpb,
	// ...); it belongs to the generator as a whole.
	GoOut string
	// ProtoOut is, for a stubs-only run, the proto root the trimmed files are written
	// under, at <import path of GoOut>/X/; it belongs to the generator as a whole.
	ProtoOut string
	// Buf, when set, is a buf command line that generates the Go code instead of the
	// built-in protoc-gen-go and client generator, e.g. ["go", "tool",
	// "-modfile=tools/go.mod", "buf"]. Both give the same bytes.
	Buf []string
	// BufTemplate is a buf generation template (file or inline YAML/JSON) for Buf. Empty
	// means a built-in one running protoc-gen-go and protoc-gen-etcdkit-grpc from PATH
	// with module=<import path of the stubs>.
	BufTemplate string
	// Check, when set, writes nothing: the run fails with a *DiffError unless the
	// directories on disk hold exactly what it would write.
	Check bool
	// Log, when set, is told about the long steps (fetching a release).
	Log func(format string, args ...any)
}

// Result reports what a run produced.
type Result struct {
	Source  string   // where the protos came from
	Dirs    []string // the directories written (or checked)
	Files   int      // files written (or checked)
	Removed []string // files of earlier runs that this one no longer writes, relative to their directory
	RPCs    int      // kept RPCs
	Types   int      // kept top-level messages and enums
}

// validate fills in defaults and rejects inconsistent settings.
func (c *Config) validate() error {
	if (c.Release == "") == (c.SourceDir == "") {
		return fmt.Errorf("give exactly one of an etcd release and a source directory")
	}
	if c.SourceName == "" {
		c.SourceName = "etcd source tree"
	}
	if c.BufTemplate != "" && len(c.Buf) == 0 {
		return fmt.Errorf("a buf template needs a buf command")
	}
	if len(c.Buf) > 0 && c.Buf[0] == "" {
		return fmt.Errorf("the buf command is empty")
	}
	return nil
}

// logf passes a note about a long step to Log, if set.
func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// Generate runs the whole pipeline. Nothing is written unless every step, the wire
// check of the staged files included, succeeds; the owned directories are then
// replaced by renames, so a failure leaves the old trees whole.
func Generate(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tgt, err := resolveTarget(&cfg)
	if err != nil {
		return nil, err
	}
	naming, err := NewNaming(tgt.goBase)
	if err != nil {
		return nil, err
	}
	tr, err := trim(ctx, &cfg, naming)
	if err != nil {
		return nil, err
	}
	goFiles, err := generateGo(ctx, &cfg, tr, naming)
	if err != nil {
		return nil, err
	}
	if err := checkGoPaths(goFiles); err != nil {
		return nil, err
	}
	dirs, err := layout(tgt, tr, goFiles)
	if err != nil {
		return nil, err
	}
	res := &Result{Source: tr.source, RPCs: tr.rpcs, Types: tr.types}
	olds := make([]map[string][]byte, len(dirs))
	for i, o := range dirs {
		if olds[i], err = o.existing(); err != nil {
			return nil, err
		}
		res.Dirs = append(res.Dirs, o.dir)
		res.Files += len(o.files)
	}
	if cfg.Check {
		return res, checkDirs(dirs, olds, tr, naming, tgt)
	}
	staged := make([]string, len(dirs))
	defer func() {
		for _, s := range staged {
			if s != "" {
				os.RemoveAll(s)
			}
		}
	}()
	for i, o := range dirs {
		if staged[i], err = o.stage(); err != nil {
			return nil, err
		}
	}
	if err := checkOnDisk(ctx, staged[0], tgt.protoIn, tr, naming); err != nil {
		return nil, fmt.Errorf("the staged files: %w", err)
	}
	if err := swap(dirs, staged); err != nil {
		return nil, err
	}
	for i, o := range dirs {
		for _, d := range o.diff(olds[i]) {
			if p, ok := strings.CutPrefix(d, "extra   "); ok {
				res.Removed = append(res.Removed, p)
			}
		}
	}
	return res, nil
}

// checkGoPaths verifies that every generated Go file lies in a package directory of an
// upstream package ("etcdserverpb/rpc.pb.go"), naming the first stray one in path order.
func checkGoPaths(goFiles map[string][]byte) error {
	var pkgs []string
	for _, u := range upstreamFiles {
		pkgs = append(pkgs, u.pkg)
	}
	for _, p := range sortedKeys(goFiles) {
		dir, _ := path.Split(p)
		if !slices.Contains(pkgs, strings.TrimSuffix(dir, "/")) {
			return fmt.Errorf("generated file %s falls outside the package directories %s; does the buf template's module= option name the stubs' import path?", p, strings.Join(pkgs, ", "))
		}
	}
	return nil
}

// layout arranges a run's files in its owned directories: the protos first (the
// on-disk wire check reads them from the first directory), then the stubs, then
// package etcd when vendoring.
func layout(tgt *target, tr *trimmed, goFiles map[string][]byte) ([]*outputDir, error) {
	dirs := make([]*outputDir, len(tgt.dirs))
	for i, d := range tgt.dirs {
		dirs[i] = &outputDir{dir: d, files: map[string][]byte{}}
	}
	put := func(o *outputDir, sub string, files map[string][]byte) {
		for p, data := range files {
			o.files[path.Join(sub, p)] = data
		}
	}
	goDir := dirs[len(dirs)-1]
	put(dirs[0], tgt.protoIn, tr.files)
	put(goDir, tgt.goIn, goFiles)
	if tgt.etcdIn == "" {
		return dirs, nil
	}
	src, err := kitSources()
	if err != nil {
		return nil, err
	}
	etcd, err := etcdFiles(src, tr.kept, tgt.goBase, tr.stamp)
	if err != nil {
		return nil, err
	}
	put(goDir, tgt.etcdIn, etcd)
	return dirs, nil
}

// checkDirs compares the owned directories with what the run would write, and checks
// the protos on disk against upstream.
func checkDirs(dirs []*outputDir, olds []map[string][]byte, tr *trimmed, naming Naming, tgt *target) error {
	for i, o := range dirs {
		if d := o.diff(olds[i]); len(d) > 0 {
			return &DiffError{Dir: o.dir, Files: d}
		}
	}
	return checkOnDisk(context.Background(), dirs[0].dir, tgt.protoIn, tr, naming)
}

// trimmed is the outcome of the trimming stage: checked proto files by path, and what
// later stages need to know about them.
type trimmed struct {
	source   string            // where the protos came from
	files    map[string][]byte // trimmed files by path below the proto root
	order    []string          // their paths in dependency order
	compiled linker.Files      // the trimmed files compiled, in that order
	set      *upstreamSet      // the upstream files, linked
	sel      *selection        // what was kept of them
	kept     kept              // the kept RPCs and the release's services
	stamp    stamp             // what every written file says about the run
	rpcs     int               // kept RPCs
	types    int               // kept top-level messages and enums
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
		files, err = loadRelease(ctx, cfg.Release, needsServerModule(entries), cfg.logf)
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
	out := &trimmed{
		source: files["etcdserverpb"].origin, files: map[string][]byte{}, set: set, sel: sel,
		kept:  kept{methods: sel.methods, services: set.services()},
		stamp: newStamp(entries, files["etcdserverpb"].origin),
		rpcs:  len(methods), types: len(sel.types),
	}
	for _, u := range upstreamFiles {
		fd, ok := set.descs[u.pkg]
		if !ok || !sel.keepsFile(fd) {
			continue
		}
		text, err := trimFile(files[u.pkg], set.asts[u.pkg], sel, naming, sel.fileDeps(fd, set.byPkg), out.stamp)
		if err != nil {
			return nil, err
		}
		p := naming.ProtoPath(u.pkg, u.name)
		out.files[p] = text
		out.order = append(out.order, p)
	}
	if out.compiled, err = compileTrimmed(ctx, out.files, out.order); err != nil {
		return nil, err
	}
	if err := wireCheck(out.compiled, set, sel, naming); err != nil {
		return nil, err
	}
	return out, nil
}

// checkOnDisk compiles the trimmed files as they are on disk, below dir/sub, and
// compares them with upstream: what was written (or is about to be put in place) is
// checked, not only what was meant to be.
func checkOnDisk(ctx context.Context, dir, sub string, tr *trimmed, naming Naming) error {
	files := map[string][]byte{}
	for _, p := range tr.order {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sub), filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		files[p] = data
	}
	compiled, err := compileTrimmed(ctx, files, tr.order)
	if err != nil {
		return err
	}
	return wireCheck(compiled, tr.set, tr.sel, naming)
}

// generateGo makes the Go code of the trimmed files: in-process, or with buf when a
// buf command is configured (the trimmed protos are then staged in a temporary
// directory for it).
func generateGo(ctx context.Context, cfg *Config, tr *trimmed, naming Naming) (map[string][]byte, error) {
	if len(cfg.Buf) == 0 {
		return runPlugins(tr.compiled, naming.GoBase())
	}
	stage, err := os.MkdirTemp("", "etcdkit-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	protoDir := filepath.Join(stage, "proto")
	for p, data := range tr.files {
		full := filepath.Join(protoDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return nil, err
		}
	}
	return runBuf(ctx, cfg, naming.GoBase(), protoDir, filepath.Join(stage, "out"))
}
