package stubgen

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/testbin"
)

// allServices keeps everything the generator knows, Lock and Election included.
const allServices = "KV,Watch,Lease,Cluster,Maintenance,Auth,Lock,Election"

// TestReleasesCompile generates every service of several releases into a throwaway
// module and builds and vets the result.
func TestReleasesCompile(t *testing.T) {
	for _, release := range []string{"v3.5.35", "v3.6.16", "v3.7.3"} {
		t.Run(release, func(t *testing.T) {
			compileAll(t, Config{Release: release})
		})
	}
}

// TestDebianTree generates from the etcd 3.4.23 sources Debian ships (its own layout:
// etcdserver/etcdserverpb, mvcc/mvccpb, auth/authpb). scripts/etcd.sh unpacks them; when
// that fails the test fails under CI and is skipped elsewhere.
func TestDebianTree(t *testing.T) {
	root, err := testbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "etcd.sh"), "debian-protos").Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("scripts/etcd.sh debian-protos: %v", err)
		}
		t.Skipf("Debian's etcd protos are not available (scripts/etcd.sh debian-protos: %v)", err)
	}
	dir := strings.TrimSpace(string(out))
	files := compileAll(t, Config{SourceDir: dir, SourceName: "debian 3.4.23"})
	rpc := files["etcdpb/etcdserverpb/rpc.proto"]
	if !strings.HasPrefix(rpc, headerPrefix+"(devel) from debian 3.4.23 file etcdserver/etcdserverpb/rpc.proto (sha256 ") {
		t.Errorf("rpc.proto header: %s", strings.SplitN(rpc, "\n", 2)[0])
	}
	if strings.Contains(rpc, "rpc AuthStatus") || strings.Contains(rpc, "bool linearizable") {
		t.Error("3.4's rpc.proto has neither Auth.AuthStatus nor MemberListRequest.linearizable")
	}
}

// compileAll generates allServices from the source in cfg into a module example.com/app
// (Go package example.com/app/etcdpb), runs go vet on it, and returns the proto files
// by path below example.com/app.
func compileAll(t *testing.T, cfg Config) map[string]string {
	t.Helper()
	mod := t.TempDir()
	if err := testbin.WriteModule(mod, "example.com/app", "."); err != nil {
		t.Fatal(err)
	}
	cfg.Keep = allServices
	cfg.Module, cfg.GoOut, cfg.ProtoOut = mod, filepath.Join(mod, "etcdpb"), filepath.Join(mod, "proto")
	res, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 18 {
		t.Errorf("%d files, want 5 protos, messages and codecs for 5 packages and clients for the 3 with services", res.Files)
	}
	if _, err := testbin.Go(mod, "vet", "./..."); err != nil {
		t.Fatal(err)
	}
	protos := map[string]string{}
	for p, data := range readTree(t, filepath.Join(cfg.ProtoOut, "example.com", "app")) {
		for _, banned := range []string{"gogoproto", "google.api", "google/api", "openapiv2", "versionpb"} {
			if strings.Contains(data, banned) {
				t.Errorf("%s still mentions %s", p, banned)
			}
		}
		protos[p] = data
	}
	return protos
}
