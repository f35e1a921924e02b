package stubgen

import (
	"fmt"

	"github.com/bufbuild/protocompile/linker"
	"github.com/etcdkit/etcdkit/cmd/internal/codecgen"
	"github.com/etcdkit/etcdkit/cmd/internal/grpcgen"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// runPlugins generates Go from the compiled trimmed files in-process: protoc-gen-go's
// generator (the version this module pins, which is the runtime gen/ requires) for the
// messages, grpcgen for the clients and codecgen for the messages' codec, fed the request
// buf would send them with module=goBase. It returns the files by slash path relative to
// the directory goBase names. files must be in dependency order.
func runPlugins(files linker.Files, goBase string) (map[string][]byte, error) {
	param := "module=" + goBase
	req := &pluginpb.CodeGeneratorRequest{Parameter: &param}
	for _, fd := range files {
		req.FileToGenerate = append(req.FileToGenerate, fd.Path())
		req.ProtoFile = append(req.ProtoFile, fileProto(fd))
	}
	plugin, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, fmt.Errorf("protogen: %w", err)
	}
	plugin.SupportedFeatures = gengo.SupportedFeatures
	for _, f := range plugin.Files {
		if f.Generate {
			gengo.GenerateFile(plugin, f)
			grpcgen.GenerateFile(plugin, f)
			codecgen.GenerateFile(plugin, f)
		}
	}
	resp := plugin.Response()
	if resp.Error != nil {
		return nil, fmt.Errorf("generating Go: %s", resp.GetError())
	}
	out := map[string][]byte{}
	for _, f := range resp.File {
		out[f.GetName()] = []byte(f.GetContent())
	}
	return out, nil
}

// fileProto returns the descriptor proto of a compiled file: the compiler's own when it
// has one (as buf hands plugins), or else one rebuilt from the descriptor.
func fileProto(fd linker.File) *descriptorpb.FileDescriptorProto {
	if r, ok := fd.(linker.Result); ok {
		return r.FileDescriptorProto()
	}
	return protodesc.ToFileDescriptorProto(fd)
}
