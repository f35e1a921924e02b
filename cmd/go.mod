module github.com/etcdkit/etcdkit/cmd

go 1.26.7

require (
	github.com/bufbuild/protocompile v0.14.1
	github.com/etcdkit/etcdkit v0.0.0-20261206211607-f003f163286e
	go.uber.org/goleak v1.3.0
	google.golang.org/grpc v1.80.0
	google.golang.org/protobuf v1.36.12
)

require github.com/inconshreveable/mousetrap v1.1.0 // indirect

require (
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.10
	golang.org/x/net v0.49.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/sys v0.40.0 // indirect
	golang.org/x/text v0.33.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260120221211-b8f7ae30c516 // indirect
)

tool (
	github.com/etcdkit/etcdkit/cmd/protoc-gen-etcdkit-codec
	github.com/etcdkit/etcdkit/cmd/protoc-gen-etcdkit-grpc
)
