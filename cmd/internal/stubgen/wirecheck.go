package stubgen

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// compileTrimmed fully compiles the trimmed files (options interpreted, comments kept
// for the generated code) and returns them in the order of paths.
func compileTrimmed(ctx context.Context, trimmed map[string][]byte, paths []string) (linker.Files, error) {
	sources := map[string]string{}
	for p, data := range trimmed {
		sources[p] = string(data)
	}
	c := protocompile.Compiler{
		SourceInfoMode: protocompile.SourceInfoStandard,
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(sources),
		}),
	}
	files, err := c.Compile(ctx, paths...)
	if err != nil {
		return nil, fmt.Errorf("compiling the trimmed protos: %w", err)
	}
	return files, nil
}

// wireCheck compares every message, enum and RPC of the compiled trimmed files with
// the upstream descriptors it came from, and checks that nothing selected is missing.
// The first difference is returned as an error naming the element.
func wireCheck(files linker.Files, set *upstreamSet, sel *selection, naming Naming) error {
	upstream := map[protoreflect.FullName]protoreflect.Descriptor{}
	for _, fd := range set.descs {
		indexDescriptors(fd.Messages(), fd.Enums(), upstream)
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				upstream[sd.Methods().Get(j).FullName()] = sd.Methods().Get(j)
			}
		}
	}
	w := &wire{naming: naming, upstream: upstream, seen: map[protoreflect.FullName]bool{}}
	for _, fd := range files {
		if err := w.checkFile(fd); err != nil {
			return fmt.Errorf("wire check: %w", err)
		}
	}
	for _, names := range []map[protoreflect.FullName]bool{sel.types, sel.methods} {
		var missing []string
		for n := range names {
			if !w.seen[n] {
				missing = append(missing, string(n))
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return fmt.Errorf("wire check: missing from the trimmed files: %s", strings.Join(missing, ", "))
		}
	}
	return nil
}

// indexDescriptors records messages and enums, nested ones included, by full name.
func indexDescriptors(msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors, into map[protoreflect.FullName]protoreflect.Descriptor) {
	for i := 0; i < enums.Len(); i++ {
		into[enums.Get(i).FullName()] = enums.Get(i)
	}
	for i := 0; i < msgs.Len(); i++ {
		m := msgs.Get(i)
		into[m.FullName()] = m
		indexDescriptors(m.Messages(), m.Enums(), into)
	}
}

// wire walks the trimmed descriptors and compares them with upstream.
type wire struct {
	naming   Naming
	upstream map[protoreflect.FullName]protoreflect.Descriptor
	seen     map[protoreflect.FullName]bool // upstream names found in the trimmed files
}

// upstreamName maps a trimmed full name back to upstream.
func (w *wire) upstreamName(n protoreflect.FullName) (protoreflect.FullName, error) {
	up, ok := w.naming.Upstream(string(n))
	if !ok {
		return "", fmt.Errorf("%s is outside the private prefix %s", n, w.naming.Prefix())
	}
	return protoreflect.FullName(up), nil
}

// lookup finds the upstream counterpart of a trimmed descriptor.
func (w *wire) lookup(d protoreflect.Descriptor) (protoreflect.Descriptor, protoreflect.FullName, error) {
	up, err := w.upstreamName(d.FullName())
	if err != nil {
		return nil, "", err
	}
	u, ok := w.upstream[up]
	if !ok {
		return nil, "", fmt.Errorf("%s does not exist upstream", up)
	}
	w.seen[up] = true
	return u, up, nil
}

