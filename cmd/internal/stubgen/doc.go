// Package stubgen trims etcd's gRPC protos to a keep-list of services and RPCs and
// generates Go stubs from them that can be linked beside etcd's own Go packages.
//
// The pipeline is: load the upstream files (from the Go module proxy or a source tree),
// parse and link them as they are, resolve the keep-list, compute the transitive closure
// of messages and enums, cut everything else out of the original text (options and
// imports of gogoproto, google.api, openapiv2 and versionpb included), compile the
// trimmed files and compare them element by element with the upstream descriptors,
// run buf generate on them, and finally replace the previously generated files.
//
// The trimmed files live under private names derived from the Go import path they are
// generated for (see Naming), so their registration in protobuf-go's global registry
// never collides with etcd's; the client stubs still call etcd's method paths.
package stubgen
