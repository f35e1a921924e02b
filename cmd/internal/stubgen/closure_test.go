package stubgen

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestKeepClosure checks that a keep-list keeps exactly the kept RPCs and the
// transitive closure of their messages and enums, and only the files holding them.
func TestKeepClosure(t *testing.T) {
	tests := []struct {
		keep  string
		files map[string][]string // package -> top-level messages and enums
		rpcs  []string
	}{
		{"Cluster.MemberList", map[string][]string{
			"etcdserverpb": {"Member", "MemberListRequest", "MemberListResponse", "ResponseHeader"},
		}, []string{"Cluster.MemberList"}},
		{"KV.Range", map[string][]string{
			"etcdserverpb": {"RangeRequest", "RangeResponse", "ResponseHeader"},
			"mvccpb":       {"KeyValue"},
		}, []string{"KV.Range"}},
		{"Watch", map[string][]string{
			"etcdserverpb": {"ResponseHeader", "WatchCancelRequest", "WatchCreateRequest", "WatchProgressRequest", "WatchRequest", "WatchResponse"},
			"mvccpb":       {"Event", "KeyValue"},
		}, []string{"Watch.Watch"}},
		{"Auth.RoleGrantPermission,Auth.Authenticate", map[string][]string{
			"etcdserverpb": {"AuthRoleGrantPermissionRequest", "AuthRoleGrantPermissionResponse", "AuthenticateRequest", "AuthenticateResponse", "ResponseHeader"},
			"authpb":       {"Permission"},
		}, []string{"Auth.Authenticate", "Auth.RoleGrantPermission"}},
		{"Lock.Unlock", map[string][]string{
			"etcdserverpb": {"ResponseHeader"},
			"v3lockpb":     {"UnlockRequest", "UnlockResponse"},
		}, []string{"Lock.Unlock"}},
	}
	naming, err := NewNaming("example.com/app/pb")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.keep, func(t *testing.T) {
			cfg := Config{Release: "v3.7.3", Keep: tc.keep}
			tr, err := trim(context.Background(), &cfg, naming)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			var rpcs []string
			for _, fd := range tr.compiled {
				pkg := string(fd.Package().Name())
				for i := 0; i < fd.Messages().Len(); i++ {
					got[pkg] = append(got[pkg], string(fd.Messages().Get(i).Name()))
				}
				for i := 0; i < fd.Enums().Len(); i++ {
					got[pkg] = append(got[pkg], string(fd.Enums().Get(i).Name()))
				}
				for i := 0; i < fd.Services().Len(); i++ {
					sd := fd.Services().Get(i)
					for j := 0; j < sd.Methods().Len(); j++ {
						rpcs = append(rpcs, string(sd.Name())+"."+string(sd.Methods().Get(j).Name()))
					}
				}
			}
			for pkg := range got {
				slices.Sort(got[pkg])
			}
			slices.Sort(rpcs)
			if len(got) != len(tc.files) {
				t.Errorf("packages %v, want %v", got, tc.files)
			}
			for pkg, want := range tc.files {
				if !slices.Equal(got[pkg], want) {
					t.Errorf("%s: %v, want %v", pkg, got[pkg], want)
				}
			}
			if !slices.Equal(rpcs, tc.rpcs) {
				t.Errorf("RPCs %v, want %v", rpcs, tc.rpcs)
			}
			for path, text := range tr.files {
				if strings.Contains(string(text), "import") && !strings.HasSuffix(path, "rpc.proto") && !strings.Contains(path, "v3lockpb") {
					t.Errorf("%s imports something:\n%s", path, text)
				}
			}
		})
	}
}

