//etcdkit:needs Maintenance.Snapshot

package etcd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// boltMagic starts the meta page of a bbolt database, which an etcd snapshot is.
const boltMagic = 0xED0CDAED

// TestSaveSnapshot saves a member's snapshot and checks what etcdutl's restore checks: the
// sha256 trailer over the database, a bbolt file before it; then failures leave no file.
func TestSaveSnapshot(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	for i := range 50 {
		mustPut(t, c, fmt.Sprintf("s/%d", i), string(make([]byte, 1000)))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "snap.db")
	ep := cl.Endpoints()[0]
	// The snapshot names the storage version from its database, where a member writes it
	// shortly after it starts: a snapshot taken earlier has none, so take another.
	wantVersion := ""
	if versionAtLeast(cl.Version, 3, 6, 0) && hasField(&etcdserverpb.SnapshotResponse{}, "version") {
		major, minor, _ := strings.Cut(strings.TrimPrefix(cl.Version, "v"), ".")
		minor, _, _ = strings.Cut(minor, ".")
		wantVersion = major + "." + minor + ".0"
	}
	var info SnapshotInfo
	var err error
	for try := 0; try < 25; try++ {
		if info, err = c.SaveSnapshot(ctx, ep, path); err != nil {
			t.Fatalf("SaveSnapshot: %v", err)
		}
		if info.Version == wantVersion {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != info.Size || len(data)%512 != sha256.Size || info.Version != wantVersion {
		t.Fatalf("snapshot of %d bytes, info %+v; want a size that is 32 more than a multiple of 512, version %q", len(data), info, wantVersion)
	}
	db, trailer := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if sum := sha256.Sum256(db); !bytes.Equal(sum[:], trailer) {
		t.Fatal("the trailer is not the sha256 of the database")
	}
	if magic := binary.LittleEndian.Uint32(db[16:20]); magic != boltMagic {
		t.Fatalf("bbolt magic %x, want %x", magic, boltMagic)
	}
	if !bytes.Contains(db, []byte("s/49")) {
		t.Fatal("the snapshot lacks the last key written")
	}
	if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
		t.Fatalf("%s.part left behind: %v", path, err)
	}

	t.Run("a new cluster starts from it", func(t *testing.T) {
		etcdtest.RequireBinary(t, "etcdutl-snapshot", cl.Version)
		restored := etcdtest.StartCluster(t, etcdtest.Options{Version: cl.Version, Snapshot: path})
		rc := newClient(t, restored, Config{})
		res, err := rc.Range(ctx, Prefix("s/"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.KVs) != 50 {
			t.Fatalf("the restored cluster holds %d keys under s/, want 50", len(res.KVs))
		}
		for _, kv := range res.KVs {
			if len(kv.Value) != 1000 {
				t.Fatalf("%s: restored value of %d bytes, want 1000", kv.Key, len(kv.Value))
			}
		}
		if _, err := rc.Put(ctx, "s/after", "x"); err != nil {
			t.Fatalf("a write to the restored cluster: %v", err)
		}
	})
	t.Run("to a writer that fails", func(t *testing.T) {
		if _, err := c.Snapshot(ctx, ep, failingWriter{}); !errors.Is(err, errWriteFailed) {
			t.Fatalf("Snapshot into a failing writer = %v", err)
		}
	})
	t.Run("unreachable member", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		bad := filepath.Join(dir, "bad.db")
		if _, err := c.SaveSnapshot(short, "127.0.0.1:1", bad); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SaveSnapshot from a closed port = %v, want a deadline error", err)
		}
		for _, p := range []string{bad, bad + ".part"} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s exists after a failed save: %v", p, err)
			}
		}
	})
	t.Run("unwritable directory", func(t *testing.T) {
		if _, err := c.SaveSnapshot(ctx, ep, filepath.Join(dir, "missing", "snap.db")); err == nil {
			t.Fatal("SaveSnapshot into a missing directory succeeded")
		}
	})
}

var errWriteFailed = errors.New("write failed")

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWriteFailed }
