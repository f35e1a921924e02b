package etcdtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// PinsFile is the file, relative to the repository root, that pins the etcd releases the
// tests run (ETCD_VERSION, ETCD_OLD_VERSION, ETCD_DEBIAN_VERSION), as the Makefile and the
// scripts read it.
const PinsFile = "scripts/pins.env"

// DefaultVersion returns the etcd release a cluster runs when neither Options.Version nor the
// environment variable named by VersionEnv says otherwise: ETCD_VERSION of PinsFile, found
// above the working directory; "" when there is none.
func DefaultVersion() string { return pin("ETCD_VERSION") }

// OldVersion returns the older release the tests also run (ETCD_OLD_VERSION of PinsFile).
func OldVersion() string { return pin("ETCD_OLD_VERSION") }

// DebianVersion returns the release of Debian's etcd-server package, the only 3.4 server the
// kit tests against (`scripts/etcd.sh debian`): ETCD_DEBIAN_VERSION of PinsFile.
func DebianVersion() string { return pin("ETCD_DEBIAN_VERSION") }

// VersionEnv names the environment variable that, when set, replaces DefaultVersion.
const VersionEnv = "ETCDKIT_ETCD_VERSION"

// CacheEnv names the environment variable that, when set, replaces the repository's .cache
// directory as the place where scripts/etcd.sh leaves its binaries (as etcd/VERSION/NAME).
const CacheEnv = "ETCDKIT_CACHE"

// module is the root module's path; its go.mod marks the repository's root.
const module = "github.com/etcdkit/etcdkit"

// ErrNoBinary is returned, wrapped, by BinaryPath when the requested binary has not been built.
var ErrNoBinary = errors.New("etcdtest: binary not built")

// Version returns the release a cluster runs when Options.Version is empty: the value of the
// environment variable named by VersionEnv, or else DefaultVersion.
func Version() string {
	if v := os.Getenv(VersionEnv); v != "" {
		return v
	}
	return DefaultVersion()
}

// pin returns the value of key in the repository's PinsFile, or "" when the file or the key
// is missing.
func pin(key string) string {
	root, err := repoRoot()
	if err != nil {
		return ""
	}
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(PinsFile)))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && k == key && !strings.HasPrefix(line, "#") {
			return v
		}
	}
	return ""
}

// repoRoot returns the first directory above the working directory that holds the go.mod
// of the root module.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRootModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("etcdtest: no go.mod of %s above %s", module, wd)
		}
	}
}

// etcdutlName is the program scripts/etcd.sh builds from etcdutl's snapshot command.
const etcdutlName = "etcdutl-snapshot"

// BinaryPath returns the path of the program name ("etcd", "etcdctl" or "etcdutl-snapshot")
// of the given release (Version() when empty), as built by scripts/etcd.sh: CACHE/etcd/VERSION/NAME, where CACHE is
// the value of the environment variable named by CacheEnv or else the .cache directory of the
// repository, found by walking up from the working directory to the directory that holds the
// go.mod of module github.com/etcdkit/etcdkit. The error wraps ErrNoBinary
// when the file is missing.
func BinaryPath(name, version string) (string, error) {
	if version == "" {
		version = Version()
	}
	if version == "" {
		return "", fmt.Errorf("%w: no etcd release named: set %s or run inside the repository, whose %s pins one", ErrNoBinary, VersionEnv, PinsFile)
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cache, "etcd", version, name)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return "", fmt.Errorf("%w: %s %s is not at %s; build it with `make etcd` or %s",
			ErrNoBinary, name, version, path, buildHint(name, version))
	}
	return path, nil
}

// RequireBinary is BinaryPath for tests: when the binary is missing it ends the test, with
// tb.Fatalf when the environment variable CI is set (CI must never pass silently) and with
// tb.Skipf otherwise, both saying how to build it.
func RequireBinary(tb testing.TB, name, version string) string {
	tb.Helper()
	path, err := BinaryPath(name, version)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%v", err)
		}
		tb.Skipf("%v", err)
	}
	return path
}

// buildHint names the scripts/etcd.sh command that builds the binary.
func buildHint(name, version string) string {
	switch {
	case name == "etcdctl":
		return "scripts/etcd.sh etcdctl " + version
	case name == etcdutlName:
		return "scripts/etcd.sh etcdutl " + version
	case version == DebianVersion():
		return "scripts/etcd.sh debian"
	default:
		return "scripts/etcd.sh server " + version
	}
}

// cacheDir finds the directory that scripts/etcd.sh fills.
func cacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %w; set %s", ErrNoBinary, err, CacheEnv)
	}
	return filepath.Join(root, ".cache"), nil
}

// isRootModule reports whether the go.mod file at path declares the kit's root module.
func isRootModule(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == module
		}
	}
	return false
}
