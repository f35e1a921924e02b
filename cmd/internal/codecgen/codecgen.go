// Package codecgen writes a reflection-free codec for every message of a proto file,
// beside protoc-gen-go's structs: SizeKit, AppendKit, MarshalKit, UnmarshalKit, MergeKit
// and DecodeKit, giving the bytes proto.Marshal gives (plain fields by number, then
// oneofs, then unknown fields) and decoding what proto.Unmarshal decodes, unknown fields kept.
// UnmarshalKit copies the bytes fields of a message and of those nested in it into one
// allocation, and the messages of a repeated field share one allocation. protoc-gen-etcdkit-codec runs it as a protoc plugin; etcdkit-gen
// runs it in-process.
package codecgen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/etcdkit/etcdkit/cmd/internal/version"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// recursionLimit is how deeply messages may nest in what UnmarshalKit and MergeKit
// decode: proto.Unmarshal's default.
const recursionLimit = 10000

// Packages the generated code refers to.
const (
	wirePkg   = protogen.GoImportPath("google.golang.org/protobuf/encoding/protowire")
	utf8Pkg   = protogen.GoImportPath("unicode/utf8")
	errorsPkg = protogen.GoImportPath("errors")
	slicesPkg = protogen.GoImportPath("slices")
)

// GenerateFile writes <file>_codec.pb.go with the codec methods of every message of f,
// headed like protoc-gen-go's output. Files without messages get nothing, and so do
// files with a construct the codec does not handle (see unsupported): package etcd
// encodes their messages with gRPC's protobuf codec.
func GenerateFile(gen *protogen.Plugin, f *protogen.File) {
	msgs := allMessages(f.Messages)
	if len(msgs) == 0 || unsupported(f.Desc, map[string]bool{}) != nil {
		return
	}
	g := gen.NewGeneratedFile(f.GeneratedFilenamePrefix+"_codec.pb.go", f.GoImportPath)
	version.WriteHeader(g, f, "protoc-gen-etcdkit-codec")
	// The list helpers are named after the file, as protoc-gen-go names its per-file
	// variables, so that two files of one package each have their own.
	prefix := "file_" + strings.TrimPrefix(f.GoDescriptorIdent.GoName, "File_") + "_"
	lists := false
	for _, m := range msgs {
		c := &codec{g: g, m: m, fields: slices.Clone(m.Fields), prefix: prefix}
		slices.SortStableFunc(c.fields, marshalOrder)
		c.size()
		c.appendTo()
		c.marshal()
		c.unmarshal()
		c.merge()
		lists = lists || len(c.repeatedMessages()) > 0
	}
	if lists {
		writePresets(g, prefix)
	}
}

// writePresets writes the helpers DecodeKit finds a list's preset elements and counts its
// elements with.
func writePresets(g *protogen.GeneratedFile, prefix string) {
	w := func(name string) string { return g.QualifiedGoIdent(wirePkg.Ident(name)) }
	g.P()
	g.P("// ", prefix, "preset returns the message set in list just past its length, or nil.")
	g.P("func ", prefix, "preset[T any](list []*T) *T {")
	g.P("if n := len(list); n < cap(list) {")
	g.P("return list[:n+1][n]")
	g.P("}")
	g.P("return nil")
	g.P("}")
	g.P()
	g.P("// ", prefix, "count counts the length-delimited values of field num in b, up to")
	g.P("// the end or to the first malformed field.")
	g.P("func ", prefix, "count(b []byte, num ", w("Number"), ") int {")
	g.P("k := 0")
	g.P("for len(b) > 0 {")
	g.P("n, typ, l := ", w("ConsumeTag"), "(b)")
	g.P("if l < 0 {")
	g.P("break")
	g.P("}")
	g.P("b = b[l:]")
	g.P("if l = ", w("ConsumeFieldValue"), "(n, typ, b); l < 0 {")
	g.P("break")
	g.P("}")
	g.P("b = b[l:]")
	g.P("if n == num && typ == ", w("BytesType"), " {")
	g.P("k++")
	g.P("}")
	g.P("}")
	g.P("return k")
	g.P("}")
}

