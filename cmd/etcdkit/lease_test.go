package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// grantLease grants a lease with a chosen ID, so that both programs can be shown the same one.
// Package etcd grants leases with IDs the server picks, so the request is written by hand:
// LeaseGrantRequest{TTL: ttl, ID: id} is fields 1 and 2, both varints.
func grantLease(t *testing.T, p *pair, id, ttl int64) {
	t.Helper()
	req := protowire.AppendTag(nil, 1, protowire.VarintType)
	req = protowire.AppendVarint(req, uint64(ttl))
	req = protowire.AppendTag(req, 2, protowire.VarintType)
	req = protowire.AppendVarint(req, uint64(id))
	rawCall(t, p.cl.Endpoints()[0], "/etcdserverpb.Lease/LeaseGrant", req)
}

// rawCall makes one unary call by method path with a request encoded by hand and returns the
// encoded response: the CLI's tests reach etcd only through the two programs otherwise.
func rawCall(t *testing.T, endpoint, method string, req []byte) []byte {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var resp []byte
	if err := conn.Invoke(t.Context(), method, &req, &resp, grpc.ForceCodec(rawCodec{})); err != nil {
		t.Fatal(err)
	}
	return resp
}

// rawCodec sends and receives messages already encoded, as *[]byte.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

var remaining = regexp.MustCompile(`remaining\(\d+s\)`)

