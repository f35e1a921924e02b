package etcd

import (
	"bytes"
	"flag"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateAPI = flag.Bool("update", false, "rewrite testdata/api/*.txt from the exported API")

// apiPackages are the packages whose exported API is frozen: directory, package name.
var apiPackages = []struct{ dir, name string }{{".", "etcd"}, {"etcdtls", "etcdtls"}, {"naming", "naming"}}

// TestAPIListing compares each package's exported API with testdata/api/NAME.txt, the frozen
// listing (one line per exported name, with its signature); any added, removed or changed line
// fails. `go test -run APIListing -update ./etcd` rewrites the listings, and CHANGELOG.md must
// name every change.
func TestAPIListing(t *testing.T) {
	for _, p := range apiPackages {
		t.Run(p.name, func(t *testing.T) {
			got := apiListing(t, p.dir, p.name)
			path := filepath.Join("testdata", "api", p.name+".txt")
			if *updateAPI {
				if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			for _, l := range want {
				if !slices.Contains(got, l) {
					t.Errorf("%s lists %q, which the package no longer has", path, l)
				}
			}
			for _, l := range got {
				if !slices.Contains(want, l) {
					t.Errorf("%s lacks %q (add it with -update and name it in CHANGELOG.md)", path, l)
				}
			}
		})
	}
}

// TestAPIChangelog checks that CHANGELOG.md's newest entry is Version and names, in
// backquotes, every identifier whose listing line changed since testdata/api/v0 (the listing
// before v1.0.0).
func TestAPIChangelog(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, entry, ok := strings.Cut(string(data), "\n## "+Version+"\n")
	if !ok {
		t.Fatalf("CHANGELOG.md has no entry %q", "## "+Version)
	}
	entry, _, _ = strings.Cut(entry, "\n## ")
	if before, _, _ := strings.Cut(string(data), "\n## "+Version+"\n"); strings.Contains(before, "\n## v") {
		t.Errorf("CHANGELOG.md's newest entry is not %s", Version)
	}
	for _, p := range apiPackages {
		old, err := os.ReadFile(filepath.Join("testdata", "api", "v0", p.name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		was := strings.Split(strings.TrimSuffix(string(old), "\n"), "\n")
		now := apiListing(t, p.dir, p.name)
		for _, l := range append(changed(was, now), changed(now, was)...) {
			if name := listedName(l); !strings.Contains(entry, "`"+name+"`") {
				t.Errorf("CHANGELOG.md's %s entry does not name `%s` (listing line %q changed)", Version, name, l)
			}
		}
	}
}

// changed returns the lines of a that b lacks.
func changed(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}

// listedName returns the identifier a listing line is about: the function, method, type,
// variable or constant it declares (a field's or method's type, not the member).
func listedName(line string) string {
	_, decl, _ := strings.Cut(line, ", ")
	kind, rest, _ := strings.Cut(decl, " ")
	if kind == "method" {
		_, rest, _ = strings.Cut(rest, ") ")
	}
	end := strings.IndexAny(rest, " ([,")
	if end < 0 {
		return rest
	}
	return rest[:end]
}

// TestAPIClientv3Table checks README.md's "From clientv3" table: every row names at least one
// Example, and every Example it names exists in etcd, etcdtls or naming.
func TestAPIClientv3Table(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## From clientv3\n")
	if !ok {
		t.Fatal(`README.md has no "## From clientv3" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	examples := map[string]bool{}
	for _, p := range apiPackages {
		for _, f := range parseDir(t, p.dir, "", true) {
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fn.Name.Name, "Example") {
					examples[fn.Name.Name] = true
				}
			}
		}
	}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		names := strings.FieldsFunc(cells[len(cells)-1], func(r rune) bool { return r == '`' || r == ',' || r == ' ' })
		found := 0
		for _, n := range names {
			if !strings.HasPrefix(n, "Example") {
				continue
			}
			found++
			if !examples[n] {
				t.Errorf("README row %q names %s, which no package defines", cells[0], n)
			}
		}
		if found == 0 {
			t.Errorf("README row %q names no example", cells[0])
		}
	}
	if rows < 40 {
		t.Errorf("the From clientv3 table has %d rows", rows)
	}
	t.Logf("From clientv3: %d rows, each backed by an example", rows)
}

// TestAPIDocumented fails on an exported identifier of a frozen package without a doc comment
// and on an exported function or method that no Example of its package calls (matched by name).
func TestAPIDocumented(t *testing.T) {
	for _, p := range apiPackages {
		t.Run(p.name, func(t *testing.T) {
			files := parseDir(t, p.dir, p.name, false)
			called := exampleCalls(t, p.dir)
			for _, f := range files {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						name := funcKey(d)
						if name == "" {
							continue
						}
						if d.Doc == nil {
							t.Errorf("%s: %s has no doc comment", p.name, name)
						}
						if !called[d.Name.Name] {
							t.Errorf("%s: no Example calls %s", p.name, name)
						}
					case *ast.GenDecl:
						for _, s := range d.Specs {
							for _, id := range specNames(s) {
								if id.IsExported() && d.Doc == nil && specDoc(s) == nil {
									t.Errorf("%s: %s has no doc comment", p.name, id.Name)
								}
								if ts, ok := s.(*ast.TypeSpec); ok && id.IsExported() {
									for _, f := range undocumentedFields(ts, d.Doc) {
										t.Errorf("%s: field %s.%s has no doc comment", p.name, id.Name, f)
									}
								}
							}
						}
					}
				}
			}
		})
	}
}

// undocumentedFields returns the exported fields and interface methods of a type that have
// neither a doc nor a line comment, nor a mention in the type's doc comment (declDoc, or the
// spec's own) or in the doc comment of a field above it.
func undocumentedFields(ts *ast.TypeSpec, declDoc *ast.CommentGroup) []string {
	typeDoc := declDoc.Text() + ts.Doc.Text()
	var list *ast.FieldList
	switch t := ts.Type.(type) {
	case *ast.StructType:
		list = t.Fields
	case *ast.InterfaceType:
		list = t.Methods
	default:
		return nil
	}
	var out []string
	groupDoc := "" // the last doc comment above a field, which may describe the fields below it
	for _, f := range list.List {
		if f.Doc != nil {
			groupDoc = f.Doc.Text()
		}
		for _, id := range f.Names {
			if id.IsExported() && f.Doc == nil && f.Comment == nil &&
				!strings.Contains(typeDoc, id.Name) && !strings.Contains(groupDoc, id.Name) {
				out = append(out, id.Name)
			}
		}
	}
	return out
}

// parseDir parses the package files of dir (test files when tests is set).
func parseDir(t *testing.T, dir, name string, tests bool) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") != tests {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if tests || f.Name.Name == name {
			files = append(files, f)
		}
	}
	return files
}