// TestWireCheckCatchesDifferences tampers with correctly trimmed files and expects the
// wire check to name the element that no longer matches upstream.
func TestWireCheckCatchesDifferences(t *testing.T) {
	naming, err := NewNaming("example.com/app/pb")
	if err != nil {
		t.Fatal(err)
	}
	files, err := loadRelease(context.Background(), "v3.7.3", false, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	set, err := linkUpstream(files)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseKeep("Cluster.MemberList,KV.Range")
	if err != nil {
		t.Fatal(err)
	}
	methods, err := resolveKeep(entries, set)
	if err != nil {
		t.Fatal(err)
	}
	sel := closure(methods)
	good := map[string][]byte{}
	var order []string
	for _, pkg := range []string{"mvccpb", "etcdserverpb"} {
		fd := set.descs[pkg]
		text, err := trimFile(files[pkg], set.asts[pkg], sel, naming, sel.fileDeps(fd, set.byPkg), newStamp(entries, "test"))
		if err != nil {
			t.Fatal(err)
		}
		good[naming.ProtoPath(pkg, files[pkg].spec.name)] = text
		order = append(order, naming.ProtoPath(pkg, files[pkg].spec.name))
	}
	check := func(files map[string][]byte) error {
		compiled, err := compileTrimmed(context.Background(), files, order)
		if err != nil {
			return err
		}
		return wireCheck(compiled, set, sel, naming)
	}
	if err := check(good); err != nil {
		t.Fatalf("untampered: %v", err)
	}
	rpc := naming.ProtoPath("etcdserverpb", "rpc.proto")
	kv := naming.ProtoPath("mvccpb", "kv.proto")
	tests := []struct {
		name, file, old, new, want string
	}{
		{"field number", rpc, "uint64 ID = 1;", "uint64 ID = 9;", "field etcdserverpb.Member.ID: number 9 does not exist upstream"},
		{"field type", rpc, "repeated string peerURLs = 3;", "repeated bytes peerURLs = 3;", "field etcdserverpb.Member.peerURLs"},
		{"field label", rpc, "repeated string peerURLs = 3;", "string peerURLs = 3;", "field etcdserverpb.Member.peerURLs"},
		{"field name", kv, "bytes key = 1;", "bytes name = 1;", "field mvccpb.KeyValue.name"},
		{"json name", kv, "bytes key = 1;", `bytes key = 1 [json_name = "k"];`, `field mvccpb.KeyValue.key: key = 1 optional bytes packed=false map=false oneof="" json="k"`},
		{"deprecated field", kv, "int64 lease = 6;", "int64 lease = 6 [deprecated = true];", "deprecated=true, upstream lease = 6"},
		{"deprecated message", rpc, "message MemberListRequest {", "message MemberListRequest {\n  option deprecated = true;", "message etcdserverpb.MemberListRequest: deprecated=true, upstream false"},
		{"deprecated RPC", rpc, "rpc Range(RangeRequest) returns (RangeResponse) {}", "rpc Range(RangeRequest) returns (RangeResponse) { option deprecated = true; }", "deprecated=true service-deprecated=false, upstream"},
		{"missing field", rpc, "bool isLearner = 5;", "", "message etcdserverpb.Member: 4 fields, upstream has 5"},
		{"enum value", rpc, "DESCEND = 2;", "DESCEND = 3;", "enum etcdserverpb.RangeRequest.SortOrder: value DESCEND = 3 deprecated=false, upstream DESCEND = 2"},
		{"streaming", rpc, "rpc Range(RangeRequest) returns (RangeResponse)", "rpc Range(RangeRequest) returns (stream RangeResponse)", "rpc etcdserverpb.KV.Range"},
		{"method name", rpc, "rpc MemberList(", "rpc MemberLists(", "etcdserverpb.Cluster.MemberLists does not exist upstream"},
		{"extra message", rpc, "message MemberListRequest {", "message Extra {}\nmessage MemberListRequest {", "etcdserverpb.Extra does not exist upstream"},
		{"missing RPC", rpc, "rpc Range(RangeRequest) returns (RangeResponse) {}", "", "missing from the trimmed files: etcdserverpb.KV.Range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := map[string][]byte{}
			for p, text := range good {
				bad[p] = text
			}
			if strings.Count(string(bad[tc.file]), tc.old) != 1 {
				t.Fatalf("%q does not occur exactly once in %s", tc.old, tc.file)
			}
			bad[tc.file] = []byte(strings.Replace(string(bad[tc.file]), tc.old, tc.new, 1))
			err := check(bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
