package main

import "github.com/etcdkit/etcdkit/etcd"

// etcdctl prints a response as JSON by marshalling the server's message with encoding/json:
// each field under its proto name, zero values left out, bytes in base64. These types give
// package etcd's results that shape.

// jsonHeader is a response header.
type jsonHeader struct {
	ClusterID uint64 `json:"cluster_id,omitempty"`
	MemberID  uint64 `json:"member_id,omitempty"`
	Revision  int64  `json:"revision,omitempty"`
	RaftTerm  uint64 `json:"raft_term,omitempty"`
}

func headerJSON(h etcd.Header) *jsonHeader {
	return &jsonHeader{ClusterID: h.ClusterID, MemberID: h.MemberID, Revision: h.Revision, RaftTerm: h.RaftTerm}
}

// jsonKV is a key-value (mvccpb.KeyValue).
type jsonKV struct {
	Key            []byte `json:"key,omitempty"`
	CreateRevision int64  `json:"create_revision,omitempty"`
	ModRevision    int64  `json:"mod_revision,omitempty"`
	Version        int64  `json:"version,omitempty"`
	Value          []byte `json:"value,omitempty"`
	Lease          int64  `json:"lease,omitempty"`
}

func kvJSON(kv *etcd.KeyValue) *jsonKV {
	if kv == nil {
		return nil
	}
	return &jsonKV{Key: kv.Key, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision,
		Version: kv.Version, Value: kv.Value, Lease: int64(kv.Lease)}
}

func kvsJSON(kvs []etcd.KeyValue) []*jsonKV {
	out := make([]*jsonKV, len(kvs))
	for i := range kvs {
		out[i] = kvJSON(&kvs[i])
	}
	return out
}

// jsonRange is a get's answer (RangeResponse).
type jsonRange struct {
	Header *jsonHeader `json:"header,omitempty"`
	Kvs    []*jsonKV   `json:"kvs,omitempty"`
	More   bool        `json:"more,omitempty"`
	Count  int64       `json:"count,omitempty"`
}

func rangeJSON(r *etcd.RangeResult) *jsonRange {
	return &jsonRange{Header: headerJSON(r.Header), Kvs: kvsJSON(r.KVs), More: r.More, Count: r.Count}
}

// jsonPut is a put's answer (PutResponse).
type jsonPut struct {
	Header *jsonHeader `json:"header,omitempty"`
	PrevKv *jsonKV     `json:"prev_kv,omitempty"`
}

func putJSON(r *etcd.PutResult) *jsonPut {
	return &jsonPut{Header: headerJSON(r.Header), PrevKv: kvJSON(r.PrevKV)}
}

// jsonDelete is a del's answer (DeleteRangeResponse).
type jsonDelete struct {
	Header  *jsonHeader `json:"header,omitempty"`
	Deleted int64       `json:"deleted,omitempty"`
	PrevKvs []*jsonKV   `json:"prev_kvs,omitempty"`
}

func deleteJSON(r *etcd.DeleteResult) *jsonDelete {
	return &jsonDelete{Header: headerJSON(r.Header), Deleted: r.Deleted, PrevKvs: kvsJSON(r.PrevKVs)}
}

// jsonTxn is a txn's answer (TxnResponse), whose operation results etcdctl prints wrapped as
// {"Response": {"response_put": ...}}.
type jsonTxn struct {
	Header    *jsonHeader `json:"header,omitempty"`
	Succeeded bool        `json:"succeeded,omitempty"`
	Responses []jsonOp    `json:"responses,omitempty"`
}

type jsonOp struct {
	Response jsonOpResponse `json:"Response"`
}

type jsonOpResponse struct {
	Range  *jsonRange  `json:"response_range,omitempty"`
	Put    *jsonPut    `json:"response_put,omitempty"`
	Delete *jsonDelete `json:"response_delete_range,omitempty"`
	Txn    *jsonTxn    `json:"response_txn,omitempty"`
}

