package stubgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// kitModule is etcdkit's own module. Output into it (or a module below its path) is
// refused, except for the run scripts/gen.sh makes: the stubs-only run into gen/ and proto/
// at its root.
const kitModule = "github.com/etcdkit/etcdkit"

// target is where a run writes: the module it writes into, and the directories it
// owns there (each replaced as a whole).
type target struct {
	modRoot string // absolute, symbolic links resolved
	modPath string // from modRoot's go.mod
	goBase  string // import path of the directory holding the stub packages
	protoIn string // slash path of the proto root inside its owned directory ("" or "proto")
	goIn    string // slash path of the stub packages inside their owned directory
	etcdIn  string // slash path of package etcd inside the owned directory; "" for stubs only
	dirs    []string
}

// resolveTarget checks where cfg writes and returns the target. Output directories must
// lie strictly inside the module rooted at cfg.Module (not in a module nested in it),
// must not overlap, and must not be in etcdkit's own module unless they are that
// module's gen/ and proto/.
func resolveTarget(cfg *Config) (*target, error) {
	if cfg.Module == "" {
		return nil, errors.New("no module directory given")
	}
	root, err := realPath(cfg.Module)
	if err != nil {
		return nil, err
	}
	modPath, err := readModulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("%w; run etcdkit-gen from the root of the module to write into", err)
	}
	t := &target{modRoot: root, modPath: modPath}
	own := modPath == kitModule || strings.HasPrefix(modPath, kitModule+"/")
	if cfg.Into != "" {
		if cfg.GoOut != "" || cfg.ProtoOut != "" {
			return nil, errors.New("give either a directory to vendor into or the Go and proto output directories, not both")
		}
		into, rel, err := t.inside(cfg.Into)
		if err != nil {
			return nil, err
		}
		if own {
			return nil, fmt.Errorf("refusing to vendor into %s, etcdkit's own module: vendor into your module", modPath)
		}
		t.dirs = []string{into}
		t.goBase = path.Join(modPath, rel, "gen")
		t.protoIn, t.goIn, t.etcdIn = "proto", "gen", "etcd"
		return t, nil
	}
	if cfg.GoOut == "" || cfg.ProtoOut == "" {
		return nil, errors.New("both the Go and the proto output directories are needed")
	}
	goOut, goRel, err := t.inside(cfg.GoOut)
	if err != nil {
		return nil, err
	}
	protoOut, protoRel, err := t.inside(cfg.ProtoOut)
	if err != nil {
		return nil, err
	}
	if within(goOut, protoOut) || within(protoOut, goOut) {
		return nil, fmt.Errorf("the Go output %s and the proto output %s overlap", goOut, protoOut)
	}
	if own && (modPath != kitModule || goRel != "gen" || protoRel != "proto") {
		return nil, fmt.Errorf("refusing to write into %s, etcdkit's own module: only its gen/ and proto/ (make gen) are generated there", modPath)
	}
	t.dirs = []string{protoOut, goOut}
	t.goBase = path.Join(modPath, goRel)
	return t, nil
}

// inside resolves an output directory against the module root and returns it with its
// slash path relative to the root. It must be strictly below the root, and no go.mod
// may stand between the two (that would make it another module's directory).
func (t *target) inside(dir string) (string, string, error) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(t.modRoot, dir)
	}
	abs, err := realPath(dir)
	if err != nil {
		return "", "", err
	}
	if !within(abs, t.modRoot) {
		return "", "", fmt.Errorf("refusing to write to %s: it is not inside module %s (%s)", dir, t.modPath, t.modRoot)
	}
	for d := abs; d != t.modRoot; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return "", "", fmt.Errorf("refusing to write to %s: %s holds another module's go.mod", dir, d)
		}
	}
	rel, err := filepath.Rel(t.modRoot, abs)
	if err != nil {
		return "", "", err
	}
	return abs, filepath.ToSlash(rel), nil
}

// within reports whether dir lies strictly below parent (both clean and absolute).
func within(dir, parent string) bool {
	return strings.HasPrefix(dir, parent+string(filepath.Separator))
}

// realPath returns p absolute, with the symbolic links of its longest existing prefix
// resolved, so that a link cannot lead output out of the module.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for dir := abs; ; dir = filepath.Dir(dir) {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return "", err
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
	}
}

// readModulePath returns the module path a go.mod file declares.
func readModulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no go.mod in %s", filepath.Dir(gomod))
		}
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		if len(fields) != 2 || fields[0] != "module" {
			continue
		}
		p := fields[1]
		if unq, err := strconv.Unquote(p); err == nil {
			p = unq
		}
		if _, err := NewNaming(p); err != nil {
			return "", fmt.Errorf("%s: %w", gomod, err)
		}
		return p, nil
	}
	return "", fmt.Errorf("%s has no module line", gomod)
}
