package stubgen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTrimProto feeds the generator's trimming stage an arbitrary rpc.proto beside the test
// tree's kv.proto and auth.proto, with keep-list "KV": parsing, linking, resolving the
// keep-list, trimming, compiling the result and the wire check must never panic, and what is
// accepted must trim the same way twice and keep no option import it is meant to drop. Seeds
// are the test tree's rpc.proto and testdata/fuzz/FuzzTrimProto.
func FuzzTrimProto(f *testing.F) {
	tree := filepath.Join("testdata", "tree", "api")
	seed, err := os.ReadFile(filepath.Join(tree, "etcdserverpb", "rpc.proto"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	deps := map[string][]byte{}
	for _, rel := range []string{"mvccpb/kv.proto", "authpb/auth.proto"} {
		data, err := os.ReadFile(filepath.Join(tree, filepath.FromSlash(rel)))
		if err != nil {
			f.Fatal(err)
		}
		deps[rel] = data
	}
	f.Fuzz(func(t *testing.T, rpc string) {
		dir := t.TempDir()
		files := map[string][]byte{"etcdserverpb/rpc.proto": []byte(rpc)}
		for rel, data := range deps {
			files[rel] = data
		}
		for rel, data := range files {
			p := filepath.Join(dir, "api", filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cfg := testConfig(t)
		cfg.SourceDir, cfg.SourceName, cfg.Keep = dir, "fuzz tree", "KV"
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		naming, err := NewNaming("example.com/app/pb")
		if err != nil {
			t.Fatal(err)
		}
		first, err := trim(context.Background(), &cfg, naming)
		if err != nil {
			return // refused: fine, as long as it did not panic
		}
		again, err := trim(context.Background(), &cfg, naming)
		if err != nil {
			t.Fatalf("accepted once, refused the second time: %v", err)
		}
		for p, data := range first.files {
			if !bytes.Equal(data, again.files[p]) {
				t.Fatalf("%s trimmed differently twice", p)
			}
			for _, dropped := range []string{"gogoproto/gogo.proto", "google/api/annotations.proto", "openapiv2"} {
				if bytes.Contains(data, []byte(`import "`+dropped)) {
					t.Fatalf("%s still imports %s:\n%s", p, dropped, data)
				}
			}
		}
	})
}
