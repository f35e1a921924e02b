// Command protoc-gen-etcdkit-grpc is a protoc plugin that writes the client half of
// gRPC stubs, in the shape protoc-gen-go-grpc gives them (KVClient, NewKVClient,
// KV_Range_FullMethodName, generic stream types), but with method paths built from
// the last element of the proto package only: a service KV in package
// github_com.etcdkit.etcdkit.gen.etcdserverpb is called as /etcdserverpb.KV/Range.
// That lets messages live under private proto names while the calls reach etcd.
// Every file it writes names the plugin's version (its module's version when installed
// with go install or go get -tool, "(devel)" when built from a checkout).
//
// It takes protogen's usual parameters (paths=, module=) and nothing else.
package main

import (
	"github.com/etcdkit/etcdkit/cmd/internal/grpcgen"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
		for _, f := range gen.Files {
			if f.Generate {
				grpcgen.GenerateFile(gen, f)
			}
		}
		return nil
	})
}
