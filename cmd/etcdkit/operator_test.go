package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

var (
	tookRE   = regexp.MustCompile(`took [0-9.]+[µmn]?s`)
	memberRE = regexp.MustCompile(` *\b[0-9a-f]{12,16}\b`)
)

func maskTook(s string) string    { return tookRE.ReplaceAllString(s, "took X") }
func maskMembers(s string) string { return memberRE.ReplaceAllString(s, " <id>") }

// TestCompareOperator compares the operator's commands on one three-member cluster:
// compaction, defrag, alarm list and disarm with none raised, endpoint hashkv, snapshot save,
// move-leader, and member add, update, promote and remove of members that never start.
func TestCompareOperator(t *testing.T) {
	p := newPair(t, etcdtest.Options{Size: 3})
	for i := range 10 {
		p.must("put", fmt.Sprintf("op/%d", i), "v")
	}
	rev := p.revision()
	for _, tc := range []readCase{
		{name: "alarm list", args: []string{"alarm", "list"}},
		// Answered by whichever member the call reaches: its ID masked.
		{name: "alarm list fields", args: []string{"alarm", "list", "-w", "fields"}, mask: maskMemberIDField},
		{name: "alarm list protobuf", args: []string{"alarm", "list", "-w", "protobuf"}, mask: pbNumbersMasked},
		{name: "alarm disarm, none", args: []string{"alarm", "disarm"}},
		{name: "alarm list args", fails: 128, errWant: "alarm list command accepts no arguments", args: []string{"alarm", "list", "x"}},
		{name: "hashkv", args: []string{"endpoint", "hashkv"}},
		{name: "hashkv rev", args: []string{"endpoint", "hashkv", "--rev", fmt.Sprint(rev - 2)}},
		{name: "hashkv json", args: []string{"endpoint", "hashkv", "-w", "json"}},
		{name: "hashkv future", fails: 1, errWant: "etcdserver: mvcc: required revision is a future revision", args: []string{"endpoint", "hashkv", "--rev", fmt.Sprint(rev + 100)}},
		{name: "defrag", args: []string{"defrag"}, mask: maskTook},
		{name: "defrag cluster", args: []string{"defrag", "--cluster"}, mask: maskTook},
		{name: "defrag table", args: []string{"defrag", "-w", "table"}, mask: maskTook},
		{name: "compaction future fields", fails: 1, errWant: "etcdserver: mvcc: required revision is a future revision", args: []string{"compaction", fmt.Sprint(rev + 100), "-w", "fields"}},
		{name: "compaction no args", fails: 128, errWant: "compaction command needs 1 argument", args: []string{"compaction"}},
		{name: "compaction bad", fails: 1, errWant: "strconv.ParseInt: parsing \"x\": invalid syntax", args: []string{"compaction", "x"}},
		{name: "compaction future", fails: 1, errWant: "etcdserver: mvcc: required revision is a future revision", args: []string{"compaction", fmt.Sprint(rev + 100)}},
		{name: "move-leader bad id", fails: 128, errWant: "strconv.ParseUint: parsing \"xyz\": invalid syntax", args: []string{"move-leader", "xyz"}},
		{name: "snapshot two endpoints", fails: 5, errWant: "snapshot must be requested to one selected node, not multiple", args: []string{"snapshot", "save", "x.db"}},
		{name: "member remove bad id", fails: 128, errWant: "bad member ID arg (strconv.ParseUint: parsing \"xyz\": invalid syntax), expecting ID in Hex", args: []string{"member", "remove", "xyz"}},
		{name: "member add no urls", fails: 128, errWant: "member peer urls not provided", args: []string{"member", "add", "n"}},
		{name: "member add too many", fails: 128, errWant: "too many arguments, did you mean --peer-urls=http://a", args: []string{"member", "add", "n", "http://a"}},
	} {
		p.compareRead(tc)
	}

	t.Run("compaction", func(t *testing.T) {
		ctl := p.ctlRun("", "compaction", fmt.Sprint(rev-4))
		kit := p.kitRun("", "compaction", fmt.Sprint(rev-3))
		ctl.stdout = strings.Replace(ctl.stdout, fmt.Sprint(rev-4), fmt.Sprint(rev-3), 1)
		sameOutput(t, ctl, kit, false, nil)
		p.compareRead(readCase{name: "compacted", fails: 1, errWant: "etcdserver: mvcc: required revision has been compacted", args: []string{"compaction", fmt.Sprint(rev - 4)}})
	})

	t.Run("snapshot save", func(t *testing.T) {
		one := []string{"--endpoints", p.cl.Endpoints()[0], "snapshot", "save"}
		// The backend commits in the background (a page more or less after the compaction
		// above), so etcdkit's snapshot must be bracketed by etcdctl's before and after it.
		ctlData, kitData := compareSnapshotSave(t, p, one)
		after := filepath.Join(t.TempDir(), "after.db")
		if res := p.ctlRun("", append(slices.Clone(one), after)...); res.code != 0 {
			t.Fatalf("etcdctl snapshot save: exit %d: %s", res.code, res.stderr)
		}
		afterData, err := os.ReadFile(after)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := min(len(ctlData), len(afterData)), max(len(ctlData), len(afterData))
		if len(kitData) < lo || len(kitData) > hi {
			t.Errorf("snapshot sizes: etcdctl %d then %d, etcdkit %d between them", len(ctlData), len(afterData), len(kitData))
		}
		missing := filepath.Join(t.TempDir(), "missing", "x.db")
		ctl := p.ctlRun("", append(one, missing)...)
		kit := p.kitRun("", append(one, missing)...)
		sameOutput(t, ctl, kit, false, nil)
		if _, err := os.Stat(missing + ".part"); !os.IsNotExist(err) {
			t.Errorf("a partial file is left: %v", err)
		}
	})

	t.Run("move-leader", func(t *testing.T) { compareMoveLeader(t, p) })
	t.Run("member", func(t *testing.T) { compareMemberChanges(t, p) })
}

