package tools

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// pins reads scripts/pins.env.
func pins(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("../scripts/pins.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// requirement returns the version a go.mod file requires of module, or "".
func requirement(t *testing.T, gomod, module string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	return ""
}

// TestPins checks that protoc-gen-go here and protogen in cmd/ are the protobuf runtime
// the root module (and so gen/) requires, and that buf and staticcheck are the versions
// scripts/pins.env names.
func TestPins(t *testing.T) {
	const protobuf = "google.golang.org/protobuf"
	runtime := requirement(t, "../go.mod", protobuf)
	if runtime == "" {
		t.Fatal("the root go.mod does not require google.golang.org/protobuf")
	}
	for _, gomod := range []string{"go.mod", "../cmd/go.mod"} {
		if got := requirement(t, gomod, protobuf); got != runtime {
			t.Errorf("%s requires protobuf %s, the root module %s", gomod, got, runtime)
		}
	}
	p := pins(t)
	for module, key := range map[string]string{"github.com/bufbuild/buf": "TOOLS_BUF", "honnef.co/go/tools": "TOOLS_STATICCHECK"} {
		if got := requirement(t, "go.mod", module); got == "" || got != p[key] {
			t.Errorf("tools/go.mod requires %s %q; scripts/pins.env's %s is %q", module, got, key, p[key])
		}
	}
}

// TestWorkspacePin checks that cmd/go.work replaces exactly the version of the root
// module that cmd/go.mod requires: a bumped requirement without the workspace following
// would make local builds fetch an unpublished version.
func TestWorkspacePin(t *testing.T) {
	const root = "github.com/etcdkit/etcdkit"
	want := requirement(t, "../cmd/go.mod", root)
	data, err := os.ReadFile("../cmd/go.work")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "replace "+root+" "+want+" => ../\n") {
		t.Errorf("cmd/go.work does not replace %s %s (what cmd/go.mod requires) with the checkout", root, want)
	}
}

// pseudoVersion matches a pseudo-version's time and commit.
var pseudoVersion = regexp.MustCompile(`^v0\.0\.0-(\d{14})-([0-9a-f]{12})$`)

// TestCmdRequiresLatestRoot checks the release order: cmd/go.mod requires the root module at
// a pseudo-version of a commit of this repository (its time that commit's, so that
// `go install .../cmd/...@VERSION` resolves it), and that commit holds the root's last
// change to the code the CLI and the generator build on (etcd/, gen/, kit.go, go.mod).
// scripts/release-cmd.sh moves the requirement after such a change.
func TestCmdRequiresLatestRoot(t *testing.T) {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", ".."}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	if _, err := git("rev-parse", "--verify", "HEAD"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no git history to check cmd/go.mod against: %v", err)
		}
		t.Skipf("no git history to check cmd/go.mod against: %v", err)
	}
	const root = "github.com/etcdkit/etcdkit"
	req := requirement(t, "../cmd/go.mod", root)
	m := pseudoVersion.FindStringSubmatch(req)
	if m == nil {
		t.Fatalf("cmd/go.mod requires %s %q, not a pseudo-version v0.0.0-TIME-COMMIT", root, req)
	}
	commit, err := git("rev-parse", "--verify", "--quiet", m[2]+"^{commit}")
	if err != nil {
		t.Fatalf("cmd/go.mod requires %s at commit %s, which this repository does not have; run scripts/release-cmd.sh", root, m[2])
	}
	cmd := exec.Command("git", "-C", "..", "show", "-s", "--format=%cd", "--date=format-local:%Y%m%d%H%M%S", commit)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	when, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(when)) != m[1] {
		t.Errorf("cmd/go.mod's %s names time %s, but commit %s was made at %s (UTC); run scripts/release-cmd.sh", req, m[1], m[2], strings.TrimSpace(string(when)))
	}
	last, err := git("log", "-1", "--format=%H", "--", "etcd", "gen", "kit.go", "go.mod", "go.sum")
	if err != nil || last == "" {
		t.Fatalf("cannot find the root's last change: %v", err)
	}
	if _, err := git("merge-base", "--is-ancestor", last, commit); err != nil {
		t.Errorf("cmd/go.mod requires %s %s, which lags the root's last change to etcd/, gen/, kit.go or go.mod (%.12s); commit that change, then run scripts/release-cmd.sh and commit", root, req, last)
	}
}