// marshalOrder is the order proto.Marshal writes fields in: plain fields by number, then
// the fields of each oneof, oneofs in declaration order, by number within each.
func marshalOrder(a, b *protogen.Field) int {
	oneofIndex := func(f *protogen.Field) int {
		if f.Oneof == nil {
			return -1
		}
		return f.Oneof.Desc.Index()
	}
	if d := oneofIndex(a) - oneofIndex(b); d != 0 {
		return d
	}
	return int(a.Desc.Number() - b.Desc.Number())
}

// allMessages lists messages and the messages nested in them, depth first.
func allMessages(msgs []*protogen.Message) []*protogen.Message {
	var out []*protogen.Message
	for _, m := range msgs {
		out = append(out, m)
		out = append(out, allMessages(m.Messages)...)
	}
	return out
}

// unsupported returns an error naming the first construct the codec does not handle in
// fd or in a file whose messages fd's contain: proto2, map fields, proto3 optional, or
// kinds etcd's protos do not use. (buf runs the plugin once per directory, so those
// files are generated in other runs; etcdkit-gen generates all of them.)
func unsupported(fd protoreflect.FileDescriptor, seen map[string]bool) error {
	if seen[fd.Path()] {
		return nil
	}
	seen[fd.Path()] = true
	if fd.Syntax() != protoreflect.Proto3 {
		return fmt.Errorf("codec: %s: only proto3 files are supported", fd.Path())
	}
	var check func(protoreflect.MessageDescriptors) error
	check = func(msgs protoreflect.MessageDescriptors) error {
		for i := 0; i < msgs.Len(); i++ {
			fields := msgs.Get(i).Fields()
			for j := 0; j < fields.Len(); j++ {
				d := fields.Get(j)
				switch {
				case d.IsMap():
					return fmt.Errorf("codec: %s: map fields are not supported", d.FullName())
				case d.HasOptionalKeyword():
					return fmt.Errorf("codec: %s: optional fields are not supported", d.FullName())
				case !kinds[d.Kind()]:
					return fmt.Errorf("codec: %s: %s fields are not supported", d.FullName(), d.Kind())
				case d.Message() != nil:
					if err := unsupported(d.Message().ParentFile(), seen); err != nil {
						return err
					}
				}
			}
			if err := check(msgs.Get(i).Messages()); err != nil {
				return err
			}
		}
		return nil
	}
	return check(fd.Messages())
}

// codec writes the methods of one message.
type codec struct {
	g      *protogen.GeneratedFile
	m      *protogen.Message
	fields []*protogen.Field // in marshalOrder
	prefix string            // the prefix of the file's list helpers (writePresets)
}

// P writes a line of the generated file.
func (c *codec) P(v ...any) { c.g.P(v...) }

// w names a protowire identifier.
func (c *codec) w(name string) string { return c.g.QualifiedGoIdent(wirePkg.Ident(name)) }

// scalar is how a scalar kind is written and read: all are varints.
type scalar struct {
	enc  string // format turning a Go value into the uint64 written
	dec  string // format turning the uint64 read into the Go value
	zero string // format of the test that a value is not the default
}

// scalarOf describes a scalar field's kind; unsupported has checked that it is one of these.
func (c *codec) scalarOf(fd *protogen.Field) scalar {
	switch fd.Desc.Kind() {
	case protoreflect.BoolKind:
		return scalar{c.w("EncodeBool") + "(%s)", "%s != 0", "%s"}
	case protoreflect.EnumKind:
		return scalar{"uint64(%s)", c.g.QualifiedGoIdent(fd.Enum.GoIdent) + "(%s)", "%s != 0"}
	case protoreflect.Int32Kind:
		return scalar{"uint64(%s)", "int32(%s)", "%s != 0"}
	case protoreflect.Int64Kind:
		return scalar{"uint64(%s)", "int64(%s)", "%s != 0"}
	case protoreflect.Uint32Kind:
		return scalar{"uint64(%s)", "uint32(%s)", "%s != 0"}
	}
	return scalar{"%s", "%s", "%s != 0"} // uint64
}

