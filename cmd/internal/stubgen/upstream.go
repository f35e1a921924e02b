package stubgen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile/ast"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/options"
	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// optionOnlyImports are imported by etcd's protos only for their custom options
// (gogoproto, grpc-gateway, openapiv2, versionpb). Trimmed files drop them.
var optionOnlyImports = []string{
	"gogoproto/gogo.proto",
	"google/api/annotations.proto",
	"google/api/http.proto",
	"protoc-gen-openapiv2/options/annotations.proto",
	"protoc-gen-openapiv2/options/openapiv2.proto",
	"versionpb/version.proto",
	"google/protobuf/descriptor.proto",
}

// isOptionOnlyImport reports whether imp is one of optionOnlyImports in any layout.
func isOptionOnlyImport(imp string) bool {
	for _, s := range optionOnlyImports {
		if imp == s || strings.HasSuffix(imp, "/"+s) {
			return true
		}
	}
	return false
}

// upstreamImport maps an import path of an upstream file to the known file it names
// ("etcd/api/mvccpb/kv.proto" and 3.4's "etcd/mvcc/mvccpb/kv.proto" both name mvccpb).
func upstreamImport(imp string) (upstreamFile, bool) {
	for _, u := range upstreamFiles {
		if imp == u.suffix() || strings.HasSuffix(imp, "/"+u.suffix()) {
			return u, true
		}
	}
	return upstreamFile{}, false
}

// upstreamSet is the loaded upstream files, parsed and linked as they are.
type upstreamSet struct {
	files map[string]*sourceFile           // by proto package
	asts  map[string]*ast.FileNode         // by proto package
	descs map[string]linker.File           // by proto package
	byPkg map[protoreflect.FullName]string // proto package of each top-level element
}

// linkUpstream parses every loaded file and links them into descriptors. Custom
// options are removed from the descriptors before linking (their definitions are not
// loaded; linking resolves types only) and the option-only imports go with them.
func linkUpstream(files map[string]*sourceFile) (*upstreamSet, error) {
	set := &upstreamSet{
		files: files,
		asts:  map[string]*ast.FileNode{},
		descs: map[string]linker.File{},
		byPkg: map[protoreflect.FullName]string{},
	}
	symbols := &linker.Symbols{}
	for _, u := range upstreamFiles {
		f := files[u.pkg]
		if f == nil {
			continue
		}
		handler := reporter.NewHandler(nil)
		node, err := parser.Parse(f.originPath(), bytes.NewReader(f.data), handler)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", f.originPath(), err)
		}
		res, err := parser.ResultFromAST(node, true, handler)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", f.originPath(), err)
		}
		fdp := res.FileDescriptorProto()
		if got := fdp.GetPackage(); got != u.pkg {
			return nil, fmt.Errorf("%s declares package %q, want %q", f.originPath(), got, u.pkg)
		}
		if err := rewriteUpstreamDeps(f, fdp, files); err != nil {
			return nil, err
		}
		fdp.Name = protoString(f.canonicalPath())
		stripCustomOptions(fdp)
		var deps linker.Files
		for _, d := range fdp.Dependency {
			imp, _ := upstreamImport(d)
			deps = append(deps, set.descs[imp.pkg])
		}
		linked, err := linker.Link(res, deps, symbols, handler)
		if err != nil {
			return nil, fmt.Errorf("linking %s: %w", f.originPath(), err)
		}
		// Only built-in options are left (json_name, deprecated, packed...): interpret
		// them so that the wire check can compare them.
		if _, err := options.InterpretOptionsLenient(linked); err != nil {
			return nil, fmt.Errorf("interpreting the options of %s: %w", f.originPath(), err)
		}
		set.asts[u.pkg] = node
		set.descs[u.pkg] = linked
		for i := 0; i < linked.Messages().Len(); i++ {
			set.byPkg[linked.Messages().Get(i).FullName()] = u.pkg
		}
		for i := 0; i < linked.Enums().Len(); i++ {
			set.byPkg[linked.Enums().Get(i).FullName()] = u.pkg
		}
	}
	return set, nil
}

// rewriteUpstreamDeps replaces the file's imports by the canonical paths of the known
// files and drops the option-only imports. Any other import is an error.
func rewriteUpstreamDeps(f *sourceFile, fdp *descriptorpb.FileDescriptorProto, files map[string]*sourceFile) error {
	if len(fdp.PublicDependency) > 0 || len(fdp.WeakDependency) > 0 {
		return fmt.Errorf("%s: public and weak imports are not supported", f.originPath())
	}
	var deps []string
	for _, d := range fdp.Dependency {
		if isOptionOnlyImport(d) {
			continue
		}
		u, ok := upstreamImport(d)
		if !ok {
			return fmt.Errorf("%s imports %q, which is neither an etcd proto nor an option-only import", f.originPath(), d)
		}
		if files[u.pkg] == nil {
			return fmt.Errorf("%s imports %q, which the source does not have", f.originPath(), d)
		}
		deps = append(deps, u.suffix())
	}
	fdp.Dependency = deps
	return nil
}

// protoString returns a pointer to s, for descriptor fields.
func protoString(s string) *string { return &s }

// stripCustomOptions removes every custom (extension) option from a file descriptor.
func stripCustomOptions(fdp *descriptorpb.FileDescriptorProto) {
	if o := fdp.Options; o != nil {
		o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
	}
	for _, m := range fdp.MessageType {
		stripMessageOptions(m)
	}
	for _, e := range fdp.EnumType {
		stripEnumOptions(e)
	}
	for _, s := range fdp.Service {
		if o := s.Options; o != nil {
			o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
		}
		for _, m := range s.Method {
			if o := m.Options; o != nil {
				o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
			}
		}
	}
}

// stripMessageOptions removes custom options from a message and everything in it.
func stripMessageOptions(m *descriptorpb.DescriptorProto) {
	if o := m.Options; o != nil {
		o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
	}
	for _, f := range m.Field {
		if o := f.Options; o != nil {
			o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
		}
	}
	for _, o := range m.OneofDecl {
		if o.Options != nil {
			o.Options.UninterpretedOption = builtinOnly(o.Options.UninterpretedOption)
		}
	}
	for _, n := range m.NestedType {
		stripMessageOptions(n)
	}
	for _, e := range m.EnumType {
		stripEnumOptions(e)
	}
}

// stripEnumOptions removes custom options from an enum and its values.
func stripEnumOptions(e *descriptorpb.EnumDescriptorProto) {
	if o := e.Options; o != nil {
		o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
	}
	for _, v := range e.Value {
		if o := v.Options; o != nil {
			o.UninterpretedOption = builtinOnly(o.UninterpretedOption)
		}
	}
}

// builtinOnly keeps the options whose name does not start with an extension.
func builtinOnly(opts []*descriptorpb.UninterpretedOption) []*descriptorpb.UninterpretedOption {
	var kept []*descriptorpb.UninterpretedOption
	for _, o := range opts {
		if len(o.Name) > 0 && o.Name[0].GetIsExtension() {
			continue
		}
		kept = append(kept, o)
	}
	return kept
}

// services returns every service of the set by name, with the package it lives in.
func (s *upstreamSet) services() map[string]protoreflect.ServiceDescriptor {
	out := map[string]protoreflect.ServiceDescriptor{}
	for _, d := range s.descs {
		for i := 0; i < d.Services().Len(); i++ {
			sd := d.Services().Get(i)
			out[string(sd.Name())] = sd
		}
	}
	return out
}