// checkFile compares the messages, enums and RPCs of one trimmed file.
func (w *wire) checkFile(fd protoreflect.FileDescriptor) error {
	if err := w.checkTypes(fd.Messages(), fd.Enums()); err != nil {
		return err
	}
	for i := 0; i < fd.Services().Len(); i++ {
		sd := fd.Services().Get(i)
		for j := 0; j < sd.Methods().Len(); j++ {
			if err := w.checkMethod(sd.Methods().Get(j)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTypes compares a list of messages and enums, nested ones included.
func (w *wire) checkTypes(msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors) error {
	for i := 0; i < enums.Len(); i++ {
		if err := w.checkEnum(enums.Get(i)); err != nil {
			return err
		}
	}
	for i := 0; i < msgs.Len(); i++ {
		if err := w.checkMessage(msgs.Get(i)); err != nil {
			return err
		}
	}
	return nil
}

// checkEnum compares an enum's values, names and numbers in order.
func (w *wire) checkEnum(e protoreflect.EnumDescriptor) error {
	u, name, err := w.lookup(e)
	if err != nil {
		return err
	}
	ue, ok := u.(protoreflect.EnumDescriptor)
	if !ok {
		return fmt.Errorf("%s is an enum here but not upstream", name)
	}
	if e.Values().Len() != ue.Values().Len() {
		return fmt.Errorf("enum %s: %d values, upstream has %d", name, e.Values().Len(), ue.Values().Len())
	}
	if isDeprecated(e) != isDeprecated(ue) {
		return fmt.Errorf("enum %s: deprecated=%t, upstream %t", name, isDeprecated(e), isDeprecated(ue))
	}
	for i := 0; i < e.Values().Len(); i++ {
		v, uv := e.Values().Get(i), ue.Values().Get(i)
		if v.Name() != uv.Name() || v.Number() != uv.Number() || isDeprecated(v) != isDeprecated(uv) {
			return fmt.Errorf("enum %s: value %s = %d deprecated=%t, upstream %s = %d deprecated=%t",
				name, v.Name(), v.Number(), isDeprecated(v), uv.Name(), uv.Number(), isDeprecated(uv))
		}
	}
	return nil
}

// checkMessage compares a message's fields and nested types.
func (w *wire) checkMessage(m protoreflect.MessageDescriptor) error {
	u, name, err := w.lookup(m)
	if err != nil {
		return err
	}
	um, ok := u.(protoreflect.MessageDescriptor)
	if !ok {
		return fmt.Errorf("%s is a message here but not upstream", name)
	}
	if isDeprecated(m) != isDeprecated(um) {
		return fmt.Errorf("message %s: deprecated=%t, upstream %t", name, isDeprecated(m), isDeprecated(um))
	}
	if m.Fields().Len() != um.Fields().Len() {
		return fmt.Errorf("message %s: %d fields, upstream has %d", name, m.Fields().Len(), um.Fields().Len())
	}
	for i := 0; i < m.Fields().Len(); i++ {
		f := m.Fields().Get(i)
		uf := um.Fields().ByNumber(f.Number())
		if uf == nil {
			return fmt.Errorf("field %s.%s: number %d does not exist upstream", name, f.Name(), f.Number())
		}
		if got, want := w.fieldShape(f), fieldShape(uf, ""); got != want {
			return fmt.Errorf("field %s.%s: %s, upstream %s", name, f.Name(), got, want)
		}
	}
	if m.Messages().Len() != um.Messages().Len() || m.Enums().Len() != um.Enums().Len() {
		return fmt.Errorf("message %s: nested types differ from upstream", name)
	}
	return w.checkTypes(m.Messages(), m.Enums())
}

// fieldShape describes a trimmed field with its type names mapped back to upstream.
func (w *wire) fieldShape(f protoreflect.FieldDescriptor) string {
	return fieldShape(f, w.naming.Prefix()+".")
}

// fieldShape describes everything about a field that reaches the wire, JSON or the
// generated API: name, number, kind, cardinality, packing, oneof, map-ness, referenced
// type, JSON name and deprecation.
func fieldShape(f protoreflect.FieldDescriptor, strip string) string {
	typ := f.Kind().String()
	if f.Message() != nil {
		typ += " " + strings.TrimPrefix(string(f.Message().FullName()), strip)
	}
	if f.Enum() != nil {
		typ += " " + strings.TrimPrefix(string(f.Enum().FullName()), strip)
	}
	oneof := ""
	if o := f.ContainingOneof(); o != nil {
		oneof = string(o.Name())
		if o.IsSynthetic() {
			oneof += " (synthetic)"
		}
	}
	return fmt.Sprintf("%s = %d %s %s packed=%t map=%t oneof=%q json=%q deprecated=%t",
		f.Name(), f.Number(), f.Cardinality(), typ, f.IsPacked(), f.IsMap(), oneof, f.JSONName(), isDeprecated(f))
}

// checkMethod compares an RPC's path, input and output types and streaming shape.
func (w *wire) checkMethod(md protoreflect.MethodDescriptor) error {
	u, name, err := w.lookup(md)
	if err != nil {
		return err
	}
	um, ok := u.(protoreflect.MethodDescriptor)
	if !ok {
		return fmt.Errorf("%s is an RPC here but not upstream", name)
	}
	if got, want := methodPath(md), methodPath(um); got != want {
		return fmt.Errorf("rpc %s: method path %s, upstream %s", name, got, want)
	}
	strip := w.naming.Prefix() + "."
	got := fmt.Sprintf("(%s) returns (%s) client-stream=%t server-stream=%t deprecated=%t service-deprecated=%t",
		strings.TrimPrefix(string(md.Input().FullName()), strip), strings.TrimPrefix(string(md.Output().FullName()), strip),
		md.IsStreamingClient(), md.IsStreamingServer(), isDeprecated(md), isDeprecated(md.Parent()))
	want := fmt.Sprintf("(%s) returns (%s) client-stream=%t server-stream=%t deprecated=%t service-deprecated=%t",
		um.Input().FullName(), um.Output().FullName(), um.IsStreamingClient(), um.IsStreamingServer(), isDeprecated(um), isDeprecated(um.Parent()))
	if got != want {
		return fmt.Errorf("rpc %s: %s, upstream %s", name, got, want)
	}
	return nil
}

// methodPath is the gRPC path a client calls: "/" + the last element of the proto
// package + "." + service + "/" + method. The client plugin builds paths the same way.
func methodPath(md protoreflect.MethodDescriptor) string {
	pkg := string(md.ParentFile().Package())
	if i := strings.LastIndexByte(pkg, '.'); i >= 0 {
		pkg = pkg[i+1:]
	}
	return "/" + pkg + "." + string(md.Parent().Name()) + "/" + string(md.Name())
}

// isDeprecated reports whether a descriptor's options say deprecated = true.
func isDeprecated(d protoreflect.Descriptor) bool {
	switch o := d.Options().(type) {
	case *descriptorpb.MessageOptions:
		return o.GetDeprecated()
	case *descriptorpb.FieldOptions:
		return o.GetDeprecated()
	case *descriptorpb.EnumOptions:
		return o.GetDeprecated()
	case *descriptorpb.EnumValueOptions:
		return o.GetDeprecated()
	case *descriptorpb.ServiceOptions:
		return o.GetDeprecated()
	case *descriptorpb.MethodOptions:
		return o.GetDeprecated()
	}
	return false
}
