package testbin

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// cmdModule is the module of the generator.
const cmdModule = kit + "/cmd"

// ModuleProxy writes a file-system Go module proxy into dir that serves the kit's root
// module and its cmd module, both at one pseudo-version made from the checkout as it is
// (tracked and untracked files, the working tree's content), as a release would publish
// them: cmd's go.mod requires the root module at that same version. It returns the
// version. The version's time is HEAD's commit time and its revision part the first 12
// hex digits of the content's SHA-256 rather than a commit hash, so that different
// content never shares a version (and a module cache) with other content.
func ModuleProxy(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	files, err := checkoutFiles(root)
	if err != nil {
		return "", err
	}
	mods := map[string]map[string][]byte{kit: {}, cmdModule: {}}
	sum := sha256.New()
	for _, f := range files {
		mod, rel := kit, f
		switch {
		case strings.HasPrefix(f, "cmd/"):
			mod, rel = cmdModule, strings.TrimPrefix(f, "cmd/")
		case nestedModule(files, f):
			continue
		}
		if rel == "go.work" || rel == "go.work.sum" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		mods[mod][rel] = data
		fmt.Fprintf(sum, "%s %d\n", f, len(data))
		sum.Write(data)
	}
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return "", fmt.Errorf("testbin: git log: %v", err)
	}
	var secs int64
	if _, err := fmt.Sscan(string(out), &secs); err != nil {
		return "", fmt.Errorf("testbin: HEAD's commit time %q: %v", out, err)
	}
	version := "v0.0.0-" + time.Unix(secs, 0).UTC().Format("20060102150405") + "-" + hex.EncodeToString(sum.Sum(nil))[:12]
	gomod, err := requireVersion(mods[cmdModule]["go.mod"], kit, version)
	if err != nil {
		return "", err
	}
	mods[cmdModule]["go.mod"] = gomod
	for mod, files := range mods {
		if err := writeProxyModule(dir, mod, version, files); err != nil {
			return "", err
		}
	}
	return version, nil
}

// checkoutFiles lists the files git tracks or would track in the checkout, as slash
// paths, leaving out the ignored ones (caches) and the ones deleted from the work tree.
func checkoutFiles(root string) ([]string, error) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return nil, fmt.Errorf("testbin: git ls-files: %v", err)
	}
	var files []string
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if st, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f))); err == nil && st.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// nestedModule reports whether f lies in a directory of a module other than the root
// one (a directory with its own go.mod), which the root module's zip leaves out.
func nestedModule(files []string, f string) bool {
	for d := path.Dir(f); d != "."; d = path.Dir(d) {
		if _, found := slices.BinarySearch(files, d+"/go.mod"); found {
			return true
		}
	}
	return false
}

// requireVersion rewrites the requirement on mod in a go.mod file to version.
func requireVersion(gomod []byte, mod, version string) ([]byte, error) {
	lines := strings.Split(string(gomod), "\n")
	found := false
	for i, l := range lines {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			lines[i] = "\t" + mod + " " + version
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("testbin: cmd/go.mod does not require %s", mod)
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// writeProxyModule writes mod@version (.info, .mod, .zip and the list) into a proxy.
func writeProxyModule(dir, mod, version string, files map[string][]byte) error {
	at := filepath.Join(dir, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	info, err := json.Marshal(map[string]string{"Version": version, "Time": "2026-01-01T00:00:00Z"})
	if err != nil {
		return err
	}
	zf, err := os.Create(filepath.Join(at, version+".zip"))
	if err != nil {
		return err
	}
	defer zf.Close()
	zw := zip.NewWriter(zf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w, err := zw.Create(mod + "@" + version + "/" + name)
		if err == nil {
			_, err = w.Write(files[name])
		}
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"list": []byte(version + "\n"), version + ".info": info, version + ".mod": files["go.mod"]} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	return zf.Close()
}
