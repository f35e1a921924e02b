package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "txn", use: "txn [options]",
		short:  "Txn processes all the requests in one transaction, read from standard input",
		define: withOptions[txnOpts], formats: "fields protobuf"})
}

// txnOpts are txn's flags.
type txnOpts struct{ interactive bool }

func (o *txnOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "Input transaction in interactive mode")
}

// Transactions are read as etcdctl reads them: comparisons, a blank line, the requests to run
// when every comparison holds, a blank line, the requests to run otherwise, a blank line.
// Unlike etcdctl, the end of the input also ends a section, so the last blank lines may be left
// out.
//
//	mod("key1") > "0"
//
//	put key1 "overwrote-key1"
//
//	put key1 "created-key1"
//	put key2 "some extra key"

func (o *txnOpts) run(a *app, args []string) error {
	if len(args) != 0 {
		return fail(exitBadArgs, "txn command does not accept argument")
	}
	prompt := func(s string) {
		if o.interactive {
			fmt.Fprintln(a.stdout, s)
			a.stdout.Flush()
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(a.stdin)
	var t etcd.Txn
	prompt("compares:")
	if t.If, err = readCompares(r); err != nil {
		return &exitErr{code: exitInvalidInput, err: err}
	}
	prompt("success requests (get, put, del):")
	if t.Then, err = readOps(r); err != nil {
		return &exitErr{code: exitInvalidInput, err: err}
	}
	prompt("failure requests (get, put, del):")
	if t.Else, err = readOps(r); err != nil {
		return &exitErr{code: exitInvalidInput, err: err}
	}
	ctx, cancel := a.commandCtx()
	defer cancel()
	res, err := c.Txn(ctx, t)
	if err != nil {
		return err
	}
	return a.printTxn(res)
}

// readSection returns the trimmed lines up to a blank line or the end of the input.
func readSection(r *bufio.Reader, parse func(string) error) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return nil
		}
		if perr := parse(line); perr != nil {
			return perr
		}
		if err == io.EOF {
			return nil
		}
	}
}

func readCompares(r *bufio.Reader) (cmps []etcd.Cmp, err error) {
	err = readSection(r, func(line string) error {
		c, err := parseCompare(line)
		if err == nil {
			cmps = append(cmps, c)
		}
		return err
	})
	return cmps, err
}

func readOps(r *bufio.Reader) (ops []etcd.Op, err error) {
	err = readSection(r, func(line string) error {
		op, err := parseRequest(line)
		if err == nil {
			ops = append(ops, op)
		}
		return err
	})
	return ops, err
}

// parseCompare reads one comparison: TARGET("key") OP "value", where TARGET is ver[sion],
// c[reate], m[od], val[ue] or lease, and OP is =, ==, !=, < or >.
func parseCompare(line string) (etcd.Cmp, error) {
	target, rest, ok := strings.Cut(line, "(")
	if !ok {
		return etcd.Cmp{}, fmt.Errorf("malformed comparison: %s", line)
	}
	key, op, val, n := scanCompare(rest)
	if n != 3 {
		return etcd.Cmp{}, fmt.Errorf("malformed comparison: %s; got %s(%q) %s %q", line, target, key, op, val)
	}
	invalid := fmt.Errorf("invalid txn compare request: %s", line)
	r := etcd.Key(key)
	var num etcd.NumberTarget
	switch target {
	case "ver", "version":
		num = etcd.CompareVersion(r)
	case "c", "create":
		num = etcd.CompareCreateRevision(r)
	case "m", "mod":
		num = etcd.CompareModRevision(r)
	case "val", "value":
		v := etcd.CompareValue(r)
		switch op {
		case "=", "==":
			return v.Equal(val), nil
		case "!=":
			return v.NotEqual(val), nil
		case "<":
			return v.Less(val), nil
		case ">":
			return v.Greater(val), nil
		}
		return etcd.Cmp{}, invalid
	case "lease":
		num = etcd.CompareLease(r)
	default:
		return etcd.Cmp{}, fmt.Errorf("malformed comparison: %s (unknown target %s)", line, target)
	}
	base := 10
	if target == "lease" {
		base = 16 // leases are written in hex everywhere else
	}
	v, err := strconv.ParseInt(val, base, 64)
	if err != nil {
		return etcd.Cmp{}, invalid
	}
	switch op {
	case "=", "==":
		return num.Equal(v), nil
	case "!=":
		return num.NotEqual(v), nil
	case "<":
		return num.Less(v), nil
	case ">":
		return num.Greater(v), nil
	}
	return etcd.Cmp{}, invalid
}

