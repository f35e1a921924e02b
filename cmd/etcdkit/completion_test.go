package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompletions asks cobra's __completeNoDesc directly, as the scripts do: the candidates
// for the last word, then cobra's directive line.
func TestCompletions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ge"}, []string{"get"}},
		{[]string{"get", "--pre"}, []string{"--prefix"}},
		{[]string{"--endpoints", "127.0.0.1:2379", "ge"}, []string{"get"}},
		{[]string{"-w", "json", "get", "--ke"}, []string{"--keepalive-time", "--keepalive-timeout", "--key", "--keys-only"}},
		{[]string{"lease", ""}, []string{"grant", "keep-alive", "list", "revoke", "timetolive"}},
		{[]string{"downgrade", "c"}, []string{"cancel"}},
		{[]string{"get", "-w", ""}, []string{"fields", "json", "protobuf", "simple", "table"}},
		// A flag's values come whole; the shell keeps those that fit what is typed.
		{[]string{"get", "--write-out=js"}, []string{"fields", "json", "protobuf", "simple", "table"}},
		{[]string{"get", "--order", "D"}, []string{"ASCEND", "DESCEND"}},
		{[]string{"get", "--consistency", ""}, []string{"l", "s"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"watch", "--i"}, []string{"--insecure-skip-tls-verify", "--insecure-transport", "--interactive"}},
		{[]string{"get", "k"}, nil}, // keys are not completed
		{[]string{"nosuch", "x"}, nil},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"__completeNoDesc"}, tc.words...)
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 {
			t.Errorf("completions %q: exit %d, %s", tc.words, code, errb.String())
			continue
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		got, directive := lines[:len(lines)-1], lines[len(lines)-1]
		if !slices.Equal(got, tc.want) || !strings.HasPrefix(directive, ":") {
			t.Errorf("completions %q = %q (directive %q), want %q", tc.words, got, directive, tc.want)
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"__completeNoDesc", ""}, strings.NewReader(""), &out, io.Discard, func(string) string { return "" })
	if got := strings.Fields(out.String()); !slices.Contains(got, "get") || !slices.Contains(got, "downgrade") || !slices.Contains(got, "help") || slices.Contains(got, "grant") {
		t.Errorf("completions of nothing = %q", got)
	}
}

// tabCases are command lines typed before TAB, each completing to one candidate, and the line
// the shell shows after it.
var tabCases = []struct{ line, want string }{
	{"etcdkit ge", "etcdkit get "},
	{"etcdkit get --pre", "etcdkit get --prefix "},
	{"etcdkit --endpoints 127.0.0.1:2379 ge", "etcdkit --endpoints 127.0.0.1:2379 get "},
	{"etcdkit lease g", "etcdkit lease grant "},
	{"etcdkit get --keys-o", "etcdkit get --keys-only "},
	{"etcdkit get -w js", "etcdkit get -w json "},
	{"etcdkit get --write-out=js", "etcdkit get --write-out=json "},
	{"etcdkit completion f", "etcdkit completion fish "},
}

// needTool finds a program a completion test drives: missing, it fails the test under CI and
// skips it elsewhere (scripts/test.sh installs the shells).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no %s (scripts/test.sh installs it): %v", name, err)
	}
	t.Skipf("no %s: %v", name, err)
	return ""
}

// typeTabs runs shell interactively on a terminal (script(1) gives it one) with rc loaded,
// types each of tabCases followed by TAB and ctrl-Y, where rc binds ctrl-Y to write the
// line being edited to $TAB_OUT and clear it, and checks the lines written.
func typeTabs(t *testing.T, shell []string, rc map[string]string) {
	t.Helper()
	scriptBin := needTool(t, "script")
	needTool(t, shell[0])
	dir := t.TempDir()
	for name, text := range rc {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var keys, want strings.Builder
	for _, c := range tabCases {
		keys.WriteString(c.line + "\t\x19")
		want.WriteString(c.want + "|\n")
	}
	keys.WriteString("exit\n")
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptBin, "-qec", strings.Join(shell, " "), "/dev/null")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(keys.String())
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(kitBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TAB_OUT="+out, "ZDOTDIR="+dir, "HOME="+dir, "TERM=xterm")
	screen, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell[0], err, screen)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != want.String() {
		t.Errorf("%s completed (%v):\n%s\nwant:\n%s\nscreen:\n%q", shell[0], err, got, want.String(), screen)
	}
}

// TestBashCompletion types each of tabCases and TAB into an interactive bash (readline and
// bash-completion, as a user has them) that sourced "etcdkit completion bash".
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	const lib = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(lib); err != nil {
		needTool(t, "bash-completion's "+lib)
	}
	typeTabs(t, []string{"bash", "--noprofile", "--rcfile", "rc", "-i"}, map[string]string{"rc": `PS1='> '
source ` + lib + `
source <(etcdkit completion bash)
dump() { printf '%s|\n' "$READLINE_LINE" >> "$TAB_OUT"; READLINE_LINE=; READLINE_POINT=0; }
bind -x '"\C-y": dump'
`})
}

