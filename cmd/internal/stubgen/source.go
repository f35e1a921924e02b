package stubgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Go modules that carry etcd's protos from v3.5.0 on.
const (
	apiModule    = "go.etcd.io/etcd/api/v3"
	serverModule = "go.etcd.io/etcd/server/v3"
)

// upstreamFile is one etcd proto file the generator knows how to trim.
type upstreamFile struct {
	pkg    string // upstream proto package, also the Go package name: "etcdserverpb"
	name   string // file name: "rpc.proto"
	module string // the Go module carrying it from v3.5 on
}

// suffix is the path tail that identifies the file in any etcd layout.
func (u upstreamFile) suffix() string { return u.pkg + "/" + u.name }

// upstreamFiles lists the files in dependency order: each file imports only earlier ones.
var upstreamFiles = []upstreamFile{
	{pkg: "mvccpb", name: "kv.proto", module: apiModule},
	{pkg: "authpb", name: "auth.proto", module: apiModule},
	{pkg: "etcdserverpb", name: "rpc.proto", module: apiModule},
	{pkg: "v3lockpb", name: "v3lock.proto", module: serverModule},
	{pkg: "v3electionpb", name: "v3election.proto", module: serverModule},
}

// serverServices are the services that live in the server module's files.
var serverServices = map[string]string{"Lock": "v3lockpb", "Election": "v3electionpb"}

// sourceFile is one upstream proto file as read from its origin.
type sourceFile struct {
	spec    upstreamFile
	origin  string // "go.etcd.io/etcd/api/v3@v3.7.3", or the source tree's name
	relPath string // slash path within the origin: "etcdserverpb/rpc.proto"
	data    []byte
}

// canonicalPath names the file while linking the upstream set: "<pkg>/<name>".
func (f *sourceFile) canonicalPath() string { return f.spec.suffix() }

// releasePattern matches the etcd release versions the proxy may have.
var releasePattern = regexp.MustCompile(`^v3\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$`)

// checkRelease validates a release name before anything is downloaded.
func checkRelease(release string) error {
	m := releasePattern.FindStringSubmatch(release)
	if m == nil {
		return fmt.Errorf("malformed etcd release %q: want a version like v3.7.3", release)
	}
	if minor, _ := strconv.Atoi(m[1]); minor < 5 {
		return fmt.Errorf("etcd release %s predates v3.5.0 and its protos are not in a Go module; pass an etcd source tree with -source instead", release)
	}
	return nil
}

// loadRelease downloads the modules of an etcd release that the wanted files live in
// and reads those files. needServer says whether the server module is needed; logf
// hears about each download.
func loadRelease(ctx context.Context, release string, needServer bool, logf func(string, ...any)) (map[string]*sourceFile, error) {
	if err := checkRelease(release); err != nil {
		return nil, err
	}
	modules := []string{apiModule}
	if needServer {
		modules = append(modules, serverModule)
	}
	files := map[string]*sourceFile{}
	for _, mod := range modules {
		logf("fetching %s@%s (go mod download)", mod, release)
		dir, err := downloadModule(ctx, mod, release)
		if err != nil {
			return nil, err
		}
		found, err := findProtos(dir)
		if err != nil {
			return nil, err
		}
		for pkg, f := range found {
			if f.spec.module == mod {
				f.origin = mod + "@" + release
				files[pkg] = f
			}
		}
	}
	if files["etcdserverpb"] == nil {
		return nil, fmt.Errorf("%s@%s has no etcdserverpb/rpc.proto", apiModule, release)
	}
	return files, nil
}

// downloadModule runs `go mod download -json` for mod@version and returns the
// directory of the extracted module in the module cache.
func downloadModule(ctx context.Context, mod, version string) (string, error) {
	tmp, err := os.MkdirTemp("", "etcdkit-gen-download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download %s@%s: %v: %s", mod, version, runErr, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("go mod download %s@%s: unreadable output: %v", mod, version, err)
	}
	if info.Error != "" {
		if isNotFound(info.Error) {
			return "", fmt.Errorf("etcd release %s not found on the Go module proxy (%s: %s)", version, mod, info.Error)
		}
		return "", fmt.Errorf("go mod download %s@%s: %s", mod, version, info.Error)
	}
	if runErr != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", mod, version, runErr, strings.TrimSpace(stderr.String()))
	}
	return info.Dir, nil
}

// isNotFound reports whether a go command error says the version does not exist.
func isNotFound(msg string) bool {
	for _, s := range []string{"unknown revision", "not found", "not available", "404", "403", "410", "invalid version", "no matching versions"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// skippedDirs are never searched for protos in a source tree.
var skippedDirs = map[string]bool{".git": true, "vendor": true, "testdata": true, "node_modules": true}

// findProtos walks dir and returns the known upstream files found in it, keyed by
// proto package. A file found at more than one place is an error.
func findProtos(dir string) (map[string]*sourceFile, error) {
	matches := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skippedDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".proto") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, u := range upstreamFiles {
			if rel == u.suffix() || strings.HasSuffix(rel, "/"+u.suffix()) {
				matches[u.pkg] = append(matches[u.pkg], rel)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("searching %s for etcd protos: %w", dir, err)
	}
	files := map[string]*sourceFile{}
	for _, u := range upstreamFiles {
		rels := matches[u.pkg]
		switch len(rels) {
		case 0:
			continue
		case 1:
		default:
			sort.Strings(rels)
			return nil, fmt.Errorf("%s holds %s more than once: %s", dir, u.suffix(), strings.Join(rels, ", "))
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rels[0])))
		if err != nil {
			return nil, err
		}
		files[u.pkg] = &sourceFile{spec: u, relPath: rels[0], data: data}
	}
	return files, nil
}

// loadTree reads the known upstream files from an etcd source tree. name labels the
// tree in the generated headers.
func loadTree(dir, name string) (map[string]*sourceFile, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("etcd source tree: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("etcd source tree %s is not a directory", dir)
	}
	files, err := findProtos(dir)
	if err != nil {
		return nil, err
	}
	if files["etcdserverpb"] == nil {
		return nil, fmt.Errorf("no etcd protos in %s: no etcdserverpb/rpc.proto below it", dir)
	}
	for _, f := range files {
		f.origin = name
	}
	return files, nil
}

// originPath names a source file in headers and messages: "origin/relPath".
func (f *sourceFile) originPath() string { return path.Join(f.origin, f.relPath) }