// scanCompare reads `"key") op "value"` and reports how many of the three parts it read.
func scanCompare(s string) (key, op, val string, n int) {
	key, s, ok := scanQuoted(s)
	if !ok {
		return "", "", "", 0
	}
	n = 1
	s, ok = strings.CutPrefix(s, ")")
	if !ok {
		return key, "", "", n
	}
	s = strings.TrimLeft(s, " \t")
	end := strings.IndexAny(s, " \t")
	if end < 0 {
		end = len(s)
	}
	if end == 0 {
		return key, "", "", n
	}
	op, s = s[:end], strings.TrimLeft(s[end:], " \t")
	n = 2
	val, _, ok = scanQuoted(s)
	if !ok {
		return key, op, "", n
	}
	return key, op, val, 3
}

// scanQuoted reads a Go string literal, double-quoted or back-quoted, at the start of s.
func scanQuoted(s string) (string, string, bool) {
	s = strings.TrimLeft(s, " \t")
	q, err := strconv.QuotedPrefix(s)
	if err != nil || q[0] == '\'' {
		return "", s, false
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return "", s, false
	}
	return v, s[len(q):], true
}

// parseRequest reads one request: a put, get or del command line with its flags.
func parseRequest(line string) (etcd.Op, error) {
	args, err := splitArgs(line)
	if err != nil {
		return etcd.Op{}, err
	}
	if len(args) < 2 {
		return etcd.Op{}, fmt.Errorf("invalid txn compare request: %s", line)
	}
	invalid := fmt.Errorf("invalid txn request: %s", line)
	fs := pflag.NewFlagSet(args[0], pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch args[0] {
	case "put":
		var o putOpts
		o.flags(fs)
		err := fs.Parse(args[1:])
		pos := fs.Args()
		if err != nil {
			return etcd.Op{}, invalid
		}
		key, value, opts, err := o.op(pos, nil)
		if err != nil {
			return etcd.Op{}, invalid
		}
		return etcd.OpPut(key, value, opts...), nil
	case "get":
		var o getOpts
		o.define(fs, false)
		err := fs.Parse(args[1:])
		pos := fs.Args()
		if err != nil {
			return etcd.Op{}, invalid
		}
		r, opts, err := o.op(pos)
		if err != nil {
			return etcd.Op{}, invalid
		}
		return etcd.OpGet(r, opts...), nil
	case "del":
		var o delOpts
		o.flags(fs)
		o.rng = true // no interactive delay inside a transaction
		err := fs.Parse(args[1:])
		pos := fs.Args()
		if err != nil {
			return etcd.Op{}, invalid
		}
		r, opts, _, err := o.op(pos)
		if err != nil {
			return etcd.Op{}, invalid
		}
		return etcd.OpDelete(r, opts...), nil
	}
	return etcd.Op{}, invalid
}

// splitArgs splits a request line into words: "double-quoted" Go strings (with escapes),
// 'single-quoted' literal text, or runs of non-space characters.
func splitArgs(line string) ([]string, error) {
	var args []string
	s := line
	for {
		s = strings.TrimLeft(s, " \t\r\n\v\f")
		if s == "" {
			return args, nil
		}
		switch s[0] {
		case '"':
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				s = s[1:] // an unterminated quote is skipped
				continue
			}
			v, err := strconv.Unquote(q)
			if err != nil {
				return nil, errors.New("invalid syntax")
			}
			args = append(args, v)
			s = s[len(q):]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				s = s[1:]
				continue
			}
			args = append(args, s[1:1+end])
			s = s[end+2:]
		default:
			end := strings.IndexAny(s, " \t\r\n\v\f")
			if end < 0 {
				end = len(s)
			}
			args = append(args, s[:end])
			s = s[end:]
		}
	}
}

func (a *app) printTxn(res etcd.TxnResult) error {
	switch a.g.writeOut {
	case "json":
		return printJSON(a.stdout, txnJSON(&res))
	case "protobuf":
		_, err := a.stdout.Write(pbTxn(&res))
		return err
	case "fields":
		a.printFieldsHeader(res.Header)
		fmt.Fprintf(a.stdout, "\"Succeeded\" : %t\n", res.Succeeded)
		for _, r := range res.Results {
			a.printTxnResult(r)
		}
		return nil
	}
	if res.Succeeded {
		fmt.Fprintln(a.stdout, "SUCCESS")
	} else {
		fmt.Fprintln(a.stdout, "FAILURE")
	}
	for _, r := range res.Results {
		fmt.Fprintln(a.stdout)
		a.printTxnResult(r)
	}
	return nil
}

// printTxnResult prints one operation's result as its own command prints it.
func (a *app) printTxnResult(r etcd.OpResult) {
	switch {
	case r.Delete != nil:
		a.printDelete(*r.Delete)
	case r.Put != nil:
		a.printPut(*r.Put)
	case r.Get != nil:
		a.printRange(*r.Get, false)
	default:
		fmt.Fprintf(a.stdout, "unexpected response %+v\n", r)
	}
}
