package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "lock", use: "lock <lockname> [exec-command arg1 arg2 ...]", short: "Acquires a named lock",
		long: `Where etcdkit differs from etcdctl, for the better:
  - Fencing: the lock key's create revision is a fencing token; a command run holding the
    lock gets the key as ETCD_LOCK_KEY and can guard its writes with a transaction that
    compares create(ETCD_LOCK_KEY) with it.
  - Unlock checks ownership: it deletes the key only if its create revision is still this
    holder's, never the key of a later holder after this one's session expired.
  - Held without a command, the lock is given up with an error ("lock lost") as soon as its
    key is deleted or its session expires, rather than held on to in name only.
  - On exit the session's lease is revoked, so the next waiter goes at once.`,
		define: withOptions[lockOpts],
		// The command's own flags are its own: "lock name ls -l" runs "ls -l".
		stopAfter: 2,
		// Holding without a command, it prints the lock's key as get does.
		formats: "fields protobuf"})
}

// lockOpts are lock's flags.
type lockOpts struct{ ttl int64 }

func (o *lockOpts) flags(fs *pflag.FlagSet) { fs.Int64Var(&o.ttl, "ttl", 10, "timeout for session") }

// runLock waits its turn for the lock called name (FIFO), then either runs the command given
// after the name while holding it, with ETCD_LOCK_KEY and ETCD_LOCK_REV in its environment,
// and exits with the command's status; or prints the lock's key and holds the lock until
// SIGINT or SIGTERM. Either way it unlocks and revokes its session before exiting.
func (o *lockOpts) run(a *app, args []string) error {
	if len(args) == 0 {
		return fail(exitBadArgs, "lock takes a lock name argument and an optional command to execute")
	}
	var opts []etcd.SessionOption
	if o.ttl > 0 {
		opts = append(opts, etcd.TTL(time.Duration(o.ttl)*time.Second))
	}
	c, s, err := a.session(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.Close()
	m := s.NewMutex(args[0])
	if err := m.Lock(a.ctx); err != nil {
		return err
	}
	// The key as read now: its revision is ETCD_LOCK_REV, the store's revision once the lock
	// is held, as etcdctl reports it.
	held, err := a.readKey(c, m.Key())
	if err == nil && len(held.KVs) == 0 {
		err = errors.New("lock lost on init")
	}
	if err != nil {
		a.release(m.Unlock)
		return err
	}
	if len(args) > 1 {
		err := a.runHolding(args[1:], m.Key(), held.Header.Revision)
		if uerr := a.release(m.Unlock); err == nil {
			err = uerr
		}
		return err
	}
	if err := a.printRange(held, false); err != nil {
		return err
	}
	a.stdout.Flush()
	return a.hold(s, m.Lost(), "session expired", "lock lost: its key was deleted", m.Unlock)
}

// runHolding runs argv with the lock's key and revision in its environment (after the
// inherited variables, so that a lock taken inside another sees its own), and returns an
// error carrying the command's exit status when it fails.
func (a *app) runHolding(argv []string, key string, rev int64) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "ETCD_LOCK_KEY="+key, fmt.Sprintf("ETCD_LOCK_REV=%d", rev))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, flushWriter{a.stdout}, a.stderr
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return &exitErr{code: ee.ExitCode(), err: err}
	}
	return err
}

// session connects and starts a session (a lease kept alive), its setup bounded by
// --command-timeout. The caller closes both, the session first.
func (a *app) session(opts ...etcd.SessionOption) (*etcd.Client, *etcd.Session, error) {
	c, err := a.client()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := a.commandCtx()
	defer cancel()
	s, err := c.NewSession(ctx, opts...)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, s, nil
}

// readKey reads one key, bounded by --command-timeout.
func (a *app) readKey(c *etcd.Client, key string) (etcd.RangeResult, error) {
	ctx, cancel := a.commandCtx()
	defer cancel()
	return c.Range(ctx, etcd.Key(key))
}

// hold keeps a lock or a leadership until SIGINT or SIGTERM, then gives it up with release.
// It fails with expired when the session ends first, and with lost when the key is deleted
// under it.
func (a *app) hold(s *etcd.Session, lost <-chan struct{}, expired, lostMsg string, release func(context.Context) error) error {
	select {
	case <-a.ctx.Done():
		return a.release(release)
	case <-lost:
		select {
		case <-s.Done():
			return errors.New(expired)
		default:
			return errors.New(lostMsg)
		}
	case <-s.Done():
		return errors.New(expired)
	}
}

// release runs an unlock or a resignation within --command-timeout, even after an interrupt.
func (a *app) release(f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), a.g.commandTimeout)
	defer cancel()
	return f(ctx)
}
