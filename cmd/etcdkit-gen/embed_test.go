package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/testbin"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// appMain is the program the embedding test builds in the throwaway module: it writes
// and reads back one key through the embedded stubs, and reads it again through
// etcdkit's own gen/, linked into the same binary.
const appMain = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"example.com/app/internal/etcdpb/etcdserverpb"
	kitpb "github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(endpoint string) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := etcdserverpb.NewKVClient(conn)
	if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("embed/a"), Value: []byte("1")}); err != nil {
		return err
	}
	resp, err := kv.Range(ctx, &etcdserverpb.RangeRequest{Key: []byte("embed/"), RangeEnd: []byte("embed0")})
	if err != nil {
		return err
	}
	for _, kv := range resp.Kvs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	fmt.Println("count", resp.Count)
	kit, err := kitpb.NewKVClient(conn).Range(ctx, &kitpb.RangeRequest{Key: []byte("embed/a")})
	if err != nil {
		return err
	}
	if len(kit.Kvs) != 1 {
		return fmt.Errorf("gen/ read %d keys", len(kit.Kvs))
	}
	fmt.Printf("kit %s=%s\n", kit.Kvs[0].Key, kit.Kvs[0].Value)
	return nil
}
`

// TestEmbedding generates KV stubs into a user's module (internal/etcdpb), builds a
// program on them that also links etcdkit's gen/, and runs it against a real etcd.
func TestEmbedding(t *testing.T) {
	cluster := etcdtest.StartCluster(t, etcdtest.Options{})
	mod := t.TempDir()
	if err := testbin.WriteModule(mod, "example.com/app"); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	args := []string{
		"-release", "v3.7.3", "-keep", "KV",
		"-go-package", "example.com/app/internal/etcdpb", "-go-module", "example.com/app",
		"-go-out", mod, "-proto-out", filepath.Join(mod, "proto"),
	}
	if code := run(context.Background(), args, &stderr); code != 0 {
		t.Fatalf("etcdkit-gen exited %d:\n%s", code, stderr.String())
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(appMain), 0o644); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(mod, "app")
	if _, err := testbin.Go(mod, "build", "-o", app, "."); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(app, cluster.Endpoints()[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("app: %v\n%s", err, out)
	}
	if got, want := string(out), "embed/a=1\ncount 1\nkit embed/a=1\n"; got != want {
		t.Fatalf("app printed %q, want %q", got, want)
	}
	proto, err := os.ReadFile(filepath.Join(mod, "proto", "example.com", "app", "internal", "etcdpb", "etcdserverpb", "rpc.proto"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(proto), "package example_com.app.internal.etcdpb.etcdserverpb;") {
		t.Errorf("rpc.proto does not use the private package:\n%.400s", proto)
	}
}