// kinds are the field kinds the codec handles: those etcd's protos use.
var kinds = map[protoreflect.Kind]bool{
	protoreflect.BoolKind: true, protoreflect.EnumKind: true, protoreflect.Int32Kind: true,
	protoreflect.Int64Kind: true, protoreflect.Uint32Kind: true, protoreflect.Uint64Kind: true,
	protoreflect.StringKind: true, protoreflect.BytesKind: true, protoreflect.MessageKind: true,
}

// isScalar reports whether a field is neither a string, bytes nor a message.
func isScalar(fd *protogen.Field) bool {
	switch fd.Desc.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return false
	}
	return true
}

// tag returns a field's encoded tag as Go byte literals and its length.
func tag(fd *protogen.Field, typ protowire.Type) (string, int) {
	b := protowire.AppendTag(nil, fd.Desc.Number(), typ)
	lits := make([]string, len(b))
	for i, x := range b {
		lits[i] = fmt.Sprintf("0x%02x", x)
	}
	return strings.Join(lits, ", "), len(b)
}

// valueTag is the tag of one value of a field: a varint for scalars, else bytes.
func valueTag(fd *protogen.Field) (string, int) {
	if isScalar(fd) {
		return tag(fd, protowire.VarintType)
	}
	return tag(fd, protowire.BytesType)
}

// packed reports whether a field is written as one packed run.
func packed(fd *protogen.Field) bool { return fd.Desc.IsList() && fd.Desc.IsPacked() }

// access calls body with the Go expression of a field's value, inside a check that a
// oneof holds the field's case; plain fields have no such check.
func (c *codec) access(fd *protogen.Field, body func(v string)) {
	if fd.Oneof == nil {
		body("m." + fd.GoName)
		return
	}
	c.P("if x, ok := m.", fd.Oneof.GoName, ".(*", c.g.QualifiedGoIdent(fd.GoIdent), "); ok {")
	body("x." + fd.GoName)
	c.P("}")
}

// scalarSize is the expression of a scalar value's encoded size, tag excluded.
func (c *codec) scalarSize(fd *protogen.Field, v string) string {
	return c.w("SizeVarint") + "(" + fmt.Sprintf(c.scalarOf(fd).enc, v) + ")"
}

// scalarAppend is the statement appending a scalar value to b, tag excluded.
func (c *codec) scalarAppend(fd *protogen.Field, v string) string {
	return "b = " + c.w("AppendVarint") + "(b, " + fmt.Sprintf(c.scalarOf(fd).enc, v) + ")"
}

// size writes SizeKit.
func (c *codec) size() {
	name := c.m.GoIdent.GoName
	c.P()
	c.P("// SizeKit returns the size of m's encoding, as proto.Size does.")
	c.P("func (m *", name, ") SizeKit() int {")
	c.P("if m == nil {")
	c.P("return 0")
	c.P("}")
	c.P("n := 0")
	for _, fd := range c.fields {
		_, tl := valueTag(fd)
		c.access(fd, func(v string) {
			switch {
			case packed(fd):
				c.P("if len(", v, ") > 0 {")
				c.P("k := 0")
				c.P("for _, e := range ", v, " {")
				c.P("k += ", c.scalarSize(fd, "e"))
				c.P("}")
				c.P("n += ", tl, " + ", c.w("SizeBytes"), "(k)")
				c.P("}")
			case fd.Desc.IsList():
				c.P("for _, e := range ", v, " {")
				c.P("n += ", tl, " + ", c.valueSize(fd, "e"))
				c.P("}")
			default:
				c.ifPresent(fd, v, func() { c.P("n += ", tl, " + ", c.valueSize(fd, v)) })
			}
		})
	}
	c.P("return n + len(m.unknownFields)")
	c.P("}")
}

