package stubgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// defaultTemplate is the buf generation template used when none is given: protoc-gen-go
// and protoc-gen-etcdkit-grpc from PATH, with output paths relative to module (the
// import path of the directory holding the stub packages).
func defaultTemplate(module string) (string, error) {
	opt := []string{"module=" + module}
	tmpl := map[string]any{
		"version": "v2",
		"plugins": []map[string]any{
			{"local": "protoc-gen-go", "out": ".", "opt": opt},
			{"local": "protoc-gen-etcdkit-grpc", "out": ".", "opt": opt},
		},
	}
	data, err := json.Marshal(tmpl)
	return string(data), err
}

// runBuf runs `buf generate` on the proto root protoDir into outDir and returns the
// generated files by slash path relative to outDir. goBase is the import path outDir
// stands for.
func runBuf(ctx context.Context, cfg *Config, goBase, protoDir, outDir string) (map[string][]byte, error) {
	template := cfg.BufTemplate
	if template == "" {
		t, err := defaultTemplate(goBase)
		if err != nil {
			return nil, err
		}
		template = t
	}
	args := append(append([]string{}, cfg.Buf[1:]...), "generate", protoDir, "--template", template, "--output", outDir)
	cmd := exec.CommandContext(ctx, cfg.Buf[0], args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s generate: %v\n%s", strings.Join(cfg.Buf, " "), err, strings.TrimSpace(stderr.String()))
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(outDir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading buf's output: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s generate wrote no files", strings.Join(cfg.Buf, " "))
	}
	return files, nil
}
