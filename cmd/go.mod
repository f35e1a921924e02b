module github.com/etcdkit/etcdkit/cmd

go 1.26.7

require (
	github.com/bufbuild/protocompile v0.14.1
	github.com/etcdkit/etcdkit v0.0.0
	go.uber.org/goleak v1.3.0
	google.golang.org/protobuf v1.36.12
)

require golang.org/x/sync v0.8.0 // indirect

tool github.com/etcdkit/etcdkit/cmd/protoc-gen-etcdkit-grpc

// The root module, for the etcdtest harness in the embedding test.
replace github.com/etcdkit/etcdkit => ../
