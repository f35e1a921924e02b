package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/testbin"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// appMain is the program the vendoring test builds in the throwaway module. Through the
// vendored package etcd it puts and gets a key, sees the put in a watch and takes and
// releases a session mutex; it makes a client for https:// endpoints with the vendored
// sub-package etcdtls (New refuses one without it); then it reads the key through
// etcdkit's own package etcd and through clientv3 3.7.3, all linked into the one binary.
const appMain = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	vendored "example.com/app/internal/etcdkit/etcd"
	"example.com/app/internal/etcdkit/etcd/etcdtls"
	kit "github.com/etcdkit/etcdkit/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := vendored.New(vendored.Config{Endpoints: []string{endpoint}})
	if err != nil {
		return err
	}
	defer c.Close()
	put, err := c.Put(ctx, "vendored/a", "1")
	if err != nil {
		return err
	}
	kv, err := c.Get(ctx, "vendored/a")
	if err != nil {
		return err
	}
	fmt.Printf("get %s=%s\n", kv.Key, kv.Value)
	for ev, err := range c.Watch(ctx, vendored.Prefix("vendored/"), vendored.FromRevision(put.Header.Revision)) {
		if err != nil {
			return err
		}
		fmt.Printf("watch %s %s=%s\n", ev.Type, ev.KV.Key, ev.KV.Value)
		break
	}
	sess, err := c.NewSession(ctx)
	if err != nil {
		return err
	}
	m := sess.NewMutex("vendored/lock")
	if err := m.Lock(ctx); err != nil {
		return err
	}
	if err := m.Unlock(ctx); err != nil {
		return err
	}
	fmt.Println("mutex locked and unlocked")
	if err := sess.Close(); err != nil {
		return err
	}
	secure := vendored.Config{Endpoints: []string{"https://127.0.0.1:1"}}
	if _, err := vendored.New(secure); err == nil {
		return fmt.Errorf("New took https:// endpoints without TLS")
	}
	secure.TLS = etcdtls.New(nil)
	tc, err := vendored.New(secure)
	if err != nil {
		return err
	}
	tc.Close()
	fmt.Println("https with etcdtls")

	k, err := kit.New(kit.Config{Endpoints: []string{endpoint}})
	if err != nil {
		return err
	}
	defer k.Close()
	kv2, err := k.Get(ctx, "vendored/a")
	if err != nil {
		return err
	}
	fmt.Printf("etcdkit %s=%s\n", kv2.Key, kv2.Value)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "vendored/a")
	if err != nil {
		return err
	}
	fmt.Printf("clientv3 %s=%s\n", resp.Kvs[0].Key, resp.Kvs[0].Value)
	return nil
}
`

// vendorKeep is the keep-list the vendoring test uses: a user's everyday copy, without the
// operator files.
const vendorKeep = "KV,Watch,Lease"

// runGen runs etcdkit-gen in dir and returns its exit code and output.
func runGen(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// TestVendor vendors v3.5.35 into a throwaway module, builds and vets a program there
// and runs it against a real etcd 3.5.35; then -check passes on the copy, and fails
// naming the file after one vendored file is edited.
func TestVendor(t *testing.T) {
	cluster := etcdtest.StartCluster(t, etcdtest.Options{Version: "v3.5.35"})
	mod := t.TempDir()
	if err := testbin.WriteModule(mod, "example.com/app", "tests/coexist"); err != nil {
		t.Fatal(err)
	}
	keep := vendorKeep
	args := []string{"vendor", "-release", "v3.5.35", "-keep", keep, "-into", "internal/etcdkit"}
	if code, out := runGen(t, mod, args...); code != 0 {
		t.Fatalf("etcdkit-gen exited %d:\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(appMain), 0o644); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(mod, "app")
	if _, err := testbin.Go(mod, "build", "-o", app, "."); err != nil {
		t.Fatal(err)
	}
	if _, err := testbin.Go(mod, "vet", "./internal/etcdkit/..."); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(app, cluster.Endpoints()[0]).Output()
	if err != nil {
		t.Fatalf("app: %v\n%s", err, out)
	}
	want := "get vendored/a=1\nwatch PUT vendored/a=1\nmutex locked and unlocked\nhttps with etcdtls\netcdkit vendored/a=1\nclientv3 vendored/a=1\n"
	if string(out) != want {
		t.Fatalf("app printed %q, want %q", out, want)
	}
	stampsName(t, filepath.Join(mod, "internal", "etcdkit"), keep)

	args = append(args, "-check")
	if code, out := runGen(t, mod, args...); code != 0 {
		t.Fatalf("-check on a fresh copy exited %d:\n%s", code, out)
	}
	edited := filepath.Join(mod, "internal", "etcdkit", "etcd", "kv.go")
	data, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edited, append(data, "// edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, msg := runGen(t, mod, args...)
	if code != 1 || !strings.Contains(msg, "changed etcd/kv.go") {
		t.Fatalf("-check after an edit exited %d, want 1 naming etcd/kv.go:\n%s", code, msg)
	}
	if after, _ := os.ReadFile(edited); !bytes.Equal(after, append(data, "// edited\n"...)) {
		t.Error("-check rewrote the edited file")
	}
}

// stampsName checks that every file below dir is stamped with the generator, the
// release, the keep-list and an upstream SHA-256.
func stampsName(t *testing.T, dir, keep string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		head := strings.SplitN(string(data), "\n", 3)
		if len(head) < 3 || !strings.HasPrefix(head[0], "// Code generated by etcdkit-gen (devel) from ") ||
			!strings.Contains(head[0], " (sha256 ") || head[1] != "// etcd go.etcd.io/etcd/api/v3@v3.5.35, keep-list "+keep {
			t.Errorf("%s is not stamped:\n%s\n%s", p, head[0], head[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVendorRefuses vendors KV into a module, then runs every unsafe command line
// against it and expects a clear error and the vendored tree untouched.
func TestVendorRefuses(t *testing.T) {
	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := []string{"vendor", "-release", "v3.7.3", "-keep", "KV", "-into", "internal/etcdkit"}
	if code, out := runGen(t, mod, good...); code != 0 {
		t.Fatalf("etcdkit-gen exited %d:\n%s", code, out)
	}
	into := filepath.Join(mod, "internal", "etcdkit")
	before := tree(t, mod)
	foreign := filepath.Join(into, "etcd", "mine.go")
	tests := []struct {
		name  string
		dir   string // where to run; "" is the module root
		args  []string
		setup func()
		code  int
		want  string
	}{
		{"outside the module", "", []string{"vendor", "-release", "v3.7.3", "-keep", "KV", "-into", "../elsewhere"}, nil, 1, "is not inside module example.com/app"},
		{"the module root", "", []string{"vendor", "-release", "v3.7.3", "-keep", "KV", "-into", "."}, nil, 1, "is not inside module example.com/app"},
		{"not at a module root", "internal", good, nil, 1, "no go.mod in"},
		{"empty keep-list", "", []string{"vendor", "-release", "v3.7.3", "-keep", "", "-into", "internal/etcdkit"}, nil, 2, "give a non-empty -keep list"},
		{"keep-list without KV", "", []string{"vendor", "-release", "v3.7.3", "-keep", "Watch", "-into", "internal/etcdkit"}, nil, 1, "package etcd needs every RPC of KV"},
		{"unknown release", "", []string{"vendor", "-release", "v3.9.9", "-keep", "KV", "-into", "internal/etcdkit"}, nil, 1, "etcd release v3.9.9 not found"},
		{"a file it did not write", "", good, func() {
			if err := os.WriteFile(foreign, []byte("package etcd\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 1, "mine.go was not generated by etcdkit-gen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
				defer os.Remove(foreign)
			}
			want := tree(t, mod)
			code, out := runGen(t, filepath.Join(mod, tc.dir), tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d; output:\n%s\nwant it to contain %q", code, tc.code, out, tc.want)
			}
			if got := tree(t, mod); got != want {
				t.Errorf("the module changed:\n%s\nwas:\n%s", got, want)
			}
		})
	}
	if got := tree(t, mod); got != before {
		t.Fatalf("the module changed:\n%s\nwas:\n%s", got, before)
	}
	// Narrowing the keep-list updates in place and removes what is no longer written.
	if code, out := runGen(t, mod, "vendor", "-release", "v3.7.3", "-keep", "KV.Range,KV.Put,KV.DeleteRange,KV.Txn,KV.Compact,KV.RangeStream", "-into", "internal/etcdkit"); code != 0 {
		t.Fatalf("re-run exited %d:\n%s", code, out)
	}
	if code, out := runGen(t, mod, append(good, "-check")...); code != 1 || !strings.Contains(out, "changed ") {
		t.Fatalf("-check against another keep-list exited %d:\n%s", code, out)
	}
}

// tree describes every file below dir with a hash of its content, for comparisons.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %x\n", strings.TrimPrefix(p, dir), sha256.Sum256(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