// valueSize is the expression of one value's encoded size, tag excluded.
func (c *codec) valueSize(fd *protogen.Field, v string) string {
	switch fd.Desc.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return c.w("SizeBytes") + "(len(" + v + "))"
	case protoreflect.MessageKind:
		return c.w("SizeBytes") + "(" + v + ".SizeKit())"
	}
	return c.scalarSize(fd, v)
}

// ifPresent writes body inside the test proto.Marshal makes before writing a singular
// field: a oneof case is always written, a message when set, anything else unless it is
// the default.
func (c *codec) ifPresent(fd *protogen.Field, v string, body func()) {
	var cond string
	switch {
	case fd.Oneof != nil:
	case fd.Desc.Kind() == protoreflect.MessageKind:
		cond = v + " != nil"
	case !isScalar(fd):
		cond = "len(" + v + ") > 0"
	default:
		cond = fmt.Sprintf(c.scalarOf(fd).zero, v)
	}
	if cond == "" {
		body()
		return
	}
	c.P("if ", cond, " {")
	body()
	c.P("}")
}

// appendTo writes AppendKit.
func (c *codec) appendTo() {
	name := c.m.GoIdent.GoName
	c.P()
	c.P("// AppendKit appends m's encoding to b, the bytes proto.Marshal gives. A string field")
	c.P("// that is not valid UTF-8 is an error, as it is for proto.Marshal.")
	c.P("func (m *", name, ") AppendKit(b []byte) ([]byte, error) {")
	c.P("if m == nil {")
	c.P("return b, nil")
	c.P("}")
	for _, fd := range c.fields {
		t, _ := valueTag(fd)
		c.access(fd, func(v string) {
			switch {
			case packed(fd):
				c.P("if len(", v, ") > 0 {")
				pt, _ := tag(fd, protowire.BytesType)
				c.P("b = append(b, ", pt, ")")
				c.P("k := 0")
				c.P("for _, e := range ", v, " {")
				c.P("k += ", c.scalarSize(fd, "e"))
				c.P("}")
				c.P("b = ", c.w("AppendVarint"), "(b, uint64(k))")
				c.P("for _, e := range ", v, " {")
				c.P(c.scalarAppend(fd, "e"))
				c.P("}")
				c.P("}")
			case fd.Desc.IsList():
				c.P("for _, e := range ", v, " {")
				c.appendValue(fd, t, "e")
				c.P("}")
			default:
				c.ifPresent(fd, v, func() { c.appendValue(fd, t, v) })
			}
		})
	}
	c.P("return append(b, m.unknownFields...), nil")
	c.P("}")
}

// appendValue writes the statements appending one value with its tag t to b.
func (c *codec) appendValue(fd *protogen.Field, t, v string) {
	c.P("b = append(b, ", t, ")")
	switch fd.Desc.Kind() {
	case protoreflect.StringKind:
		c.P("if !", utf8Pkg.Ident("ValidString"), "(", v, ") {")
		c.P("return b, ", c.errUTF8(fd))
		c.P("}")
		c.P("b = ", c.w("AppendString"), "(b, ", v, ")")
	case protoreflect.BytesKind:
		c.P("b = ", c.w("AppendBytes"), "(b, ", v, ")")
	case protoreflect.MessageKind:
		c.P("b = ", c.w("AppendVarint"), "(b, uint64(", v, ".SizeKit()))")
		c.P("var err error")
		c.P("if b, err = ", v, ".AppendKit(b); err != nil {")
		c.P("return b, err")
		c.P("}")
	default:
		c.P(c.scalarAppend(fd, v))
	}
}

