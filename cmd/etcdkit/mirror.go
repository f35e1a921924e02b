package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// make-mirror copies the keys under a prefix to another cluster and keeps them in step: it
// reads every key at one revision and writes it to the destination, then applies each change
// after that revision, those of one revision in one transaction (split at --max-txn-ops). It
// prints how many keys and changes it has applied every 30 seconds, as etcdctl does, and
// runs until interrupted or an error stops it.

func init() {
	register(&command{path: "make-mirror", use: "make-mirror [options] <destination>", short: "Makes a mirror at the destination etcd cluster",
		define: withOptions[mirrorOpts]})
}

// mirrorReport is how often make-mirror prints its count.
const mirrorReport = 30 * time.Second

// mirrorOpts are make-mirror's flags.
type mirrorOpts struct {
	prefix, destPrefix string
	noDestPrefix       bool
	rev                int64
	maxTxnOps          int64
	dest               tlsFiles
	destUser, destPass string
}

func (o *mirrorOpts) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.prefix, "prefix", "", "Key-value prefix to mirror")
	fs.Int64Var(&o.rev, "rev", 0, "Specify the kv revision to start to mirror: its changes from this revision on, without a first copy (0 or 1: copy first)")
	fs.Int64Var(&o.maxTxnOps, "max-txn-ops", 128, "Maximum number of operations permitted in a transaction during syncing updates.")
	fs.StringVar(&o.destPrefix, "dest-prefix", "", "destination prefix to mirror a prefix to a different prefix in the destination cluster")
	fs.BoolVar(&o.noDestPrefix, "no-dest-prefix", false, "mirror key-values to the root of the destination cluster")
	fs.StringVar(&o.dest.cert, "dest-cert", "", "Identify secure client using this TLS certificate file for the destination cluster")
	fs.StringVar(&o.dest.key, "dest-key", "", "Identify secure client using this TLS key file")
	fs.StringVar(&o.dest.cacert, "dest-cacert", "", "Verify certificates of TLS enabled secure servers using this CA bundle")
	fs.BoolVar(&o.dest.insecure, "dest-insecure-transport", true, "Disable transport security for client connections")
	fs.StringVar(&o.destUser, "dest-user", "", "Destination username[:password] for authentication (prompt if password is not supplied)")
	fs.StringVar(&o.destPass, "dest-password", "", "Destination password for authentication (if this option is used, --user option shouldn't include password)")
}

func (o *mirrorOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "make-mirror takes one destination argument")
	}
	if o.maxTxnOps < 0 {
		err := fmt.Errorf("invalid argument \"%d\" for \"--max-txn-ops\" flag: strconv.ParseUint: parsing \"%d\": invalid syntax", o.maxTxnOps, o.maxTxnOps)
		return &exitErr{code: exitError, err: err, usage: true}
	}
	dst, err := a.dial([]string{args[0]}, login{tls: o.dest, user: o.destUser, password: o.destPass, prompt: "Destination Password: "})
	if err != nil {
		return err
	}
	defer dst.Close()
	src, err := a.client()
	if err != nil {
		return err
	}
	defer src.Close()
	if o.noDestPrefix && o.destPrefix != "" {
		return fail(exitBadArgs, "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one")
	}
	if !o.noDestPrefix && o.destPrefix == "" {
		o.destPrefix = o.prefix
	}

	m := &mirror{opts: o, src: src, dst: dst}
	stop := m.report(a)
	defer stop()
	err = m.run(a.ctx)
	switch {
	case a.ctx.Err() != nil:
		return &exitErr{code: 130} // interrupted, like etcdctl killed by SIGINT
	case errors.Is(err, etcd.ErrCompacted):
		return fail(exitError, "etcdserver: mvcc: required revision has been compacted")
	}
	return &exitErr{code: exitError, err: err}
}

// mirror is one run of make-mirror.
type mirror struct {
	opts     *mirrorOpts
	src, dst *etcd.Client
	total    atomic.Int64 // keys copied and changes applied
}