// TestZshCompletion types each of tabCases and TAB into an interactive zsh (its line editor and
// compinit) that sourced "etcdkit completion zsh".
func TestZshCompletion(t *testing.T) {
	t.Parallel()
	typeTabs(t, []string{"zsh", "-i"}, map[string]string{".zshrc": `PS1='> '
autoload -U compinit && compinit -u -D
source <(etcdkit completion zsh)
dump() { print -r -- "$BUFFER|" >> $TAB_OUT; BUFFER= }
zle -N dump
bindkey '^Y' dump
`})
}

// TestFishCompletion asks a real fish for its candidates (complete -C, what fish runs on TAB)
// after sourcing "etcdkit completion fish": the single completion of each of tabCases, and
// the whole list where there are several.
func TestFishCompletion(t *testing.T) {
	t.Parallel()
	fish := needTool(t, "fish")
	lists := []struct{ line, want string }{
		{"etcdkit lease ", "grant keep-alive list revoke timetolive"},
		{"etcdkit get -w ", "fields json protobuf simple table"},
		{"etcdkit completion ", "bash fish zsh"},
	}
	script := `etcdkit completion fish | source
function tab; echo "$argv[1]|"(complete -C "$argv[1]" | string replace -r '\t.*' '' | sort | string join " "); end
`
	var want strings.Builder
	for _, c := range tabCases {
		script += fmt.Sprintf("tab %q\n", c.line)
		// fish completes the word under the cursor: the last word of the line typed.
		i := strings.LastIndex(c.line, " ")
		w := strings.TrimSuffix(c.want[i+1:], " ")
		fmt.Fprintf(&want, "%s|%s\n", c.line, w)
	}
	for _, c := range lists {
		script += fmt.Sprintf("tab %q\n", c.line)
		fmt.Fprintf(&want, "%s|%s\n", c.line, c.want)
	}
	cmd := exec.Command(fish, "--no-config", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(kitBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fish: %v\n%s", err, out)
	}
	if string(out) != want.String() {
		t.Errorf("fish completed:\n%s\nwant:\n%s", out, want.String())
	}
}

// TestCompletionCommand compares completion's argument errors with etcdctl's, and checks
// that each script names etcdkit and runs __complete.
func TestCompletionCommand(t *testing.T) {
	ctl := etcdtest.RequireBinary(t, "etcdctl", "v3.7.3")
	p := &pair{t: t, ctl: ctl, endpoints: "127.0.0.1:1"}
	for _, args := range [][]string{{"completion"}, {"completion", "x"}, {"completion", "bash", "zsh"}} {
		sameOutput(t, p.ctlRun("", args...), p.kitRun("", args...), false, nil)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := p.kitRun("", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "__complete") || !strings.Contains(r.stdout, "etcdkit") {
			t.Errorf("completion %s: exit %d, %q", shell, r.code, r.stdout)
		}
	}
	// Only the shells the tests drive are offered.
	if r := p.kitRun("", "completion", "powershell"); r.code != exitError || !strings.Contains(r.stderr, `invalid argument "powershell"`) {
		t.Errorf("completion powershell: exit %d, %q", r.code, r.stderr)
	}
}

// TestCompareOptions compares options with etcdctl's: the same heading and layout, and the
// same line for every global flag both have, but for those whose behaviour differs.
func TestCompareOptions(t *testing.T) {
	ctl := etcdtest.RequireBinary(t, "etcdctl", "v3.7.3")
	p := &pair{t: t, ctl: ctl, endpoints: "127.0.0.1:1"}
	c, k := p.ctlRun("", "options"), p.kitRun("", "options", "ignored", "-w", "json")
	if c.code != 0 || k.code != 0 {
		t.Fatalf("exit codes: etcdctl %d, etcdkit %d (%s)", c.code, k.code, k.stderr)
	}
	flagLine := regexp.MustCompile(`^ +(?:-., )?--([a-z-]+)`)
	lines := func(out string) (head string, flags map[string]string) {
		flags = map[string]string{}
		for _, l := range strings.SplitAfter(out, "\n") {
			if m := flagLine.FindStringSubmatch(l); m != nil {
				flags[m[1]] = l
			} else {
				head += l
			}
		}
		return head, flags
	}
	ch, cf := lines(c.stdout)
	kh, kf := lines(k.stdout)
	if ch != kh {
		t.Errorf("heading: etcdctl %q, etcdkit %q", ch, kh)
	}
	// etcdkit's keep-alive defaults, receive limit and ignored flags differ (README).
	differ := map[string]bool{"debug": true, "keepalive-time": true, "keepalive-timeout": true, "max-recv-bytes": true, "max-request-bytes": true}
	for name, kl := range kf {
		cl, ok := cf[name]
		switch {
		case !ok:
			t.Errorf("etcdkit's --%s is not etcdctl's", name)
		case !differ[name] && cl != kl:
			t.Errorf("--%s:\netcdctl %q\netcdkit %q", name, cl, kl)
		}
	}
	if len(kf) < 15 {
		t.Errorf("etcdkit options lists %d flags:\n%s", len(kf), k.stdout)
	}
}
