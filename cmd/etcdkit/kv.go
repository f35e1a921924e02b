package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "put", use: "put [options] <key> <value> (<value> can also be given from stdin)",
		short: "Puts the given key into the store", define: withOptions[putOpts], formats: "fields protobuf"})
	register(&command{path: "get", use: "get [options] <key> [range_end]",
		short: "Gets the key or a range of keys", define: withOptions[getOpts], formats: "fields protobuf"})
	register(&command{path: "del", use: "del [options] <key> [range_end]",
		short: "Removes the specified key or range of keys [key, range_end)", define: withOptions[delOpts], formats: "fields protobuf"})
}

// errNoKey is etcd's answer to an empty key, given before sending anything.
var errNoKey = errors.New("etcdserver: key is not provided")

// putOpts are put's flags.
type putOpts struct {
	lease                    string
	prevKV, ignoreValue, ign bool
}

func (o *putOpts) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.lease, "lease", "0", "lease ID (in hexadecimal) to attach to the key")
	fs.BoolVar(&o.prevKV, "prev-kv", false, "return the previous key-value pair before modification")
	fs.BoolVar(&o.ignoreValue, "ignore-value", false, "updates the key using its current value")
	fs.BoolVar(&o.ign, "ignore-lease", false, "updates the key using its current lease")
}

// op checks put's arguments and builds its request parts.
func (o *putOpts) op(args []string, stdin io.Reader) (key, value string, opts []etcd.PutOption, err error) {
	if len(args) == 0 {
		return "", "", nil, fail(exitBadArgs, "put command needs 1 argument and input from stdin or 2 arguments")
	}
	key = args[0]
	if o.ignoreValue && len(args) > 1 {
		return "", "", nil, fail(exitBadArgs, "put command needs only 1 argument when 'ignore-value' is set")
	}
	if !o.ignoreValue {
		if len(args) > 1 {
			value = args[1]
		} else {
			var b []byte
			if stdin != nil {
				b, err = io.ReadAll(stdin)
			}
			if len(b) == 0 || err != nil {
				return "", "", nil, fail(exitBadArgs, "put command needs 1 argument and input from stdin or 2 arguments")
			}
			value = string(b)
		}
	}
	id, err := strconv.ParseInt(o.lease, 16, 64)
	if err != nil {
		return "", "", nil, fail(exitBadArgs, "bad lease ID (%v), expecting ID in Hex", err)
	}
	if id != 0 {
		opts = append(opts, etcd.AttachLease(etcd.LeaseID(id)))
	}
	if o.prevKV {
		opts = append(opts, etcd.PrevKV())
	}
	if o.ignoreValue {
		opts = append(opts, etcd.IgnoreValue())
	}
	if o.ign {
		opts = append(opts, etcd.IgnoreLease())
	}
	return key, value, opts, nil
}

func (o *putOpts) run(a *app, args []string) error {
	key, value, opts, err := o.op(args, a.stdin)
	if err != nil {
		return err
	}
	if key == "" {
		return errNoKey
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		res, err := c.Put(ctx, key, value, opts...)
		if err != nil {
			return err
		}
		return a.printPut(res)
	})
}

func (a *app) printPut(res etcd.PutResult) error {
	switch a.g.writeOut {
	case "json":
		return printJSON(a.stdout, putJSON(&res))
	case "protobuf":
		_, err := a.stdout.Write(pbPut(&res))
		return err
	case "fields":
		a.printFieldsHeader(res.Header)
		if res.PrevKV != nil {
			a.printFieldsKV("Prev", res.PrevKV)
		}
		return nil
	}
	fmt.Fprintln(a.stdout, "OK")
	if prev := res.PrevKV; prev != nil {
		a.printKV(prev.Key, prev.Value, false)
	}
	return nil
}

// getOpts are get's flags.
type getOpts struct {
	consistency, order, sortBy string
	limit, rev                 int64
	prefix, fromKey            bool
	keysOnly, countOnly        bool
	valueOnly                  bool
	minCreate, maxCreate       int64
	minMod, maxMod             int64
	paginate                   bool
	pageSize                   int64
	stream                     bool
}