// errUTF8 is the expression of the error for a string field that is not UTF-8.
func (c *codec) errUTF8(fd *protogen.Field) string {
	return c.g.QualifiedGoIdent(errorsPkg.Ident("New")) + fmt.Sprintf("(%q)", "proto: string field "+string(fd.Desc.FullName())+" contains invalid UTF-8")
}

// marshal writes MarshalKit.
func (c *codec) marshal() {
	name := c.m.GoIdent.GoName
	c.P()
	c.P("// MarshalKit returns m's encoding, the bytes proto.Marshal gives, in one allocation.")
	c.P("func (m *", name, ") MarshalKit() ([]byte, error) {")
	c.P("return m.AppendKit(make([]byte, 0, m.SizeKit()))")
	c.P("}")
}

// unmarshal writes UnmarshalKit.
func (c *codec) unmarshal() {
	name := c.m.GoIdent.GoName
	c.P()
	c.P("// UnmarshalKit resets m and decodes b into it, as proto.Unmarshal does. m does not")
	c.P("// refer to b afterwards: its bytes fields share one copy, made at the first of them.")
	c.P("func (m *", name, ") UnmarshalKit(b []byte) error {")
	c.P("*m = ", name, "{}")
	c.P("var arena []byte")
	c.P("return m.DecodeKit(b, &arena, len(b), ", recursionLimit, ")")
	c.P("}")
}

// repeatedMessages lists the repeated message fields, whose elements MergeKit allocates
// together.
func (c *codec) repeatedMessages() []*protogen.Field {
	var out []*protogen.Field
	for _, fd := range c.fields {
		if fd.Desc.IsList() && fd.Desc.Kind() == protoreflect.MessageKind {
			out = append(out, fd)
		}
	}
	return out
}

// merge writes MergeKit.
func (c *codec) merge() {
	name := c.m.GoIdent.GoName
	c.P()
	c.P("// MergeKit decodes b into m as proto.Unmarshal does, but without resetting m first:")
	c.P("// set fields are replaced, messages merged, lists appended to. Decoded bytes fields")
	c.P("// refer to b, which must not change afterwards.")
	c.P("func (m *", name, ") MergeKit(b []byte) error {")
	c.P("return m.DecodeKit(b, nil, 0, ", recursionLimit, ")")
	c.P("}")
	c.P()
	c.P("// DecodeKit is MergeKit with bytes fields copied into *arena rather than referring to")
	c.P("// b, unless arena is nil. The first copy that does not fit replaces *arena with room")
	c.P("// for room bytes: UnmarshalKit passes the length of the whole encoding, so its message")
	c.P("// and those nested in it share one allocation. depth is how many levels of messages")
	c.P("// b may hold, m's included; proto.Unmarshal allows ", recursionLimit, ".")
	reps := c.repeatedMessages()
	if len(reps) > 0 {
		c.P("// With arena set, the messages a list of messages holds past its length, up to its")
		c.P("// capacity, are preset: the elements appended are decoded into them, as they are,")
		c.P("// rather than into new ones (the caller that set them there cleared them).")
	}
	c.P("func (m *", name, ") DecodeKit(b []byte, arena *[]byte, room, depth int) error {")
	c.P("if depth <= 0 {")
	c.P("return ", c.g.QualifiedGoIdent(errorsPkg.Ident("New")), `("proto: exceeded maximum recursion depth")`)
	c.P("}")
	for _, fd := range reps {
		c.P("var ", slab(fd), " []", c.g.QualifiedGoIdent(fd.Message.GoIdent))
	}
	c.P("for len(b) > 0 {")
	c.consumeTag("b")
	c.P("if n < 0 {")
	c.P("return ", c.w("ParseError"), "(n)")
	c.P("}")
	c.P("if num > ", c.w("MaxValidNumber"), " {")
	c.P("return ", c.g.QualifiedGoIdent(errorsPkg.Ident("New")), `("proto: invalid field number")`)
	c.P("}")
	c.P("b = b[n:]")
	c.P("switch num {")
	for _, fd := range c.fields {
		c.P("case ", fd.Desc.Number(), ":")
		c.decodeField(fd)
	}
	c.P("}")
	c.P("n = ", c.w("ConsumeFieldValue"), "(num, typ, b)")
	c.P("if n < 0 {")
	c.P("return ", c.w("ParseError"), "(n)")
	c.P("}")
	c.P("m.unknownFields = append(", c.w("AppendTag"), "(m.unknownFields, num, typ), b[:n]...)")
	c.P("b = b[n:]")
	c.P("}")
	c.P("return nil")
	c.P("}")
}