// exampleCalls returns every name that an Example function in dir's test files selects or
// calls.
func exampleCalls(t *testing.T, dir string) map[string]bool {
	t.Helper()
	called := map[string]bool{}
	for _, f := range parseDir(t, dir, "", true) {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fn.Name.Name, "Example") {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					called[n.Sel.Name] = true
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok {
						called[id.Name] = true
					}
				}
				return true
			})
		}
	}
	return called
}

// funcKey names an exported function or a method of an exported type ("(*Client) Get"), or
// returns "" for anything unexported.
func funcKey(d *ast.FuncDecl) string {
	if !d.Name.IsExported() {
		return ""
	}
	if d.Recv == nil {
		return d.Name.Name
	}
	recv := d.Recv.List[0].Type
	base := recv
	if star, ok := recv.(*ast.StarExpr); ok {
		base = star.X
	}
	if id, ok := base.(*ast.Ident); !ok || !id.IsExported() {
		return ""
	}
	return "(" + exprString(recv) + ") " + d.Name.Name
}

// specNames returns the names a type, const or var spec declares.
func specNames(s ast.Spec) []*ast.Ident {
	switch s := s.(type) {
	case *ast.TypeSpec:
		return []*ast.Ident{s.Name}
	case *ast.ValueSpec:
		return s.Names
	}
	return nil
}

