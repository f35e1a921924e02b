package tools

import (
	"os"
	"strings"
	"testing"
)

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
// the root module (and so gen/) requires, and that buf stays on the last release that
// works here.
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
	if got := requirement(t, "go.mod", "github.com/bufbuild/buf"); got != "v1.73.0" {
		t.Errorf("buf %s, want v1.73.0: later releases are known not to work here", got)
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
