//etcdkit:needs Maintenance.Snapshot

package etcd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// SnapshotInfo describes a snapshot written by Snapshot or SaveSnapshot.
type SnapshotInfo struct {
	// Size is the number of bytes written, the trailing checksum included.
	Size int64
	// Version is the storage version of the member that made the snapshot ("3.7.0"), which
	// tells which etcd can restore it (etcd 3.6 and later; empty from older servers).
	Version string
}

// Snapshot streams one member's backend database to w, as etcd sends it: the database
// followed by its sha256, which Snapshot checks; the file it makes is what `etcdutl snapshot
// restore` reads. On ErrSnapshotChecksum or any other error, what w received is not a
// snapshot. The stream lasts as long as the database takes to send: give ctx a deadline
// that allows for its size.
func (c *Client) Snapshot(ctx context.Context, endpoint string, w io.Writer) (SnapshotInfo, error) {
	conn, err := c.dialEndpoint("snapshot", endpoint)
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := etcdserverpb.NewMaintenanceClient(conn).Snapshot(ctx, &etcdserverpb.SnapshotRequest{})
	if err != nil {
		return SnapshotInfo{}, opError("snapshot", endpoint, err)
	}
	var (
		info SnapshotInfo
		sum  = sha256.New()
		tail []byte // the last sha256.Size bytes received, held back from the hash
	)
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return info, opError("snapshot", endpoint, err)
		}
		if info.Version == "" {
			// 3.6's field, read by name: stubs of older releases lack it.
			info.Version = getString(resp, "version")
		}
		tail = append(tail, resp.GetBlob()...)
		if n := len(tail) - sha256.Size; n > 0 {
			sum.Write(tail[:n])
			if _, err := w.Write(tail[:n]); err != nil {
				return info, &Error{Op: "snapshot", Key: endpoint, Err: err}
			}
			info.Size += int64(n)
			tail = append(tail[:0], tail[n:]...)
		}
	}
	if len(tail) != sha256.Size || !bytes.Equal(sum.Sum(nil), tail) {
		return info, &Error{Op: "snapshot", Key: endpoint, Err: ErrSnapshotChecksum}
	}
	if _, err := w.Write(tail); err != nil {
		return info, &Error{Op: "snapshot", Key: endpoint, Err: err}
	}
	info.Size += sha256.Size
	return info, nil
}

// SaveSnapshot writes one member's snapshot (see Snapshot) to the file path, through
// path+".part", which is synced to disk and renamed to path only once the checksum is
// verified: on any error no file is left at path+".part", and path is untouched.
func (c *Client) SaveSnapshot(ctx context.Context, endpoint, path string) (info SnapshotInfo, err error) {
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return info, &Error{Op: "snapshot", Key: endpoint, Err: err}
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(part)
		}
	}()
	if info, err = c.Snapshot(ctx, endpoint, f); err != nil {
		return info, err
	}
	if err := f.Sync(); err != nil {
		return info, &Error{Op: "snapshot", Key: endpoint, Err: fmt.Errorf("syncing %s: %w", part, err)}
	}
	if err := f.Close(); err != nil {
		return info, &Error{Op: "snapshot", Key: endpoint, Err: fmt.Errorf("closing %s: %w", part, err)}
	}
	if err := os.Rename(part, path); err != nil {
		return info, &Error{Op: "snapshot", Key: endpoint, Err: err}
	}
	return info, nil
}
