// Package grpcgen writes the client half of gRPC stubs, in the shape protoc-gen-go-grpc
// gives them (KVClient, NewKVClient, KV_Range_FullMethodName, generic stream types), but
// with method paths built from the last element of the proto package only: a service KV
// in package github_com.etcdkit.etcdkit.gen.etcdserverpb is called as
// /etcdserverpb.KV/Range. That lets messages live under private proto names while the
// calls reach etcd. protoc-gen-etcdkit-grpc runs it as a protoc plugin; etcdkit-gen runs
// it in-process.
package grpcgen

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/etcdkit/etcdkit/cmd/internal/version"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Packages the generated code refers to.
const (
	contextPkg = protogen.GoImportPath("context")
	grpcPkg    = protogen.GoImportPath("google.golang.org/grpc")
)

// GenerateFile writes <file>_grpc.pb.go with a client for every service of f, headed
// like protoc-gen-go's output by the comments above f's syntax statement and a version
// stamp. Files without services get nothing.
func GenerateFile(gen *protogen.Plugin, f *protogen.File) {
	if len(f.Services) == 0 {
		return
	}
	g := gen.NewGeneratedFile(f.GeneratedFilenamePrefix+"_grpc.pb.go", f.GoImportPath)
	version.WriteHeader(g, f, "protoc-gen-etcdkit-grpc")
	g.P()
	g.P("// The generic stream types below need gRPC-Go v1.64.0 or later.")
	g.P("const _ = ", grpcPkg.Ident("SupportPackageIsVersion9"))
	for _, s := range f.Services {
		generateService(g, f, s)
	}
}

// methodPath returns the path a method is called at: the last element of the proto
// package, the service and the method, as in "/etcdserverpb.KV/Range".
func methodPath(f *protogen.File, s *protogen.Service, m *protogen.Method) string {
	pkg := string(f.Desc.Package())
	if i := strings.LastIndexByte(pkg, '.'); i >= 0 {
		pkg = pkg[i+1:]
	}
	return "/" + pkg + "." + string(s.Desc.Name()) + "/" + string(m.Desc.Name())
}

// generateService writes the method name constants, the client interface, its
// implementation and its constructor.
func generateService(g *protogen.GeneratedFile, f *protogen.File, s *protogen.Service) {
	client := s.GoName + "Client"
	impl := lowerFirst(s.GoName) + "Client"
	g.P()
	g.P("// Full method names of the ", s.GoName, " service's RPCs, as sent on the wire.")
	g.P("const (")
	for _, m := range s.Methods {
		g.P(fullMethodName(s, m), " = ", strconv.Quote(methodPath(f, s, m)))
	}
	g.P(")")
	g.P()
	g.P("// ", client, " calls the ", s.GoName, " service. Streams end when their context is done;")
	g.P("// read a stream until it returns an error to release it.")
	if s.Comments.Leading != "" {
		g.P("//")
		g.P(strings.TrimSuffix(s.Comments.Leading.String(), "\n"))
	}
	if deprecated(s.Desc.Options()) {
		g.P("//")
		g.P("// Deprecated: Do not use.")
	}
	g.P("type ", client, " interface {")
	for i, m := range s.Methods {
		if i > 0 {
			g.P()
		}
		if m.Comments.Leading != "" {
			g.P(strings.TrimSuffix(m.Comments.Leading.String(), "\n"))
		}
		if deprecated(m.Desc.Options()) {
			if m.Comments.Leading != "" {
				g.P("//")
			}
			g.P("// Deprecated: Do not use.")
		}
		g.P(signature(g, m))
	}
	g.P("}")
	g.P()
	g.P("type ", impl, " struct {")
	g.P("cc ", grpcPkg.Ident("ClientConnInterface"))
	g.P("}")
	g.P()
	g.P("// New", client, " returns a ", client, " that makes its calls on cc.")
	g.P("func New", client, "(cc ", grpcPkg.Ident("ClientConnInterface"), ") ", client, " {")
	g.P("return &", impl, "{cc}")
	g.P("}")
	for _, m := range s.Methods {
		g.P()
		generateMethod(g, s, m, impl)
	}
}

