package stubgen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Naming derives the private proto names of the trimmed files from the Go import path
// they are generated for. For a base path B and an upstream proto package X
// (etcdserverpb, mvccpb, ...): the Go package is B/X, the proto file path is B/X/<file>,
// and the proto package is B's elements turned into identifiers and joined with dots,
// followed by X. Upstream references such as mvccpb.KeyValue keep resolving because
// every package shares the same prefix.
//
// Distinct import paths get distinct proto packages. Elements made of letters, digits
// and dots, starting with a letter, map one to one ('.' becomes '_'; such elements
// never contain '_'). Any other path ('-', '_', '~', '+', a leading digit) could meet
// another one after that mapping, so its prefix ends in one more element, '_' and 16
// hex digits of the path's SHA-256, which no element of the first kind can produce.
type Naming struct {
	goBase string
	prefix string
}

// NewNaming validates a Go base import path and returns its Naming.
func NewNaming(goBase string) (Naming, error) {
	if goBase == "" {
		return Naming{}, fmt.Errorf("the Go package path is empty")
	}
	elems := strings.Split(goBase, "/")
	idents := make([]string, 0, len(elems)+1)
	lossy := false
	for _, e := range elems {
		if e == "" || e == "." || e == ".." {
			return Naming{}, fmt.Errorf("the Go package path %q has an empty, . or .. element", goBase)
		}
		for _, r := range e {
			if !isPathRune(r) {
				return Naming{}, fmt.Errorf("the Go package path %q has an invalid character %q", goBase, r)
			}
		}
		lossy = lossy || strings.ContainsAny(e, "-_~+") || !isLetter(rune(e[0]))
		idents = append(idents, protoIdent(e))
	}
	if lossy {
		sum := sha256.Sum256([]byte(goBase))
		idents = append(idents, "_"+hex.EncodeToString(sum[:8]))
	}
	return Naming{goBase: goBase, prefix: strings.Join(idents, ".")}, nil
}

// isLetter reports whether r is an ASCII letter.
func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

// isPathRune reports whether r may appear in a Go import path element.
func isPathRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("-._~+", r)
}

// protoIdent turns one import path element into a proto identifier: characters other
// than letters, digits and '_' become '_', and a leading digit gets a '_' in front.
func protoIdent(elem string) string {
	var b strings.Builder
	for i, r := range elem {
		if i == 0 && '0' <= r && r <= '9' {
			b.WriteByte('_')
		}
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// GoBase returns the Go base import path.
func (n Naming) GoBase() string { return n.goBase }

// Prefix returns the proto package prefix shared by every trimmed package.
func (n Naming) Prefix() string { return n.prefix }

// ProtoPackage returns the private proto package for upstream package pkg.
func (n Naming) ProtoPackage(pkg string) string { return n.prefix + "." + pkg }

// ProtoPath returns the trimmed file's path relative to the proto root.
func (n Naming) ProtoPath(pkg, file string) string { return n.goBase + "/" + pkg + "/" + file }

// GoPackage returns the Go import path of upstream package pkg.
func (n Naming) GoPackage(pkg string) string { return n.goBase + "/" + pkg }

// Upstream maps a full name in a trimmed package back to its upstream full name, and
// reports whether it lay under the prefix at all.
func (n Naming) Upstream(fullName string) (string, bool) {
	return strings.CutPrefix(fullName, n.prefix+".")
}