// slab names the variable holding the allocated elements of a repeated message field not
// yet used.
func slab(fd *protogen.Field) string { return "slab" + fd.GoName }

// decodeField writes the body of a field's case in MergeKit. A value of the wrong wire
// type breaks out of the switch and is kept as an unknown field, as proto.Unmarshal
// keeps it (with its tag re-encoded in the shortest form, as proto.Unmarshal does).
func (c *codec) decodeField(fd *protogen.Field) {
	if packed(fd) || (fd.Desc.IsList() && isScalar(fd)) {
		c.P("if typ == ", c.w("BytesType"), " {")
		c.consumeBytes("b")
		c.P("if n < 0 {")
		c.P("return ", c.w("ParseError"), "(n)")
		c.P("}")
		c.P("for len(v) > 0 {")
		c.consumeScalar("v")
		c.P("m.", fd.GoName, " = append(m.", fd.GoName, ", ", fmt.Sprintf(c.scalarOf(fd).dec, "x"), ")")
		c.P("v = v[k:]")
		c.P("}")
		c.P("b = b[n:]")
		c.P("continue")
		c.P("}")
	}
	wt := "BytesType"
	if isScalar(fd) {
		wt = "VarintType"
	}
	c.P("if typ != ", c.w(wt), " {")
	c.P("break")
	c.P("}")
	if isScalar(fd) {
		c.consumeScalar("b")
		c.assign(fd, fmt.Sprintf(c.scalarOf(fd).dec, "x"))
		c.P("b = b[k:]")
		c.P("continue")
		return
	}
	c.consumeBytes("b")
	c.P("if n < 0 {")
	c.P("return ", c.w("ParseError"), "(n)")
	c.P("}")
	switch fd.Desc.Kind() {
	case protoreflect.StringKind:
		c.P("if !", utf8Pkg.Ident("Valid"), "(v) {")
		c.P("return ", c.errUTF8(fd))
		c.P("}")
		c.assign(fd, "string(v)")
	case protoreflect.BytesKind:
		c.P("if arena == nil {")
		c.assign(fd, "v[:len(v):len(v)]")
		c.P("} else {")
		c.P("if cap(*arena)-len(*arena) < len(v) {")
		c.P("*arena = make([]byte, 0, max(room, len(v)))")
		c.P("}")
		c.P("k := len(*arena)")
		c.P("*arena = append(*arena, v...)")
		c.assign(fd, "(*arena)[k:len(*arena):len(*arena)]")
		c.P("}")
	case protoreflect.MessageKind:
		c.mergeMessage(fd)
	}
	c.P("b = b[n:]")
	c.P("continue")
}

// The decoding reads the one-byte case of tags (field numbers up to 15), varints (small
// numbers) and lengths (values under 128 bytes) inline, and leaves the rest to
// protowire, whose Consume functions are calls each: the common case costs no call.

// consumeTag writes the statements reading the tag num, typ of length n from buf, which
// is not empty.
func (c *codec) consumeTag(buf string) {
	c.P("num, typ, n := ", c.w("Number"), "(", buf, "[0]>>3), ", c.w("Type"), "(", buf, "[0]&7), 1")
	c.P("if ", buf, "[0] >= 0x80 || num == 0 {")
	c.P("num, typ, n = ", c.w("ConsumeTag"), "(", buf, ")")
	c.P("}")
}