func txnJSON(r *etcd.TxnResult) *jsonTxn {
	out := &jsonTxn{Header: headerJSON(r.Header), Succeeded: r.Succeeded}
	for _, op := range r.Results {
		var j jsonOpResponse
		switch {
		case op.Get != nil:
			j.Range = rangeJSON(op.Get)
		case op.Put != nil:
			j.Put = putJSON(op.Put)
		case op.Delete != nil:
			j.Delete = deleteJSON(op.Delete)
		case op.Txn != nil:
			j.Txn = txnJSON(op.Txn)
		}
		out.Responses = append(out.Responses, jsonOp{j})
	}
	return out
}

// jsonWatch is a watch response as etcdctl prints it (clientv3.WatchResponse, whose fields
// have no JSON names).
type jsonWatch struct {
	Header          *jsonHeader
	Events          []jsonEvent
	CompactRevision int64
	Canceled        bool
	Created         bool
	CancelReason    string
}

// jsonEvent is an event (mvccpb.Event); type 0 is PUT, 1 DELETE.
type jsonEvent struct {
	Type   int32   `json:"type,omitempty"`
	Kv     *jsonKV `json:"kv,omitempty"`
	PrevKv *jsonKV `json:"prev_kv,omitempty"`
}

func watchJSON(resp etcd.WatchResponse) jsonWatch {
	out := jsonWatch{Header: headerJSON(resp.Header)}
	for _, ev := range resp.Events {
		e := jsonEvent{Kv: kvJSON(&ev.KV), PrevKv: kvJSON(ev.PrevKV)}
		if ev.Type == etcd.EventDelete {
			e.Type = 1
		}
		out.Events = append(out.Events, e)
	}
	return out
}

// jsonMember is a member (etcdserverpb.Member).
type jsonMember struct {
	ID         uint64   `json:"ID,omitempty"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"peerURLs,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

// jsonMembers is member list's answer (MemberListResponse).
type jsonMembers struct {
	Header  *jsonHeader  `json:"header,omitempty"`
	Members []jsonMember `json:"members,omitempty"`
}

func membersJSON(members []etcd.Member, h etcd.Header) jsonMembers {
	list := make([]jsonMember, len(members))
	for i, m := range members {
		list[i] = jsonMember(m)
	}
	return jsonMembers{headerJSON(h), list}
}

// jsonStatus is one endpoint's status as endpoint status prints it: the endpoint and the
// server's StatusResponse.
type jsonStatus struct {
	Endpoint string
	Status   jsonStatusResponse
}

type jsonStatusResponse struct {
	Header           *jsonHeader    `json:"header,omitempty"`
	Version          string         `json:"version,omitempty"`
	DBSize           int64          `json:"dbSize,omitempty"`
	Leader           uint64         `json:"leader,omitempty"`
	RaftIndex        uint64         `json:"raftIndex,omitempty"`
	RaftTerm         uint64         `json:"raftTerm,omitempty"`
	RaftAppliedIndex uint64         `json:"raftAppliedIndex,omitempty"`
	Errors           []string       `json:"errors,omitempty"`
	DBSizeInUse      int64          `json:"dbSizeInUse,omitempty"`
	IsLearner        bool           `json:"isLearner,omitempty"`
	StorageVersion   string         `json:"storageVersion,omitempty"`
	DBSizeQuota      int64          `json:"dbSizeQuota,omitempty"`
	Downgrade        *jsonDowngrade `json:"downgradeInfo,omitempty"`
}

type jsonDowngrade struct {
	Enabled       bool   `json:"enabled,omitempty"`
	TargetVersion string `json:"targetVersion,omitempty"`
}

func statusJSON(st etcd.Status) jsonStatus {
	r := jsonStatusResponse{
		Header: headerJSON(st.Header), Version: st.Version, DBSize: st.DBSize, Leader: st.Leader,
		RaftIndex: st.RaftIndex, RaftTerm: st.RaftTerm, RaftAppliedIndex: st.RaftAppliedIndex,
		Errors: st.Errors, DBSizeInUse: st.DBSizeInUse, IsLearner: st.IsLearner,
		StorageVersion: st.StorageVersion, DBSizeQuota: st.DBSizeQuota,
	}
	if d := st.Downgrade; d != nil {
		r.Downgrade = &jsonDowngrade{Enabled: d.Enabled, TargetVersion: d.TargetVersion}
	}
	return jsonStatus{st.Endpoint, r}
}