func (o *getOpts) flags(fs *pflag.FlagSet) { o.define(fs, true) }

// define declares get's flags; extras adds etcdkit's own, which a transaction's get lacks.
func (o *getOpts) define(fs *pflag.FlagSet, extras bool) {
	fs.StringVar(&o.consistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
	fs.StringVar(&o.order, "order", "", "Order of results; ASCEND or DESCEND (ASCEND by default)")
	fs.StringVar(&o.sortBy, "sort-by", "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION")
	fs.Int64Var(&o.limit, "limit", 0, "Maximum number of results")
	fs.BoolVar(&o.prefix, "prefix", false, "Get keys with matching prefix")
	fs.BoolVar(&o.fromKey, "from-key", false, "Get keys that are greater than or equal to the given key using byte compare")
	fs.Int64Var(&o.rev, "rev", 0, "Specify the kv revision")
	fs.BoolVar(&o.keysOnly, "keys-only", false, "Get only the keys")
	fs.BoolVar(&o.countOnly, "count-only", false, "Get only the count")
	fs.BoolVar(&o.valueOnly, "print-value-only", false, `Only write values when using the "simple" output format`)
	fs.Int64Var(&o.minCreate, "min-create-rev", 0, "Minimum create revision")
	fs.Int64Var(&o.maxCreate, "max-create-rev", 0, "Maximum create revision")
	fs.Int64Var(&o.minMod, "min-mod-rev", 0, "Minimum modification revision")
	fs.Int64Var(&o.maxMod, "max-mod-rev", 0, "Maximum modification revision")
	if extras {
		fs.BoolVar(&o.stream, "stream", false, "Use the RangeStream RPC")
		fs.BoolVar(&o.paginate, "paginate", false, "etcdkit: read the range in pages at one revision, of any size (simple output, key order)")
		fs.Int64Var(&o.pageSize, "page-size", 1000, "etcdkit: keys per page with --paginate")
	}
}

// op checks get's arguments and builds its range and options.
func (o *getOpts) op(args []string) (etcd.KeyRange, []etcd.ReadOption, error) {
	var r etcd.KeyRange
	if len(args) == 0 {
		return r, nil, fail(exitBadArgs, "get command needs one argument as key and an optional argument as range_end")
	}
	if o.prefix && o.fromKey {
		return r, nil, fail(exitBadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
	}
	if o.keysOnly && o.countOnly {
		return r, nil, fail(exitBadArgs, "`--keys-only` and `--count-only` cannot be set at the same time, choose one")
	}
	var opts []etcd.ReadOption
	switch o.consistency {
	case "s":
		opts = append(opts, etcd.Serializable())
	case "l":
	default:
		return r, nil, fail(exitBadFeature, "unknown consistency flag %q", o.consistency)
	}
	end := ""
	if len(args) > 1 {
		if o.prefix || o.fromKey {
			return r, nil, fail(exitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
		}
		end = args[1]
	}
	if o.limit != 0 {
		opts = append(opts, etcd.Limit(o.limit))
	}
	if o.rev > 0 {
		opts = append(opts, etcd.AtRevision(o.rev))
	}
	var order etcd.SortOrder
	switch strings.ToUpper(o.order) {
	case "ASCEND":
		order = etcd.Ascend
	case "DESCEND":
		order = etcd.Descend
	case "":
	default:
		return r, nil, fail(exitBadFeature, "bad sort order %v", o.order)
	}
	target := etcd.SortByKey
	switch strings.ToUpper(o.sortBy) {
	case "CREATE":
		target = etcd.SortByCreateRevision
	case "KEY", "":
	case "MODIFY":
		target = etcd.SortByModRevision
	case "VALUE":
		target = etcd.SortByValue
	case "VERSION":
		target = etcd.SortByVersion
	default:
		return r, nil, fail(exitBadFeature, "bad sort target %v", o.sortBy)
	}
	if target != etcd.SortByKey || order != 0 {
		opts = append(opts, etcd.Sort(target, order))
	}
	r = keyRange(args[0], end, o.prefix, o.fromKey)
	if o.keysOnly {
		opts = append(opts, etcd.KeysOnly())
	}
	if o.countOnly {
		opts = append(opts, etcd.CountOnly())
	}
	if o.maxCreate > 0 && o.minCreate > o.maxCreate {
		return r, nil, fail(exitBadFeature, "getMinCreateRev(=%v) > getMaxCreateRev(=%v)", o.minCreate, o.maxCreate)
	}
	if o.maxMod > 0 && o.minMod > o.maxMod {
		return r, nil, fail(exitBadFeature, "getMinModRev(=%v) > getMaxModRev(=%v)", o.minMod, o.maxMod)
	}
	if o.minCreate > 0 || o.maxCreate > 0 {
		opts = append(opts, etcd.CreateRevisionBetween(max(o.minCreate, 0), max(o.maxCreate, 0)))
	}
	if o.minMod > 0 || o.maxMod > 0 {
		opts = append(opts, etcd.ModRevisionBetween(max(o.minMod, 0), max(o.maxMod, 0)))
	}
	return r, opts, nil
}

// keyRange turns etcdctl's key arguments into a range: an empty key with --prefix or
// --from-key means every key (etcd.Prefix and etcd.FromKey make it so).
func keyRange(key, end string, prefix, fromKey bool) etcd.KeyRange {
	switch {
	case prefix:
		return etcd.Prefix(key)
	case fromKey:
		return etcd.FromKey(key)
	case end != "":
		return etcd.Between(key, end)
	}
	return etcd.Key(key)
}

func (o *getOpts) run(a *app, args []string) error {
	r, opts, err := o.op(args)
	if err != nil {
		return err
	}
	if len(r.Key) == 0 {
		return errNoKey
	}
	if o.valueOnly && a.g.writeOut != "simple" {
		return fail(exitBadArgs, "print-value-only is only for `--write-out=simple`")
	}
	if o.paginate && o.stream {
		return fail(exitBadArgs, "`--paginate` and `--stream` cannot be set at the same time, choose one")
	}
	if o.paginate {
		c, err := a.client()
		if err != nil {
			return err
		}
		defer c.Close()
		return o.pages(a, c, r, opts)
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		read := c.Range
		if o.stream {
			read = streamed(c)
		}
		res, err := read(ctx, r, opts...)
		if err != nil {
			return err
		}
		if o.countOnly && a.g.writeOut != "fields" {
			return fail(exitBadArgs, "--count-only is only for `--write-out=fields`")
		}
		return a.printRange(res, o.valueOnly)
	})
}

// streamed reads a range over RangeStream (etcd 3.7+) and merges its chunks into the result
// Range would give, as etcdctl's get --stream does: the keys in order, and the header, more
// and count of the last chunk.
func streamed(c *etcd.Client) func(context.Context, etcd.KeyRange, ...etcd.ReadOption) (etcd.RangeResult, error) {
	return func(ctx context.Context, r etcd.KeyRange, opts ...etcd.ReadOption) (etcd.RangeResult, error) {
		var res etcd.RangeResult
		for chunk, err := range c.RangeStream(ctx, r, opts...) {
			if err != nil {
				return etcd.RangeResult{}, err
			}
			kvs := append(res.KVs, chunk.KVs...)
			res, res.KVs = chunk, kvs
		}
		return res, nil
	}
}

func (a *app) printRange(res etcd.RangeResult, valueOnly bool) error {
	switch a.g.writeOut {
	case "json":
		return printJSON(a.stdout, rangeJSON(&res))
	case "protobuf":
		_, err := a.stdout.Write(pbRange(&res))
		return err
	case "fields":
		a.printFieldsHeader(res.Header)
		for i := range res.KVs {
			a.printFieldsKV("", &res.KVs[i])
		}
		fmt.Fprintf(a.stdout, "\"More\" : %t\n\"Count\" : %d\n", res.More, res.Count)
		return nil
	}
	for _, kv := range res.KVs {
		a.printKV(kv.Key, kv.Value, valueOnly)
	}
	return nil
}

// pages prints a range of any size, a page at a time, all at one revision (etcdkit's
// --paginate): the output is get's, but memory stays bounded by the page size.
func (o *getOpts) pages(a *app, c *etcd.Client, r etcd.KeyRange, opts []etcd.ReadOption) error {
	if a.json() || o.countOnly || o.order != "" || o.sortBy != "" {
		return fail(exitBadArgs, "--paginate prints keys in key order with --write-out=simple")
	}
	limit := o.limit
	opts = append(opts, etcd.Limit(o.pageSize))
	n := int64(0)
	for kv, err := range c.Scan(a.ctx, r, opts...) {
		if err != nil {
			return err
		}
		if o.keysOnly {
			a.printKV(kv.Key, nil, false)
		} else {
			a.printKV(kv.Key, kv.Value, o.valueOnly)
		}
		if n++; limit > 0 && n >= limit {
			break
		}
	}
	return nil
}

// delOpts are del's flags.
type delOpts struct {
	prefix, prevKV, fromKey, rng bool
}

func (o *delOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.prefix, "prefix", false, "delete keys with matching prefix")
	fs.BoolVar(&o.prevKV, "prev-kv", false, "return deleted key-value pairs")
	fs.BoolVar(&o.fromKey, "from-key", false, "delete keys that are greater than or equal to the given key using byte compare")
	fs.BoolVar(&o.rng, "range", false, "delete range of keys")
}

// op checks del's arguments; warn is etcdctl's warning for an explicit range without --range.
func (o *delOpts) op(args []string) (r etcd.KeyRange, opts []etcd.DeleteOption, warn string, err error) {
	if len(args) == 0 || len(args) > 2 {
		return r, nil, "", fail(exitBadArgs, "del command needs one argument as key and an optional argument as range_end")
	}
	if o.prefix && o.fromKey {
		return r, nil, "", fail(exitBadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
	}
	end := ""
	if len(args) > 1 {
		if o.prefix || o.fromKey {
			return r, nil, "", fail(exitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
		}
		end = args[1]
		if !o.rng {
			warn = fmt.Sprintf("Warning: Keys between %q and %q will be deleted. Please interrupt the command within next 2 seconds to cancel. "+
				"You can provide `--range` flag to avoid the delay.\n", args[0], args[1])
		}
	}
	if o.prevKV {
		opts = append(opts, etcd.PrevKV())
	}
	return keyRange(args[0], end, o.prefix, o.fromKey), opts, warn, nil
}

func (o *delOpts) run(a *app, args []string) error {
	r, opts, warn, err := o.op(args)
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprint(a.stderr, warn)
		select {
		case <-time.After(2 * time.Second):
		case <-a.ctx.Done():
			return fail(exitInterrupted, "interrupted")
		}
	}
	if len(r.Key) == 0 {
		return errNoKey
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		res, err := c.Delete(ctx, r, opts...)
		if err != nil {
			return err
		}
		return a.printDelete(res)
	})
}

func (a *app) printDelete(res etcd.DeleteResult) error {
	switch a.g.writeOut {
	case "json":
		return printJSON(a.stdout, deleteJSON(&res))
	case "protobuf":
		_, err := a.stdout.Write(pbDelete(&res))
		return err
	case "fields":
		a.printFieldsHeader(res.Header)
		fmt.Fprintf(a.stdout, "\"Deleted\" : %d\n", res.Deleted)
		for i := range res.PrevKVs {
			a.printFieldsKV("Prev", &res.PrevKVs[i])
		}
		return nil
	}
	fmt.Fprintln(a.stdout, res.Deleted)
	for _, kv := range res.PrevKVs {
		a.printKV(kv.Key, kv.Value, false)
	}
	return nil
}