// report prints the count every mirrorReport until the returned function is called, which
// returns once the printer has stopped.
func (m *mirror) report(a *app) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(mirrorReport)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintln(a.stdout, m.total.Load())
				a.stdout.Flush()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// run copies the prefix at one revision (unless --rev names where to start) and then applies
// the changes after it until ctx ends or an error stops it.
func (m *mirror) run(ctx context.Context) error {
	r := etcd.Prefix(m.opts.prefix)
	from := m.opts.rev
	if from <= 1 {
		rev, err := m.copy(ctx, r)
		if err != nil {
			return err
		}
		from = rev + 1
	}
	return m.follow(ctx, r, from)
}

// copy writes every key of r as of one revision to the destination, in transactions of up
// to --max-txn-ops puts, and returns that revision.
func (m *mirror) copy(ctx context.Context, r etcd.KeyRange) (int64, error) {
	head, err := m.src.Range(ctx, r, etcd.Limit(1), etcd.KeysOnly())
	if err != nil {
		return 0, err
	}
	rev := head.Header.Revision
	var ops []etcd.Op
	for kv, err := range m.src.Scan(ctx, r, etcd.AtRevision(rev)) {
		if err != nil {
			return 0, err
		}
		ops = append(ops, etcd.OpPut(m.destKey(kv.Key), string(kv.Value)))
		if m.full(ops) {
			if err := m.commit(ctx, ops); err != nil {
				return 0, err
			}
			ops = ops[:0]
		}
	}
	return rev, m.commit(ctx, ops)
}

// follow applies the changes to r from revision from on. The watch yields events one at a
// time; those of one revision come together, so they are gathered into one transaction,
// committed when a later revision's event arrives, when --max-txn-ops is reached, or when
// no further event is waiting (etcdctl commits at the end of each watch response).
func (m *mirror) follow(ctx context.Context, r etcd.KeyRange, from int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type item struct {
		ev  etcd.Event
		err error
	}
	events := make(chan item, 1024)
	go func() {
		defer close(events)
		for ev, err := range m.src.Watch(ctx, r, etcd.FromRevision(from)) {
			select {
			case events <- item{ev, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var ops []etcd.Op
	var rev int64
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-events:
		default:
			if err := m.commit(ctx, ops); err != nil {
				return err
			}
			ops = ops[:0]
			it, ok = <-events
		}
		if !ok {
			return ctx.Err()
		}
		if it.err != nil {
			return it.err
		}
		if len(ops) > 0 && (it.ev.Revision != rev || m.full(ops)) {
			if err := m.commit(ctx, ops); err != nil {
				return err
			}
			ops = ops[:0]
		}
		rev = it.ev.Revision
		key := m.destKey(it.ev.KV.Key)
		switch it.ev.Type {
		case etcd.EventPut:
			ops = append(ops, etcd.OpPut(key, string(it.ev.KV.Value)))
		case etcd.EventDelete:
			ops = append(ops, etcd.OpDelete(etcd.Key(key)))
		default:
			continue
		}
	}
}

// full reports whether ops has reached --max-txn-ops (zero: no limit).
func (m *mirror) full(ops []etcd.Op) bool {
	return m.opts.maxTxnOps > 0 && int64(len(ops)) >= m.opts.maxTxnOps
}

// commit applies ops to the destination in one transaction and counts them.
func (m *mirror) commit(ctx context.Context, ops []etcd.Op) error {
	if len(ops) == 0 {
		return nil
	}
	if _, err := m.dst.Txn(ctx, etcd.Txn{Then: ops}); err != nil {
		return err
	}
	m.total.Add(int64(len(ops)))
	return nil
}

// destKey is a source key under the destination prefix.
func (m *mirror) destKey(key []byte) string {
	return m.opts.destPrefix + strings.TrimPrefix(string(key), m.opts.prefix)
}
