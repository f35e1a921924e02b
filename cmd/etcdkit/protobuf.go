package main

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/etcdkit/etcdkit/etcd"
)

// The protobuf format: etcdctl writes the server's response message, marshalled. Package
// etcd hands back results rather than messages, so the few responses etcdkit prints this way
// are encoded here, field by field in field-number order, zero values left out, as
// proto.Marshal writes them: the same bytes.

// pbMessage appends a message field; present messages are written even when empty.
func pbMessage(b []byte, num protowire.Number, msg []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), msg)
}

// pbBytes appends a bytes or string field unless it is empty.
func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return pbMessage(b, num, v)
}

// pbVarint appends an integer or bool field unless it is zero.
func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func pbBool(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// pbHeader is a response header as the first field of its response.
func pbHeader(h etcd.Header) []byte { return pbMessage(nil, 1, pbHeaderMessage(h)) }

// pbHeaderMessage is a response header (etcdserverpb.ResponseHeader: cluster_id = 1,
// member_id = 2, revision = 3, raft_term = 4). It is all etcdctl writes of a lease grant,
// timetolive, list or keep-alive: clientv3's lease responses are Go structs that embed the
// header, so proto.Marshal sees the header alone.
func pbHeaderMessage(h etcd.Header) []byte {
	var m []byte
	m = pbVarint(m, 1, h.ClusterID)
	m = pbVarint(m, 2, h.MemberID)
	m = pbVarint(m, 3, uint64(h.Revision))
	return pbVarint(m, 4, h.RaftTerm)
}

// pbKV is a key-value (mvccpb.KeyValue: key = 1, create_revision = 2, mod_revision = 3,
// version = 4, value = 5, lease = 6).
func pbKV(kv *etcd.KeyValue) []byte {
	var m []byte
	m = pbBytes(m, 1, kv.Key)
	m = pbVarint(m, 2, uint64(kv.CreateRevision))
	m = pbVarint(m, 3, uint64(kv.ModRevision))
	m = pbVarint(m, 4, uint64(kv.Version))
	m = pbBytes(m, 5, kv.Value)
	return pbVarint(m, 6, uint64(kv.Lease))
}

// pbRange is a get's answer (RangeResponse: header = 1, kvs = 2, more = 3, count = 4).
func pbRange(r *etcd.RangeResult) []byte {
	b := pbHeader(r.Header)
	for i := range r.KVs {
		b = pbMessage(b, 2, pbKV(&r.KVs[i]))
	}
	b = pbVarint(b, 3, pbBool(r.More))
	return pbVarint(b, 4, uint64(r.Count))
}

// pbPut is a put's answer (PutResponse: header = 1, prev_kv = 2).
func pbPut(r *etcd.PutResult) []byte {
	b := pbHeader(r.Header)
	if r.PrevKV != nil {
		b = pbMessage(b, 2, pbKV(r.PrevKV))
	}
	return b
}

// pbDelete is a del's answer (DeleteRangeResponse: header = 1, deleted = 2, prev_kvs = 3).
func pbDelete(r *etcd.DeleteResult) []byte {
	b := pbVarint(pbHeader(r.Header), 2, uint64(r.Deleted))
	for i := range r.PrevKVs {
		b = pbMessage(b, 3, pbKV(&r.PrevKVs[i]))
	}
	return b
}

// pbTxn is a txn's answer (TxnResponse: header = 1, succeeded = 2, responses = 3; ResponseOp:
// response_range = 1, response_put = 2, response_delete_range = 3, response_txn = 4).
func pbTxn(r *etcd.TxnResult) []byte {
	b := pbVarint(pbHeader(r.Header), 2, pbBool(r.Succeeded))
	for _, op := range r.Results {
		var m []byte
		switch {
		case op.Get != nil:
			m = pbMessage(nil, 1, pbRange(op.Get))
		case op.Put != nil:
			m = pbMessage(nil, 2, pbPut(op.Put))
		case op.Delete != nil:
			m = pbMessage(nil, 3, pbDelete(op.Delete))
		case op.Txn != nil:
			m = pbMessage(nil, 4, pbTxn(op.Txn))
		}
		b = pbMessage(b, 3, m)
	}
	return b
}

// pbNames is an answer listing users or roles (AuthUserListResponse, AuthRoleListResponse,
// AuthUserGetResponse: header = 1, the names = 2).
func pbNames(h etcd.Header, names []string) []byte {
	b := pbHeader(h)
	for _, n := range names {
		b = protowire.AppendString(protowire.AppendTag(b, 2, protowire.BytesType), n)
	}
	return b
}

// pbRole is role get's answer (AuthRoleGetResponse: header = 1, perm = 2; Permission:
// permType = 1, key = 2, range_end = 3).
func pbRole(h etcd.Header, perms []etcd.Permission) []byte {
	b := pbHeader(h)
	for _, p := range perms {
		m := pbVarint(nil, 1, uint64(p.Type))
		m = pbBytes(m, 2, []byte(p.Key))
		b = pbMessage(b, 2, pbBytes(m, 3, []byte(p.RangeEnd)))
	}
	return b
}

// pbAuthStatus is auth status's answer (AuthStatusResponse: header = 1, enabled = 2,
// authRevision = 3).
func pbAuthStatus(st etcd.AuthStatus) []byte {
	return pbVarint(pbVarint(pbHeader(st.Header), 2, pbBool(st.Enabled)), 3, st.Revision)
}

// pbMembers is member list's answer (MemberListResponse: header = 1, members = 2).
func pbMembers(h etcd.Header, members []etcd.Member) []byte {
	b := pbHeader(h)
	for _, m := range members {
		b = pbMessage(b, 2, pbMember(m))
	}
	return b
}

// pbWatch is a watch response as etcdctl writes it (WatchResponse: header = 1, events = 11;
// Event: type = 1, kv = 2, prev_kv = 3; type 0 is PUT, 1 DELETE).
func pbWatch(resp etcd.WatchResponse) []byte {
	b := pbHeader(resp.Header)
	for _, ev := range resp.Events {
		m := pbVarint(nil, 1, pbBool(ev.Type == etcd.EventDelete))
		m = pbMessage(m, 2, pbKV(&ev.KV))
		if ev.PrevKV != nil {
			m = pbMessage(m, 3, pbKV(ev.PrevKV))
		}
		b = pbMessage(b, 11, m)
	}
	return b
}

// pbMember is a member (Member: ID = 1, name = 2, peerURLs = 3, clientURLs = 4,
// isLearner = 5).
func pbMember(m etcd.Member) []byte {
	b := pbBytes(pbVarint(nil, 1, m.ID), 2, []byte(m.Name))
	for _, u := range m.PeerURLs {
		b = protowire.AppendString(protowire.AppendTag(b, 3, protowire.BytesType), u)
	}
	for _, u := range m.ClientURLs {
		b = protowire.AppendString(protowire.AppendTag(b, 4, protowire.BytesType), u)
	}
	return pbVarint(b, 5, pbBool(m.IsLearner))
}

// pbMemberChange is the answer to member add (MemberAddResponse: header = 1, member = 2,
// members = 3) or to member remove, update and promote (header = 1, members = 2).
func pbMemberChange(ch etcd.MemberChange, add bool) []byte {
	b := pbHeader(ch.Header)
	num := protowire.Number(2)
	if add {
		b = pbMessage(b, 2, pbMember(ch.Member))
		num = 3
	}
	for _, m := range ch.Members {
		b = pbMessage(b, num, pbMember(m))
	}
	return b
}

// pbAlarms is an answer of alarm list or, without a header (h nil), of alarm disarm
// (AlarmResponse: header = 1, alarms = 2; AlarmMember: memberID = 1, alarm = 2).
func pbAlarms(h *etcd.Header, alarms []etcd.Alarm) []byte {
	var b []byte
	if h != nil {
		b = pbHeader(*h)
	}
	for _, al := range alarms {
		b = pbMessage(b, 2, pbVarint(pbVarint(nil, 1, al.MemberID), 2, uint64(alarmNumbers[al.Type])))
	}
	return b
}

// headerText is a response header in protobuf's text format, as Go's %v prints it: its
// non-zero fields as name:value, separated by spaces.
func headerText(h etcd.Header) string {
	var parts []string
	for _, f := range []struct {
		name string
		v    uint64
	}{{"cluster_id", h.ClusterID}, {"member_id", h.MemberID}, {"revision", uint64(h.Revision)}, {"raft_term", h.RaftTerm}} {
		if f.v != 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", f.name, f.v))
		}
	}
	return strings.Join(parts, " ")
}
