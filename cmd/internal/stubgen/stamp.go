package stubgen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/etcdkit/etcdkit/cmd/internal/version"
)

// stamp is what every written file says about the run that wrote it: the generator's
// version, the etcd release (or source tree) and the keep-list.
type stamp struct {
	generator string // etcdkit-gen's version: "v0.1.0", "(devel)"
	release   string // "go.etcd.io/etcd/api/v3@v3.7.3", or the source tree's label
	keep      string // the keep-list in canonical form
}

// newStamp returns the stamp of a run of this binary on a release with a parsed keep-list.
func newStamp(entries []keepEntry, release string) stamp {
	return stamp{generator: version.String(), release: release, keep: formatKeep(entries)}
}

// header returns the two comment lines that head a written file: who wrote it from
// which upstream file (origin, path in it, SHA-256 of its bytes), then the release and
// the keep-list.
func (s stamp) header(origin, path string, upstream []byte) string {
	sum := sha256.Sum256(upstream)
	return fmt.Sprintf("%s%s from %s file %s (sha256 %s). DO NOT EDIT.\n// etcd %s, keep-list %s\n",
		headerPrefix, s.generator, origin, path, hex.EncodeToString(sum[:]), s.release, s.keep)
}
