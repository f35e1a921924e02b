module github.com/etcdkit/etcdkit

go 1.24.0

require (
	google.golang.org/grpc v1.80.0
	google.golang.org/protobuf v1.36.12
	go.uber.org/goleak v1.3.0
)
