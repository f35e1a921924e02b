package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcdkit/etcdkit/bench/internal/report"
)

// footprintKeep is the keep-list of the vendored copy the etcdkit and raw probes are built on:
// a user's everyday copy.
const footprintKeep = "KV,Watch,Lease"

// footprints builds and measures the footprint program of every client and runs each against
// the server to show that it works. The etcdkit and raw probes (o.footDir/testdata) share a
// throwaway module holding a copy of the kit vendored with etcdkit-gen (built from this
// checkout) for footprintKeep: the etcdkit probe imports the copy's package etcd, the raw
// probe its bare stubs. clientv3's probe is a module of its own (o.footDir/clientv3), so that
// `go list -m all` sees that client's requirements only.
func footprints(ctx context.Context, o options, ep string) ([]report.Footprint, error) {
	tmp, err := os.MkdirTemp("", "benchdrive-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	vendored, err := vendoredModule(ctx, o, filepath.Join(tmp, "vendored"))
	if err != nil {
		return nil, err
	}
	var out []report.Footprint
	for _, client := range report.Clients {
		dir, pkg := vendored, "./"+client
		if client == report.V3 {
			dir, pkg = filepath.Join(o.footDir, client), "."
		}
		fp := report.Footprint{Client: client}
		mods, err := goLines(ctx, dir, nil, "list", "-m", "all")
		if err != nil {
			return nil, err
		}
		pkgs, err := goLines(ctx, dir, nil, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
		if err != nil {
			return nil, err
		}
		fp.Modules, fp.Packages = len(mods), len(pkgs)
		bin := filepath.Join(tmp, client)
		var env []string
		if o.cold {
			env = []string{"GOCACHE=" + filepath.Join(tmp, "gocache-"+client)}
		}
		start := time.Now()
		if _, err := goLines(ctx, dir, env, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg); err != nil {
			return nil, err
		}
		if o.cold {
			fp.ColdBuild = time.Since(start).Seconds()
		}
		st, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		fp.Bytes = st.Size()
		if out, err := exec.CommandContext(ctx, bin, ep).CombinedOutput(); err != nil {
			logf("footprint %s: the program failed: %v: %s", client, err, out)
		} else {
			fp.Ran = true
		}
		logf("footprint %-8s %.1f MB, %d modules, %d packages, cold build %.1fs", client, float64(fp.Bytes)/1e6, fp.Modules, fp.Packages, fp.ColdBuild)
		out = append(out, fp)
	}
	return out, nil
}

// vendoredModule makes the etcdkit and raw probes' module in dir: a go.mod requiring the
// root module's grpc and protobuf, the kit vendored into internal/etcdkit for etcd
// o.release, and the two probes, then go mod tidy.
func vendoredModule(ctx context.Context, o options, dir string) (string, error) {
	if o.gen == "" {
		return "", fmt.Errorf("-gen (the etcdkit-gen binary) is required for the footprint")
	}
	vers, err := goLines(ctx, o.root, nil, "list", "-m", "-f", "{{.Path}} {{.Version}}", "google.golang.org/grpc", "google.golang.org/protobuf")
	if err != nil {
		return "", err
	}
	for _, p := range []string{"etcdkit", "raw"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			return "", err
		}
		src, err := os.ReadFile(filepath.Join(o.footDir, "testdata", p, "main.go"))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, p, "main.go"), src, 0o644); err != nil {
			return "", err
		}
	}
	mod := "module example.com/footprint\n\ngo 1.24\n\nrequire (\n\t" + strings.Join(vers, "\n\t") + "\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(o.root, "go.sum"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, o.gen, "vendor", "-release", o.release, "-keep", footprintKeep, "-into", "internal/etcdkit")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("etcdkit-gen vendor: %v: %s", err, out)
	}
	if _, err := goLines(ctx, dir, []string{"GOFLAGS=-mod=mod"}, "mod", "tidy"); err != nil {
		return "", err
	}
	logf("footprint: vendored etcd %s's %s into a module of the etcdkit and raw probes", o.release, footprintKeep)
	return dir, nil
}

// goLines runs the go command in dir and returns its non-empty output lines. env comes last,
// so that it overrides the GOFLAGS set here.
func goLines(ctx context.Context, dir string, env []string, args ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s in %s: %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}