// TestCompareLease compares the lease commands on the same leases.
func TestCompareLease(t *testing.T) {
	t.Parallel() // its keep-alives wait 20 s, beside make-mirror's wait
	p := newPair(t, etcdtest.Options{})
	grantLease(t, p, 0x1234abcd, 1000)
	grantLease(t, p, 0x42, 500)
	p.must("put", "leased/a", "1", "--lease", "1234abcd")
	p.must("put", "leased/b", "2", "--lease", "42")
	ttlMask := func(s string) string { return remaining.ReplaceAllString(s, "remaining(Ns)") }
	for _, tc := range []readCase{
		{name: "list", args: []string{"lease", "list"}},
		{name: "list json", args: []string{"lease", "list", "-w", "json"}},
		{name: "list fields", args: []string{"lease", "list", "-w", "fields"}},
		{name: "list fields hex", args: []string{"lease", "list", "-w", "fields", "--hex"}},
		{name: "list table", fails: 4, errWant: "table not supported as output format", args: []string{"lease", "list", "-w", "table"}},
		{name: "timetolive fields", args: []string{"lease", "timetolive", "1234abcd", "--keys", "-w", "fields"}, mask: maskTTLField},
		{name: "timetolive expired fields", args: []string{"lease", "timetolive", "999", "-w", "fields"}},
		{name: "keep-alive once fields", args: []string{"lease", "keep-alive", "--once", "42", "-w", "fields", "--hex"}},
		// etcdctl writes only the response header of these.
		{name: "list protobuf", args: []string{"lease", "list", "-w", "protobuf"}},
		{name: "timetolive protobuf", args: []string{"lease", "timetolive", "1234abcd", "-w", "protobuf"}},
		{name: "keep-alive once protobuf", args: []string{"lease", "keep-alive", "--once", "42", "-w", "protobuf"}},
		{name: "grant protobuf", args: []string{"lease", "grant", "100", "-w", "protobuf"}},
		{name: "timetolive", args: []string{"lease", "timetolive", "1234abcd"}, mask: ttlMask},
		{name: "timetolive keys", args: []string{"lease", "timetolive", "--keys", "1234abcd"}, mask: ttlMask},
		{name: "timetolive json", args: []string{"lease", "timetolive", "1234abcd", "--keys", "-w", "json"}, norm: drop("ttl")},
		{name: "timetolive expired", args: []string{"lease", "timetolive", "999"}},
		{name: "timetolive expired json", args: []string{"lease", "timetolive", "999", "-w", "json"}},
		{name: "timetolive bad id", fails: 128, errWant: "bad lease ID arg (strconv.ParseInt: parsing \"xyz\": invalid syntax), expecting ID in Hex", args: []string{"lease", "timetolive", "xyz"}},
		{name: "timetolive no args", fails: 128, errWant: "lease timetolive command needs lease ID as argument", args: []string{"lease", "timetolive"}},
		{name: "keep-alive once", args: []string{"lease", "keep-alive", "--once", "42"}},
		{name: "keep-alive once json", args: []string{"lease", "keep-alive", "--once", "42", "-w", "json"}},
		{name: "revoke unknown", fails: 1, errWant: "failed to revoke lease (etcdserver: requested lease not found)", args: []string{"lease", "revoke", "777"}},
		{name: "revoke no args", fails: 128, errWant: "lease revoke command needs 1 argument", args: []string{"lease", "revoke"}},
		{name: "grant bad ttl", fails: 128, errWant: "bad TTL (strconv.ParseInt: parsing \"ten\": invalid syntax)", args: []string{"lease", "grant", "ten"}},
		{name: "grant no args", fails: 128, errWant: "lease grant command needs TTL argument", args: []string{"lease", "grant"}},
	} {
		p.compareRead(tc)
	}

	t.Run("grant", func(t *testing.T) {
		ctl, kit := p.ctlRun("", "lease", "grant", "30"), p.kitRun("", "lease", "grant", "30")
		ctl.stdout, kit.stdout = maskLeases(ctl.stdout), maskLeases(kit.stdout)
		sameOutput(t, ctl, kit, false, nil)
		ctl, kit = p.ctlRun("", "lease", "grant", "30", "-w", "json"), p.kitRun("", "lease", "grant", "30", "-w", "json")
		sameOutput(t, ctl, kit, true, drop("ID", "revision"))
		ctl, kit = p.ctlRun("", "lease", "grant", "30", "-w", "fields"), p.kitRun("", "lease", "grant", "30", "-w", "fields")
		ctl.stdout, kit.stdout = maskFieldNumbers(ctl.stdout, "ID", "Revision"), maskFieldNumbers(kit.stdout, "ID", "Revision")
		sameOutput(t, ctl, kit, false, nil)
	})
	t.Run("revoke", func(t *testing.T) {
		for i := range 2 {
			grantLease(t, p, int64(0x700+i), 100)
			grantLease(t, p, int64(0x800+i), 100)
		}
		ctl, kit := p.ctlRun("", "lease", "revoke", "700"), p.kitRun("", "lease", "revoke", "701")
		kit.stdout = strings.ReplaceAll(kit.stdout, "701", "700")
		sameOutput(t, ctl, kit, false, nil)
		ctl, kit = p.ctlRun("", "lease", "revoke", "800", "-w", "json"), p.kitRun("", "lease", "revoke", "801", "-w", "json")
		sameOutput(t, ctl, kit, true, drop("revision"))
		grantLease(t, p, 0x810, 100)
		grantLease(t, p, 0x811, 100)
		ctl, kit = p.ctlRun("", "lease", "revoke", "810", "-w", "fields"), p.kitRun("", "lease", "revoke", "811", "-w", "fields")
		ctl.stdout, kit.stdout = maskFieldNumbers(ctl.stdout, "Revision"), maskFieldNumbers(kit.stdout, "Revision")
		sameOutput(t, ctl, kit, false, nil)
		// etcdctl revokes, then fails to print: its error names a pointer, masked here.
		grantLease(t, p, 0x820, 100)
		grantLease(t, p, 0x821, 100)
		ctl, kit = p.ctlRun("", "lease", "revoke", "820", "-w", "protobuf"), p.kitRun("", "lease", "revoke", "821", "-w", "protobuf")
		pointer := regexp.MustCompile(`\[\] \[\] (0x[0-9a-f]+|<nil>)\}`)
		ctl.stderr, kit.stderr = pointer.ReplaceAllString(ctl.stderr, "[] [] P}"), pointer.ReplaceAllString(kit.stderr, "[] [] P}")
		sameOutput(t, ctl, kit, false, nil)
		for _, id := range []string{"820", "821"} {
			if out := p.must("lease", "timetolive", id); !strings.Contains(out, "already expired") {
				t.Errorf("lease %s after revoke -w protobuf: %s", id, out)
			}
		}
	})
	t.Run("keep-alive until revoked", func(t *testing.T) {
		// Each program keeps its own lease alive, which is then revoked under it.
		outs := make([]string, 2)
		for i, bin := range []string{p.ctl, kitBin} {
			id := fmt.Sprintf("%x", 0x900+i)
			grantLease(t, p, int64(0x900+i), 30)
			bg := p.start(bin, "lease", "keep-alive", id)
			first := bg.line()
			p.must("lease", "revoke", id)
			r := bg.wait()
			outs[i] = strings.ReplaceAll(first+r.stdout, id, "<id>")
			if r.code != 0 {
				t.Errorf("%s: exit %d: %s", bin, r.code, r.stderr)
			}
		}
		if outs[0] != outs[1] {
			t.Errorf("keep-alive output differs:\n--- etcdctl\n%s--- etcdkit\n%s", outs[0], outs[1])
		}
	})
}