// fullMethodName names the constant holding a method's path.
func fullMethodName(s *protogen.Service, m *protogen.Method) string {
	return s.GoName + "_" + m.GoName + "_FullMethodName"
}

// signature returns a client method's signature, as in the interface.
func signature(g *protogen.GeneratedFile, m *protogen.Method) string {
	in := g.QualifiedGoIdent(m.Input.GoIdent)
	out := g.QualifiedGoIdent(m.Output.GoIdent)
	ctx := "ctx " + g.QualifiedGoIdent(contextPkg.Ident("Context"))
	opts := "opts ..." + g.QualifiedGoIdent(grpcPkg.Ident("CallOption"))
	generic := func(name string, types ...string) string {
		return g.QualifiedGoIdent(grpcPkg.Ident(name)) + "[" + strings.Join(types, ", ") + "]"
	}
	switch {
	case m.Desc.IsStreamingClient() && m.Desc.IsStreamingServer():
		return m.GoName + "(" + ctx + ", " + opts + ") (" + generic("BidiStreamingClient", in, out) + ", error)"
	case m.Desc.IsStreamingClient():
		return m.GoName + "(" + ctx + ", " + opts + ") (" + generic("ClientStreamingClient", in, out) + ", error)"
	case m.Desc.IsStreamingServer():
		return m.GoName + "(" + ctx + ", in *" + in + ", " + opts + ") (" + generic("ServerStreamingClient", out) + ", error)"
	default:
		return m.GoName + "(" + ctx + ", in *" + in + ", " + opts + ") (*" + out + ", error)"
	}
}

// generateMethod writes the implementation of one client method.
func generateMethod(g *protogen.GeneratedFile, s *protogen.Service, m *protogen.Method, impl string) {
	callOpts := "append([]" + g.QualifiedGoIdent(grpcPkg.Ident("CallOption")) + "{" +
		g.QualifiedGoIdent(grpcPkg.Ident("StaticMethod")) + "()}, opts...)..."
	g.P("func (c *", impl, ") ", signature(g, m), " {")
	if !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer() {
		g.P("out := new(", m.Output.GoIdent, ")")
		g.P("if err := c.cc.Invoke(ctx, ", fullMethodName(s, m), ", in, out, ", callOpts, "); err != nil {")
		g.P("return nil, err")
		g.P("}")
		g.P("return out, nil")
		g.P("}")
		return
	}
	g.P("desc := &", grpcPkg.Ident("StreamDesc"), "{StreamName: ", strconv.Quote(string(m.Desc.Name())),
		", ClientStreams: ", m.Desc.IsStreamingClient(), ", ServerStreams: ", m.Desc.IsStreamingServer(), "}")
	g.P("stream, err := c.cc.NewStream(ctx, desc, ", fullMethodName(s, m), ", ", callOpts, ")")
	g.P("if err != nil {")
	g.P("return nil, err")
	g.P("}")
	g.P("x := &", grpcPkg.Ident("GenericClientStream"), "[", m.Input.GoIdent, ", ", m.Output.GoIdent, "]{ClientStream: stream}")
	if !m.Desc.IsStreamingClient() {
		g.P("if err := x.ClientStream.SendMsg(in); err != nil {")
		g.P("return nil, err")
		g.P("}")
		g.P("if err := x.ClientStream.CloseSend(); err != nil {")
		g.P("return nil, err")
		g.P("}")
	}
	g.P("return x, nil")
	g.P("}")
}

// deprecated reports whether service or method options carry deprecated = true.
func deprecated(opts protoreflect.ProtoMessage) bool {
	switch o := opts.(type) {
	case *descriptorpb.ServiceOptions:
		return o.GetDeprecated()
	case *descriptorpb.MethodOptions:
		return o.GetDeprecated()
	}
	return false
}

// lowerFirst lowers the leading run of upper-case letters of an exported name, keeping
// the last one of a longer run when a lower-case letter follows: KV -> kv,
// Maintenance -> maintenance, HTTPServer -> httpServer.
func lowerFirst(name string) string {
	r := []rune(name)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	if n > 1 && n < len(r) && unicode.IsLower(r[n]) {
		n--
	}
	for i := 0; i < n; i++ {
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}