// specDoc returns a spec's doc or line comment.
func specDoc(s ast.Spec) *ast.CommentGroup {
	switch s := s.(type) {
	case *ast.TypeSpec:
		return s.Doc
	case *ast.ValueSpec:
		if s.Doc != nil {
			return s.Doc
		}
		return s.Comment
	}
	return nil
}

// apiListing returns the sorted listing of dir's exported API, in the style of Go's
// api/go1.*.txt: "pkg NAME, func New(Config) (*Client, error)".
func apiListing(t *testing.T, dir, name string) []string {
	t.Helper()
	var lines []string
	add := func(format string) { lines = append(lines, "pkg "+name+", "+format) }
	for _, f := range parseDir(t, dir, name, false) {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				key := funcKey(d)
				if key == "" {
					continue
				}
				kind := "func "
				if d.Recv != nil {
					kind = "method "
				}
				add(kind + key + signature(d.Type))
			case *ast.GenDecl:
				var typ ast.Expr // a const group's type carries on to the specs that omit it
				for i, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							typeLines(add, s)
						}
					case *ast.ValueSpec:
						if s.Type != nil || len(s.Values) > 0 {
							typ = s.Type
						}
						for j, id := range s.Names {
							if !id.IsExported() {
								continue
							}
							switch {
							case typ != nil:
								add(d.Tok.String() + " " + id.Name + " " + exprString(typ))
							case len(s.Values) > j && i == 0 && d.Tok == token.CONST:
								add("const " + id.Name + " = " + exprString(s.Values[j]))
							default:
								add(d.Tok.String() + " " + id.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// typeLines adds a type's line and one line per exported field or interface method.
func typeLines(add func(string), s *ast.TypeSpec) {
	name := s.Name.Name
	switch st := s.Type.(type) {
	case *ast.StructType:
		add("type " + name + " struct")
		for _, fld := range st.Fields.List {
			for _, id := range fld.Names {
				if id.IsExported() {
					add("type " + name + " struct, " + id.Name + " " + exprString(fld.Type))
				}
			}
			if len(fld.Names) == 0 {
				add("type " + name + " struct, embedded " + exprString(fld.Type))
			}
		}
	case *ast.InterfaceType:
		add("type " + name + " interface")
		for _, m := range st.Methods.List {
			for _, id := range m.Names {
				if id.IsExported() {
					add("type " + name + " interface, " + id.Name + signature(m.Type.(*ast.FuncType)))
				} else {
					add("type " + name + " interface, unexported methods")
				}
			}
			if len(m.Names) == 0 {
				add("type " + name + " interface, embedded " + exprString(m.Type))
			}
		}
	default:
		eq := " "
		if s.Assign.IsValid() {
			eq = " = "
		}
		add("type " + name + eq + exprString(s.Type))
	}
}

// signature prints a function type's parameters and results without their names.
func signature(ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) []string {
		var out []string
		if fl == nil {
			return out
		}
		for _, f := range fl.List {
			n := max(len(f.Names), 1)
			for range n {
				out = append(out, exprString(f.Type))
			}
		}
		return out
	}
	sig := "(" + strings.Join(list(ft.Params), ", ") + ")"
	switch res := list(ft.Results); len(res) {
	case 0:
	case 1:
		sig += " " + res[0]
	default:
		sig += " (" + strings.Join(res, ", ") + ")"
	}
	return sig
}

// exprString prints an expression on one line.
func exprString(e ast.Expr) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, token.NewFileSet(), e); err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