// consumeBytes writes the statements reading the length-prefixed value v, n bytes long
// in all, from buf.
func (c *codec) consumeBytes(buf string) {
	c.P("var v []byte")
	c.P("n := 0")
	c.P("if len(", buf, ") > 0 && ", buf, "[0] < 0x80 && int(", buf, "[0]) < len(", buf, ") {")
	c.P("n = int(", buf, "[0]) + 1")
	c.P("v = ", buf, "[1:n]")
	c.P("} else {")
	c.P("v, n = ", c.w("ConsumeBytes"), "(", buf, ")")
	c.P("}")
}

// consumeScalar writes the statements reading one varint x of length k from buf.
func (c *codec) consumeScalar(buf string) {
	c.P("x, k := uint64(0), 1")
	c.P("if len(", buf, ") > 0 && ", buf, "[0] < 0x80 {")
	c.P("x = uint64(", buf, "[0])")
	c.P("} else {")
	c.P("x, k = ", c.w("ConsumeVarint"), "(", buf, ")")
	c.P("}")
	c.P("if k < 0 {")
	c.P("return ", c.w("ParseError"), "(k)")
	c.P("}")
}

// assign writes the statement storing a decoded string, bytes or scalar value.
func (c *codec) assign(fd *protogen.Field, v string) {
	switch {
	case fd.Desc.IsList():
		c.P("m.", fd.GoName, " = append(m.", fd.GoName, ", ", v, ")")
	case fd.Oneof != nil:
		c.P("m.", fd.Oneof.GoName, " = &", c.g.QualifiedGoIdent(fd.GoIdent), "{", fd.GoName, ": ", v, "}")
	default:
		c.P("m.", fd.GoName, " = ", v)
	}
}

// mergeMessage writes the statements decoding a message value v into its field: a new
// element of a list, or the message already set, merged as proto.Unmarshal merges.
func (c *codec) mergeMessage(fd *protogen.Field) {
	typ := c.g.QualifiedGoIdent(fd.Message.GoIdent)
	switch {
	case fd.Desc.IsList():
		c.P("var e *", typ)
		c.P("if arena != nil {")
		c.P("e = ", c.prefix, "preset(m.", fd.GoName, ")")
		c.P("}")
		c.P("if e == nil {")
		c.P("if len(", slab(fd), ") == 0 {")
		c.P("// No preset for this element: allocate it and the rest of the list's at once.")
		c.P("k := 1 + ", c.prefix, "count(b[n:], ", fd.Desc.Number(), ")")
		c.P("m.", fd.GoName, " = ", c.g.QualifiedGoIdent(slicesPkg.Ident("Grow")), "(m.", fd.GoName, ", k)")
		c.P(slab(fd), " = make([]", typ, ", k)")
		c.P("}")
		c.P("e, ", slab(fd), " = &", slab(fd), "[0], ", slab(fd), "[1:]")
		c.P("}")
		c.P("m.", fd.GoName, " = append(m.", fd.GoName, ", e)")
	case fd.Oneof != nil:
		cs := c.g.QualifiedGoIdent(fd.GoIdent)
		c.P("o, ok := m.", fd.Oneof.GoName, ".(*", cs, ")")
		c.P("if !ok || o.", fd.GoName, " == nil {")
		c.P("o = &", cs, "{", fd.GoName, ": new(", typ, ")}")
		c.P("m.", fd.Oneof.GoName, " = o")
		c.P("}")
		c.P("e := o.", fd.GoName)
	default:
		c.P("if m.", fd.GoName, " == nil {")
		c.P("m.", fd.GoName, " = new(", typ, ")")
		c.P("}")
		c.P("e := m.", fd.GoName)
	}
	c.P("if err := e.DecodeKit(v, arena, room, depth-1); err != nil {")
	c.P("return err")
	c.P("}")
}
