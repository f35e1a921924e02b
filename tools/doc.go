// Package tools pins the code generators the repository runs: its go.mod carries `tool`
// directives for buf and protoc-gen-go, run from the repository root as
// `go tool -modfile=tools/go.mod buf ...`. The package itself only holds the test that
// keeps those pins in step with the root module.
package tools
