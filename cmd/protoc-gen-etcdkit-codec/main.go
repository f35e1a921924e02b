// Command protoc-gen-etcdkit-codec is a protoc plugin that writes, beside
// protoc-gen-go's messages, a reflection-free codec for each of them: SizeKit,
// AppendKit, MarshalKit, UnmarshalKit, MergeKit and DecodeKit in <file>_codec.pb.go. Package etcd
// uses the methods when its stubs have them. Every file it writes names the plugin's
// version (its module's version when installed with go install or go get -tool,
// "(devel)" when built from a checkout).
//
// It takes protogen's usual parameters (paths=, module=) and nothing else.
package main

import (
	"github.com/etcdkit/etcdkit/cmd/internal/codecgen"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
		for _, f := range gen.Files {
			if f.Generate {
				codecgen.GenerateFile(gen, f)
			}
		}
		return nil
	})
}
