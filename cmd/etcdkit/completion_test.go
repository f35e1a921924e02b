package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompletions asks __complete directly, as the scripts do.
func TestCompletions(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ge"}, []string{"get"}},
		{[]string{"get", "--pre"}, []string{"--prefix"}},
		{[]string{"--endpoints", "127.0.0.1:2379", "ge"}, []string{"get"}},
		{[]string{"-w", "json", "get", "--k"}, []string{"--keepalive-time", "--keepalive-timeout", "--key", "--keys-only"}},
		{[]string{"lease", ""}, []string{"grant", "keep-alive", "list", "revoke", "timetolive"}},
		{[]string{"downgrade", "c"}, []string{"cancel"}},
		{[]string{"get", "-w", ""}, []string{"fields", "json", "protobuf", "simple", "table"}},
		{[]string{"get", "--write-out=js"}, []string{"--write-out=json"}},
		{[]string{"get", "--order", "D"}, []string{"DESCEND"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"watch", "-"}, nil}, // checked below: has --interactive and the global flags
		{[]string{"get", "k"}, nil},   // keys are not completed
		{[]string{"nosuch", "x"}, nil},
	} {
		got := completions(tc.words)
		if tc.words[0] == "watch" {
			if !slices.Contains(got, "--interactive") || !slices.Contains(got, "-i") || !slices.Contains(got, "--endpoints") || slices.Contains(got, "--prefix=") {
				t.Errorf("completions %q = %q", tc.words, got)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("completions %q = %q, want %q", tc.words, got, tc.want)
		}
	}
	if got := completions(nil); !slices.Contains(got, "get") || !slices.Contains(got, "downgrade") || !slices.Contains(got, "help") || slices.Contains(got, "lease grant") {
		t.Errorf("completions of nothing = %q", got)
	}
}

// shellCases are command lines typed before TAB and what each shell completes them to.
var shellCases = []struct{ line, want string }{
	{"etcdkit ge", "get"},
	{"etcdkit get --pre", "--prefix"},
	{"etcdkit --endpoints 127.0.0.1:2379 ge", "get"},
	{"etcdkit lease ", "grant keep-alive list revoke timetolive"},
	{"etcdkit get -w ", "fields json protobuf simple table"},
	{"etcdkit get --write-out=js", "--write-out=json"},
}

// runShell runs script in shell (its path and flags) with the test's etcdkit first on PATH
// and checks that it printed "line|completions" for each of shellCases; fix rewrites a
// case's completions where the shell shows them its own way.
func runShell(t *testing.T, shell []string, script string, fix func(line, want string) string) {
	t.Helper()
	path, err := exec.LookPath(shell[0])
	if err != nil {
		t.Skipf("no %s", shell[0])
	}
	for _, c := range shellCases {
		script += fmt.Sprintf("tab %q\n", c.line)
	}
	cmd := exec.Command(path, append(shell[1:], script)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(kitBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell[0], err, out)
	}
	var want strings.Builder
	for _, c := range shellCases {
		w := c.want
		if fix != nil {
			w = fix(c.line, w)
		}
		fmt.Fprintf(&want, "%s|%s\n", c.line, w)
	}
	if string(out) != want.String() {
		t.Errorf("%s completed:\n%s\nwant:\n%s", shell[0], out, want.String())
	}
}

// TestBashCompletion sources etcdkit's bash script in a real bash and calls the function
// bash registered for etcdkit as bash does on TAB, with COMP_LINE, COMP_POINT, COMP_WORDS
// and COMP_CWORD set (COMP_WORDS split at "=", as bash's COMP_WORDBREAKS does).
func TestBashCompletion(t *testing.T) {
	runShell(t, []string{"bash", "--norc", "--noprofile", "-c"}, `set -e
source <(etcdkit completion bash)
fn=$(complete -p etcdkit | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[[ -n "$fn" ]] || { echo "no completion function registered for etcdkit"; exit 1; }
tab() {
    COMP_LINE="$1" COMP_POINT=${#1}
    read -ra COMP_WORDS <<< "${1//=/ = }"
    [[ "$1" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMPREPLY=()
    "$fn" etcdkit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "$1|${COMPREPLY[*]}"
}
`, func(line, want string) string {
		_, v, _ := strings.Cut(want, "=") // bash replaces only the part after "="
		if strings.HasSuffix(line, "=js") {
			return v
		}
		return want
	})
}

// TestFishCompletion asks a real fish for its completions (complete -C) after sourcing
// etcdkit's fish script.
func TestFishCompletion(t *testing.T) {
	runShell(t, []string{"fish", "--no-config", "-c"}, `etcdkit completion fish | source
function tab; echo "$argv[1]|"(complete -C "$argv[1]" | string join " "); end
`, nil)
}

// TestZshCompletion sources etcdkit's zsh script in a real zsh and runs its function with
// words and CURRENT set as zsh's completion system sets them, compadd and _files standing
// in for zsh's (which need an interactive line editor).
func TestZshCompletion(t *testing.T) {
	runShell(t, []string{"zsh", "-f", "-c"}, `compdef() { : }
compadd() { shift 2; print -r -- "${(j: :)@}" }
_files() { print -r -- "<files>" }
source <(etcdkit completion zsh)
tab() {
    local -a words; words=(${(z)1}); [[ "$1" == *" " ]] && words+=("")
    local CURRENT=${#words}
    print -rn -- "$1|"; _etcdkit
}
`, nil)
}

// TestCompletionCommand compares completion's argument errors with etcdctl's, and checks
// that each script names etcdkit and runs __complete.
func TestCompletionCommand(t *testing.T) {
	ctl := etcdtest.RequireBinary(t, "etcdctl", "v3.7.3")
	p := &pair{t: t, ctl: ctl, endpoints: "127.0.0.1:1"}
	for _, args := range [][]string{{"completion"}, {"completion", "x"}, {"completion", "bash", "zsh"}} {
		sameOutput(t, p.ctlRun("", args...), p.kitRun("", args...), false, nil)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := p.kitRun("", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "__complete") || !strings.Contains(r.stdout, "etcdkit") {
			t.Errorf("completion %s: exit %d, %q", shell, r.code, r.stdout)
		}
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