// TestCompareCluster compares member list, endpoint status and endpoint health on a
// three-member cluster, every endpoint given.
func TestCompareCluster(t *testing.T) {
	p := newPair(t, etcdtest.Options{Size: 3})
	p.settle()
	for _, tc := range clusterCases(p) {
		p.compareRead(tc)
	}
	t.Run("endpoint status down", func(t *testing.T) {
		dead := "127.0.0.1:1"
		args := []string{"--endpoints", p.endpoints + "," + dead, "--command-timeout=1s", "endpoint", "status"}
		ctl, kit := p.run(p.ctl, "", args...), p.run(kitBin, "", args...)
		if ctl.code != kit.code || maskSizes(ctl.stdout) != maskSizes(kit.stdout) {
			t.Errorf("etcdctl %d:\n%s\netcdkit %d:\n%s", ctl.code, ctl.stdout, kit.code, kit.stdout)
		}
	})
}

// clusterCases are the commands whose output depends on the endpoints given or found with
// --cluster, for a three-member cluster: member list, endpoint status, health and hashkv.
func clusterCases(p *pair) []readCase {
	took := regexp.MustCompile(`took = \S+`)
	return []readCase{
		{name: "member list", args: []string{"member", "list"}},
		// The header names whichever member answered.
		{name: "member list json", args: []string{"member", "list", "-w", "json"}, norm: drop("member_id")},
		{name: "member list serializable", args: []string{"member", "list", "--consistency=s"}},
		// A member's database sizes move as its backend commits in the background.
		{name: "endpoint status", args: []string{"endpoint", "status"}, mask: maskSizes},
		{name: "endpoint status json", args: []string{"endpoint", "status", "-w", "json"}, norm: drop("dbSize", "dbSizeInUse")},
		{name: "endpoint status cluster", args: []string{"endpoint", "status", "--cluster"}, mask: maskSizes},
		{name: "endpoint health", args: []string{"endpoint", "health"}, mask: func(s string) string {
			lines := strings.Split(took.ReplaceAllString(s, "took = X"), "\n")
			return strings.Join(sortedLines(lines), "\n")
		}},
		{name: "endpoint health json", args: []string{"endpoint", "health", "-w", "json"}, norm: func(v any) any {
			v = drop("took")(v)
			return sortByEndpoint(v)
		}},
		{name: "member list table", args: []string{"member", "list", "-w", "table"}},
		{name: "member list protobuf", args: []string{"--endpoints", p.cl.Endpoints()[1], "member", "list", "-w", "protobuf"}},
		{name: "member list fields", args: []string{"member", "list", "-w", "fields"}, mask: maskMemberIDField},
		{name: "member list fields hex", args: []string{"member", "list", "-w", "fields", "--hex"}, mask: maskMemberIDField},
		{name: "endpoint status table", args: []string{"endpoint", "status", "-w", "table"}, mask: maskTableSizes},
		{name: "endpoint status fields", args: []string{"endpoint", "status", "-w", "fields"}, mask: func(s string) string {
			return maskFieldNumbers(s, "DBSize", "DBSizeInUse")
		}},
		{name: "endpoint hashkv table", args: []string{"endpoint", "hashkv", "-w", "table"}},
		{name: "endpoint hashkv fields", args: []string{"endpoint", "hashkv", "-w", "fields"}},
		// Health is checked in parallel: rows come in completion order, with their times.
		{name: "endpoint health table", args: []string{"endpoint", "health", "-w", "table"}, mask: func(s string) string {
			return strings.Join(sortedLines(strings.Split(maskTableTook(s), "\n")), "\n")
		}},
		{name: "endpoint health fields", args: []string{"endpoint", "health", "-w", "fields"}, mask: func(s string) string {
			blocks := strings.Split(maskFieldNumbers(s, "Took"), "\n\n")
			return strings.Join(sortedLines(blocks), "\n\n")
		}},
		{name: "alarm list table", fails: 4, errWant: "table not supported as output format", args: []string{"alarm", "list", "-w", "table"}},
		{name: "endpoint health cluster", args: []string{"endpoint", "health", "--cluster"}, mask: func(s string) string {
			return strings.Join(sortedLines(strings.Split(took.ReplaceAllString(s, "took = X"), "\n")), "\n")
		}},
		{name: "endpoint hashkv cluster", args: []string{"endpoint", "hashkv", "--cluster"}},
		{name: "endpoint hashkv cluster json", args: []string{"endpoint", "hashkv", "--cluster", "-w", "json"}},
		{name: "endpoint status cluster table", args: []string{"endpoint", "status", "--cluster", "-w", "table"}, mask: maskTableSizes},
		{name: "member list one endpoint", args: []string{"--endpoints", p.cl.Endpoints()[2], "member", "list", "-w", "table"}},
	}
}

