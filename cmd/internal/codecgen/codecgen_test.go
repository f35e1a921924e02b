package codecgen

import (
	"context"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// newPlugin compiles one proto file, m.proto, into the plugin request buf would send.
func newPlugin(t *testing.T, src string) *protogen.Plugin {
	t.Helper()
	c := protocompile.Compiler{SourceInfoMode: protocompile.SourceInfoStandard, Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"m.proto": src}),
	})}
	files, err := c.Compile(context.Background(), "m.proto")
	if err != nil {
		t.Fatal(err)
	}
	param := "paths=source_relative"
	gen, err := protogen.Options{}.New(&pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"m.proto"},
		Parameter:      &param,
		ProtoFile:      []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(files[0])},
	})
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

// generate runs the plugin in-process on m.proto and returns the files it writes by name,
// and the error it reports.
func generate(t *testing.T, src string) (map[string]string, string) {
	t.Helper()
	gen := newPlugin(t, src)
	for _, f := range gen.Files {
		if f.Generate {
			GenerateFile(gen, f)
		}
	}
	resp := gen.Response()
	out := map[string]string{}
	for _, f := range resp.File {
		out[f.GetName()] = f.GetContent()
	}
	return out, resp.GetError()
}

// unsupportedIn returns what unsupported finds in m.proto.
func unsupportedIn(t *testing.T, src string) error {
	t.Helper()
	gen := newPlugin(t, src)
	return unsupported(gen.FilesByPath["m.proto"].Desc, map[string]bool{})
}

// TestGeneratedMethods: a file's messages, nested ones included, get the five methods in a
// file that parses; proto.Marshal's field order (oneofs last) is kept. (The methods' wire
// behaviour is checked against protobuf-go by package etcd's FuzzCodec on the real stubs.)
func TestGeneratedMethods(t *testing.T) {
	t.Parallel()
	files, errText := generate(t, `syntax = "proto3";
package example_com.m;
option go_package = "example.com/m;m";
message Outer {
  message Inner { bytes b = 1; }
  oneof u { Inner in = 1; int64 n = 2; }
  repeated Inner list = 3;
  string s = 20;
}
`)
	if errText != "" {
		t.Fatal(errText)
	}
	src, ok := files["m_codec.pb.go"]
	if !ok || len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "m_codec.pb.go", src, parser.SkipObjectResolution); err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	for _, typ := range []string{"Outer", "Outer_Inner"} {
		for _, method := range []string{"SizeKit() int", "AppendKit(b []byte) ([]byte, error)", "MarshalKit() ([]byte, error)",
			"UnmarshalKit(b []byte) error", "MergeKit(b []byte) error", "DecodeKit(b []byte, arena *[]byte, room, depth int) error"} {
			if !strings.Contains(src, "func (m *"+typ+") "+method+" {") {
				t.Errorf("no %s.%s", typ, method)
			}
		}
	}
	outer := src[strings.Index(src, "func (m *Outer) AppendKit"):]
	list, oneof := strings.Index(outer, "m.List"), strings.Index(outer, "m.U.(*Outer_In)")
	str := strings.Index(outer, "m.S")
	if list < 0 || str < list || oneof < str {
		t.Errorf("AppendKit writes list at %d, s at %d, the oneof at %d: want list, s, oneof", list, str, oneof)
	}
}

// TestUnsupported: a file with a construct the codec does not handle, or whose messages
// contain such a file's, gets no codec; its messages use gRPC's codec.
func TestUnsupported(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, want string }{
		{"map", `message M { map<string, string> m = 1; }`, "map fields"},
		{"optional", `message M { optional int64 o = 1; }`, "optional fields"},
		{"double", `message M { double d = 1; }`, "double fields"},
		{"sint64", `message M { repeated sint64 z = 1; }`, "sint64 fields"},
		{"nested", `message M { message N { fixed32 f = 1; } N n = 1; }`, "fixed32 fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "syntax = \"proto3\";\npackage p;\noption go_package = \"example.com/p\";\n" + tc.src
			files, errText := generate(t, src)
			if errText != "" || len(files) != 0 {
				t.Fatalf("error %q, files %v: want neither", errText, files)
			}
			if err := unsupportedIn(t, src); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("unsupported: %v, want it to mention %q", err, tc.want)
			}
		})
	}
	files, _ := generate(t, "syntax = \"proto2\";\npackage p;\noption go_package = \"example.com/p\";\nmessage M { optional int64 o = 1; }")
	if len(files) != 0 {
		t.Fatalf("proto2: files %v", files)
	}
}
