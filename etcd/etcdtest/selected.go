package etcdtest

import (
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ServerOptional reports whether a TestMain that could not start etcd (err) may still run its
// tests without one: only when err wraps ErrNoBinary, the environment variable CI is unset,
// -test.run is set, and every Test and Example function of the *_test.go files in the working
// directory that -test.run selects has one of the given name prefixes (tests that need no
// server, such as the API listing tests).
func ServerOptional(err error, prefixes ...string) bool {
	if !errors.Is(err, ErrNoBinary) || os.Getenv("CI") != "" {
		return false
	}
	if !flag.Parsed() {
		flag.Parse() // TestMain runs before testing parses its flags
	}
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return false
	}
	re, err := regexp.Compile(strings.Split(f.Value.String(), "/")[0])
	if err != nil {
		return false
	}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		return false
	}
	fset := token.NewFileSet()
	for _, name := range files {
		file, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return false
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !re.MatchString(fn.Name.Name) {
				continue
			}
			if name := fn.Name.Name; strings.HasPrefix(name, "Test") && name != "TestMain" ||
				strings.HasPrefix(name, "Example") {
				if !hasAnyPrefix(name, prefixes) {
					return false
				}
			}
		}
	}
	return true
}

// hasAnyPrefix reports whether s starts with one of prefixes.
func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
