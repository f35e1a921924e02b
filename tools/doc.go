// Package tools pins the tools the repository runs: its go.mod carries `tool` directives for
// buf, protoc-gen-go and staticcheck, run from the repository root as
// `go tool -modfile=tools/go.mod buf ...`. The package itself only holds the tests that keep
// those pins in step with scripts/pins.env and the root module, and the cmd module's
// requirement of the root module in step with the root's last change.
package tools