// compareMoveLeader moves the leadership to a follower with each program, every endpoint
// given, then with only that follower given (no leader among the endpoints).
func compareMoveLeader(t *testing.T, p *pair) {
	var runs []result
	for _, bin := range []string{p.ctl, kitBin} {
		leader, err := p.cl.Leader(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var follower string
		for _, m := range p.cl.Members {
			if m != leader {
				follower = m.Endpoint()
			}
		}
		id := memberID(t, p, follower)
		runs = append(runs, p.run(bin, "", "move-leader", id))
		// Only followers given: no leader among the endpoints.
		runs = append(runs, p.run(bin, "", "--endpoints", follower, "move-leader", id))
	}
	if runs[0].code != 0 || runs[2].code != 0 {
		t.Errorf("move-leader with every endpoint failed: etcdctl %d %s, etcdkit %d %s", runs[0].code, runs[0].stderr, runs[2].code, runs[2].stderr)
	}
	for i := range 2 {
		runs[i].stdout, runs[i+2].stdout = maskMembers(runs[i].stdout), maskMembers(runs[i+2].stdout)
		runs[i].stderr, runs[i+2].stderr = maskMembers(runs[i].stderr), maskMembers(runs[i+2].stderr)
		sameOutput(t, runs[i], runs[i+2], false, nil)
	}
}

// compareMemberChanges adds, promotes, updates and removes a member that never starts with
// each program, in simple, json and protobuf.
func compareMemberChanges(t *testing.T, p *pair) {
	// Members refuse changes until they have been connected for five seconds.
	waitFor(t, "a cluster ready for membership changes", func() bool {
		r := p.ctlRun("", "member", "add", "probe", "--learner", "--peer-urls=http://127.0.0.1:9")
		if r.code == 0 {
			p.must("member", "remove", addedID(t, r.stdout))
		}
		return r.code == 0
	})
	// etcd derives a member's ID from its peer URLs and the time, and never reuses a removed
	// ID: each run adds its own URLs (ports 1 and 2 plus 10 per run), named alike below.
	var unport []string
	for off := 10; off < 40; off += 10 {
		unport = append(unport, fmt.Sprintf("127.0.0.1:%d\"", 1+off), "127.0.0.1:1\"", fmt.Sprintf("127.0.0.1:%d,", 1+off), "127.0.0.1:1,")
	}
	urls := strings.NewReplacer(unport...)
	for k, flags := range [][]string{{"--learner"}, {"-w", "json"}, {"--learner", "-w", "protobuf"}} {
		var runs []result
		for j, bin := range []string{p.ctl, kitBin} {
			port := func(n int) string { return fmt.Sprintf("--peer-urls=http://127.0.0.1:%d", n+10*j+20*k) }
			args := append([]string{"member", "add", "newbie", port(1)}, flags...)
			add := p.run(bin, "", args...)
			if add.code != 0 {
				t.Fatalf("%s %v: exit %d: %s", bin, args, add.code, add.stderr)
			}
			id := addedID(t, add.stdout)
			var w []string // protobuf is asked of every command, json of add only
			if slices.Contains(flags, "protobuf") {
				w = []string{"-w", "protobuf"}
			}
			promote := p.run(bin, "", append([]string{"member", "promote", id}, w...)...)
			update := p.run(bin, "", append([]string{"member", "update", id, port(2)}, w...)...)
			remove := p.run(bin, "", append([]string{"member", "remove", id}, w...)...)
			again := p.run(bin, "", append([]string{"member", "remove", id}, w...)...)
			runs = append(runs, add, promote, update, remove, again)
		}
		for i := range 5 {
			ctl, kit := runs[i], runs[i+5]
			jsonOut := i == 0 && slices.Equal(flags, []string{"-w", "json"})
			if slices.Contains(flags, "protobuf") {
				ctl.stdout, kit.stdout = pbMembersCanon(ctl.stdout), pbMembersCanon(kit.stdout)
				ctl.stderr, kit.stderr = maskMembers(ctl.stderr), maskMembers(kit.stderr)
				sameOutput(t, ctl, kit, false, nil)
				// The new member's URL after add (port 1) and update (port 2).
				if url := map[int]string{0: `127.0.0.1:1"`, 2: `127.0.0.1:2"`}[i]; url != "" && !strings.Contains(kit.stdout, url) {
					t.Errorf("answer %d does not hold the new member: %s", i, kit.stdout)
				}
				continue
			}
			ctl.stdout, kit.stdout = sortCluster(urls.Replace(ctl.stdout)), sortCluster(urls.Replace(kit.stdout))
			if !jsonOut {
				// In JSON the IDs are decimal, some as short as a hexadecimal ID: dropped below.
				ctl.stdout, kit.stdout = maskMembers(ctl.stdout), maskMembers(kit.stdout)
			}
			ctl.stderr, kit.stderr = maskMembers(ctl.stderr), maskMembers(kit.stderr)
			sameOutput(t, ctl, kit, jsonOut, func(v any) any { return sortMembers(drop("ID", "cluster_id", "member_id", "raft_term", "revision")(v)) })
		}
	}
}

// compareSnapshotSave runs args (ending in "snapshot save") with a file name for each
// program, compares their output and checks that each file ends in the sha256 of the rest;
// it returns both files.
func compareSnapshotSave(t *testing.T, p *pair, args []string) (ctlData, kitData []byte) {
	t.Helper()
	dir := t.TempDir()
	ctlPath, kitPath := filepath.Join(dir, "ctl.db"), filepath.Join(dir, "kit.db")
	ctl := p.ctlRun("", append(slices.Clone(args), ctlPath)...)
	kit := p.kitRun("", append(slices.Clone(args), kitPath)...)
	ctl.stdout = strings.ReplaceAll(ctl.stdout, ctlPath, kitPath)
	sameOutput(t, ctl, kit, false, nil)
	ctlData, err1 := os.ReadFile(ctlPath)
	kitData, err2 := os.ReadFile(kitPath)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for name, data := range map[string][]byte{"etcdctl": ctlData, "etcdkit": kitData} {
		n := len(data) - sha256.Size
		if sum := sha256.Sum256(data[:max(n, 0)]); n <= 0 || n%512 != 0 || !bytes.Equal(sum[:], data[n:]) {
			t.Errorf("%s's snapshot (%d bytes) does not end in the sha256 of the rest", name, len(data))
		}
	}
	return ctlData, kitData
}

// addedID finds the new member's hexadecimal ID in member add's output, simple or JSON.
func addedID(t *testing.T, out string) string {
	t.Helper()
	if m := regexp.MustCompile(`Member +([0-9a-f]+) added`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	if ch := pbFields([]byte(out)); ch != nil && len(ch[2]) == 1 {
		if m := pbFields(ch[2][0]); m != nil && len(m[1]) == 1 {
			id, _ := protowire.ConsumeVarint(m[1][0])
			return fmt.Sprintf("%x", id)
		}
	}
	vals := parseJSONLines(t, out)
	if len(vals) == 1 {
		if m, ok := vals[0].(map[string]any)["member"].(map[string]any); ok {
			var id uint64
			fmt.Sscan(fmt.Sprint(m["ID"]), &id)
			return fmt.Sprintf("%x", id)
		}
	}
	t.Fatalf("no member ID in %q", out)
	return ""
}

// memberID is the hexadecimal ID of the member serving ep.
func memberID(t *testing.T, p *pair, ep string) string {
	t.Helper()
	out := p.must("--endpoints", ep, "endpoint", "status")
	return strings.Split(out, ", ")[1]
}

// TestCompareAlarms fills a tiny quota so that NOSPACE is raised, then compares alarm list
// and alarm disarm, each program disarming an alarm raised for it.
func TestCompareAlarms(t *testing.T) {
	p := newPair(t, etcdtest.Options{Args: []string{"--quota-backend-bytes=1048576", "--backend-batch-interval=10ms"}})
	value := strings.Repeat("x", 512<<10)
	fill := func() {
		for i := 0; i < 100; i++ {
			if r := p.ctlRun(value, "put", fmt.Sprintf("fill/%d", i)); r.code != 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the quota never filled")
	}
	fill()
	p.compareRead(readCase{name: "list", args: []string{"alarm", "list"}})
	p.compareRead(readCase{name: "list json", args: []string{"alarm", "list", "-w", "json"}})
	p.compareRead(readCase{name: "list fields", args: []string{"alarm", "list", "-w", "fields"}})
	p.compareRead(readCase{name: "list fields hex", args: []string{"alarm", "list", "-w", "fields", "--hex"}})
	p.compareRead(readCase{name: "list protobuf", args: []string{"alarm", "list", "-w", "protobuf"}})
	for _, format := range []string{"simple", "json", "fields", "protobuf"} {
		fill()
		ctl := p.ctlRun("", "alarm", "disarm", "-w", format)
		fill()
		kit := p.kitRun("", "alarm", "disarm", "-w", format)
		sameOutput(t, ctl, kit, false, nil)
		if ctl.stdout == "" || ctl.code != 0 {
			t.Errorf("alarm disarm -w %s: etcdctl printed %q, exit %d", format, ctl.stdout, ctl.code)
		}
	}
}

// dropKey deletes the named fields wherever they occur.
func dropKey(names ...string) func(any) any {
	return func(v any) any {
		return eachObject(v, func(m map[string]any) {
			for _, n := range names {
				delete(m, n)
			}
		})
	}
}

var initialCluster = regexp.MustCompile(`ETCD_INITIAL_CLUSTER="([^"]*)"`)

// sortCluster sorts the members named in ETCD_INITIAL_CLUSTER: etcd lists members by their
// random IDs, so a new member's place differs between two runs.
func sortCluster(s string) string {
	return initialCluster.ReplaceAllStringFunc(s, func(m string) string {
		list := strings.Split(initialCluster.FindStringSubmatch(m)[1], ",")
		slices.Sort(list)
		return `ETCD_INITIAL_CLUSTER="` + strings.Join(list, ",") + `"`
	})
}

// sortMembers sorts every "members" list by its JSON, for the same reason.
func sortMembers(v any) any {
	return eachObject(v, func(m map[string]any) {
		if list, ok := m["members"].([]any); ok {
			slices.SortFunc(list, func(a, b any) int {
				ab, _ := json.Marshal(a)
				bb, _ := json.Marshal(b)
				return bytes.Compare(ab, bb)
			})
		}
	})
}

// pbFields splits a protobuf message into its fields' raw values (a varint's bytes, a
// length-delimited field's contents) by field number; nil if b is not a message.
func pbFields(b []byte) map[protowire.Number][][]byte {
	fields := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			_, n = protowire.ConsumeVarint(b)
			if n > 0 {
				fields[num] = append(fields[num], b[:n])
			}
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			fields[num] = append(fields[num], v)
		default:
			return nil
		}
		if n < 0 {
			return nil
		}
		b = b[n:]
	}
	return fields
}

var addedPort = regexp.MustCompile(`127\.0\.0\.1:\d?([12])"`)

// pbMembersCanon renders a membership change's protobuf answer as text for comparing two
// runs that changed different members: the header and each member (ID = 1, name = 2, peer
// and client URLs = 3 and 4, isLearner = 5) with numbers masked and the added members' ports
// reduced to the last digit, the members sorted within each field.
func pbMembersCanon(s string) string {
	top := pbFields([]byte(s))
	if top == nil {
		return fmt.Sprintf("not protobuf: %q", s)
	}
	var out []string
	for num, vals := range top {
		var list []string
		for _, v := range vals {
			m := pbFields(v)
			var parts []string
			for _, f := range []protowire.Number{1, 2, 3, 4, 5} {
				for _, fv := range m[f] {
					if num == 1 || f == 1 || f == 5 {
						parts = append(parts, fmt.Sprintf("%d:N", f))
					} else {
						parts = append(parts, fmt.Sprintf("%d:%q", f, fv))
					}
				}
			}
			list = append(list, addedPort.ReplaceAllString(strings.Join(parts, " "), `127.0.0.1:$1"`))
		}
		slices.Sort(list)
		out = append(out, fmt.Sprintf("%d:{%s}", num, strings.Join(list, "} {")))
	}
	slices.Sort(out)
	return strings.Join(out, "\n") + "\n"
}