func sortedLines(lines []string) []string {
	out := slices.Clone(lines)
	slices.Sort(out)
	return out
}

// sortByEndpoint orders endpoint health results, which arrive in completion order.
func sortByEndpoint(v any) any {
	for _, doc := range v.([]any) {
		if list, ok := doc.([]any); ok {
			slices.SortFunc(list, func(a, b any) int {
				return strings.Compare(fmt.Sprint(a.(map[string]any)["endpoint"]), fmt.Sprint(b.(map[string]any)["endpoint"]))
			})
		}
	}
	return v
}

var sizes = regexp.MustCompile(`, [0-9.]+ [kMG]?B, [0-9.]+ [kMG]?B, -?\d+%`)

func maskSizes(s string) string { return sizes.ReplaceAllString(s, ", <sizes>") }

// maskFieldNumbers hides the values of the named fields in fields format, which differ
// between two runs (revisions, times, database sizes).
func maskFieldNumbers(s string, names ...string) string {
	for _, n := range names {
		s = regexp.MustCompile(`(?m)^"`+n+`" : .*$`).ReplaceAllString(s, `"`+n+`" : X`)
	}
	return s
}

// maskMemberIDField hides the header's member ID: whichever member answered.
func maskMemberIDField(s string) string { return maskFieldNumbers(s, "MemberID") }

func maskTTLField(s string) string { return maskFieldNumbers(s, "TTL") }

var (
	tableSizes = regexp.MustCompile(`│ +[0-9.]+ [kMG]?B │ +[0-9.]+ [kMG]?B │ +\d+% │`)
	tableTook  = regexp.MustCompile(`─+|│ +[0-9.]+[µmn]?s │`)
)

// maskTableSizes hides the database sizes in an endpoint status table, whose columns may
// then be narrower or wider by a character; the other cells are compared as they are.
func maskTableSizes(s string) string {
	s = tableSizes.ReplaceAllString(s, "│ <sizes> │")
	return regexp.MustCompile(`(?m)^[┌├└].*$`).ReplaceAllString(s, "<rule>")
}

// maskTableTook hides the times in an endpoint health table, and the widths they give the rules.
func maskTableTook(s string) string {
	s = tableTook.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "─") {
			return "─"
		}
		return "│ <took> │"
	})
	return regexp.MustCompile(`│ +TOOK +│`).ReplaceAllString(s, "│ TOOK │")
}
