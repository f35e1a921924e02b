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

// footprints builds and measures the footprint program of every client (each a module of
// its own under o.footDir, so that `go list -m all` sees that client's requirements only),
// and runs each against the server to show that it works.
func footprints(ctx context.Context, o options, ep string) ([]report.Footprint, error) {
	tmp, err := os.MkdirTemp("", "benchdrive-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var out []report.Footprint
	for _, client := range report.Clients {
		dir := filepath.Join(o.footDir, client)
		fp := report.Footprint{Client: client}
		mods, err := goLines(ctx, dir, nil, "list", "-m", "all")
		if err != nil {
			return nil, err
		}
		pkgs, err := goLines(ctx, dir, nil, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
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
		if _, err := goLines(ctx, dir, env, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "."); err != nil {
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

// goLines runs the go command in dir and returns its non-empty output lines.
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
