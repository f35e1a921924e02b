package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// The lock scenario's keys: the mutex, the guarded resource (one key per write, holding the
// writer's fencing token), and each session's worker pid (under the session's lease).
const (
	lockName    = "lk/m"
	resPrefix   = "lk/res/"
	pidPrefix   = "lk/pid/"
	workerTTL   = 2 * time.Second
	guardWrites = 5
)

// Worker environment: the role, the endpoints (comma separated) and the worker's name.
const (
	workerEndpointsEnv = "ETCDKIT_FAULTS_ENDPOINTS"
	workerNameEnv      = "ETCDKIT_FAULTS_NAME"
)

// runWorker is the main of a worker process (the test binary run again with workerEnv set).
func runWorker(role string) int {
	if role != "lock" {
		fmt.Fprintf(os.Stderr, "unknown worker role %q\n", role)
		return 2
	}
	cfg := fast
	cfg.Endpoints = strings.Split(os.Getenv(workerEndpointsEnv), ",")
	c, err := etcd.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	lockWorker(context.Background(), c, os.Getenv(workerNameEnv))
	return 0
}

// lockWorker takes the lock over and over, and while it holds it makes guardWrites writes to
// the resource, each guarded by the lock's ownership (OwnerCmp in the Txn's If). It prints
// "applied" or "fenced" for each write, and runs until killed.
func lockWorker(ctx context.Context, c *etcd.Client, name string) {
	var s *etcd.Session
	seq := 0
	for {
		if s == nil || s.Err() != nil {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ns, err := c.NewSession(sctx, etcd.TTL(workerTTL))
			if err == nil {
				_, err = c.Put(sctx, pidPrefix+ns.Lease().String(), strconv.Itoa(os.Getpid()), etcd.AttachLease(ns.Lease()))
			}
			cancel()
			if err != nil {
				fmt.Println("error", time.Now().UnixMilli(), err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			s = ns
		}
		m := s.NewMutex(lockName)
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := m.Lock(lctx)
		cancel()
		if err != nil {
			fmt.Println("error", time.Now().UnixMilli(), err)
			continue
		}
		token := m.FencingToken()
		for range guardWrites {
			seq++
			wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			res, err := c.Txn(wctx, etcd.Txn{
				If:   []etcd.Cmp{m.OwnerCmp()},
				Then: []etcd.Op{etcd.OpPut(fmt.Sprintf("%s%s/%06d", resPrefix, name, seq), strconv.FormatInt(token, 10))},
			})
			cancel()
			switch {
			case err != nil:
				fmt.Println("error", time.Now().UnixMilli(), err)
			case res.Succeeded:
				fmt.Println("applied")
			default:
				fmt.Println("fenced")
			}
			time.Sleep(60 * time.Millisecond)
		}
		uctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = m.Unlock(uctx) // ErrLockNotHeld after a pause past the TTL
		cancel()
	}
}

// worker is one worker process seen from the test.
type worker struct {
	name    string
	cmd     *exec.Cmd
	out     bytes.Buffer
	stopped [][2]time.Time // when it was stopped and resumed
}

// stopGrace is how long after its resume a worker's errors still count as the stop's: its
// session expired meanwhile, and its calls under way when it stopped ran out of time.
const stopGrace = 5 * time.Second

// unexpectedErrors returns the error lines w printed outside its stops (and stopGrace after
// each): with the cluster healthy throughout, a worker that runs has no reason to fail.
func (w *worker) unexpectedErrors() []string {
	var out []string
	for line := range strings.Lines(w.out.String()) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "error" {
			continue
		}
		ms, err := strconv.ParseInt(f[1], 10, 64)
		at := time.UnixMilli(ms)
		during := slices.ContainsFunc(w.stopped, func(s [2]time.Time) bool {
			return !at.Before(s[0]) && !at.After(s[1].Add(stopGrace))
		})
		if err != nil || !during {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// TestLockWorkers: four worker processes contend for one Mutex while the test kills the
// holder (or anyone) with SIGKILL and stops one with SIGSTOP for longer than the session TTL,
// so that its lease expires and the next waiter takes over while it still believes it holds
// the lock. Every write to the guarded resource carries its holder's fencing token; in
// revision order the tokens never go down: no two holders' writes overlap.
func TestLockWorkers(t *testing.T) {
	cl := startCluster(t)
	c := newClient(t, fast, cl.Endpoints()...)
	ctx := t.Context()
	endpoints := strings.Join(cl.Endpoints(), ",")
	run := pick(12*time.Second, 45*time.Second)

	var (
		mu      sync.Mutex
		workers []*worker
		done    []*worker
		next    int
	)
	spawn := func() *worker {
		w := &worker{name: fmt.Sprintf("w%02d", next)}
		next++
		w.cmd = exec.Command(os.Args[0], "-test.run=^$")
		w.cmd.Env = append(os.Environ(), workerEnv+"=lock", workerEndpointsEnv+"="+endpoints, workerNameEnv+"="+w.name)
		w.cmd.Stdout = &w.out
		w.cmd.Stderr = &w.out
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	reap := func(w *worker) {
		w.cmd.Process.Kill()
		w.cmd.Wait()
		done = append(done, w)
	}
	for range 4 {
		workers = append(workers, spawn())
	}
	t.Cleanup(func() {
		for _, w := range workers {
			reap(w)
		}
	})

	// Arrival times of the resource's writes, for the longest gap (recovery).
	var arrivals []time.Time
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for _, err := range c.Watch(wctx, etcd.Prefix(resPrefix)) {
			if err != nil {
				return
			}
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
		}
	}()

	// holder returns the worker whose session holds the lock, if any.
	holder := func() *worker {
		res, err := c.Range(ctx, etcd.Prefix(lockName+"/"), etcd.Sort(etcd.SortByCreateRevision, etcd.Ascend), etcd.Limit(1))
		if err != nil || len(res.KVs) == 0 {
			return nil
		}
		lease := strings.TrimPrefix(string(res.KVs[0].Key), lockName+"/")
		kv, err := c.Get(ctx, pidPrefix+lease)
		if err != nil {
			return nil
		}
		for _, w := range workers {
			if strconv.Itoa(w.cmd.Process.Pid) == string(kv.Value) {
				return w
			}
		}
		return nil
	}

	faults, kills, stops := 0, 0, 0
	deadline := time.Now().Add(run)
	time.Sleep(time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		victim := holder()
		if i%2 == 1 {
			// Stop the holder: wait until a live one holds (a killed holder's key lives on
			// until its lease expires).
			for wait := time.Now(); victim == nil && time.Since(wait) < 3*workerTTL; victim = holder() {
				time.Sleep(50 * time.Millisecond)
			}
		}
		held := victim != nil
		if victim == nil || i%4 == 2 {
			victim = workers[rand.IntN(len(workers))]
		}
		if i%2 == 0 {
			idx := slices.Index(workers, victim)
			reap(victim)
			workers[idx] = spawn()
			kills++
		} else {
			pid := victim.cmd.Process.Pid
			stoppedAt := time.Now()
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(workerTTL + 1500*time.Millisecond) // past the TTL: the lease expires
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			victim.stopped = append(victim.stopped, [2]time.Time{stoppedAt, time.Now()})
			stops++
			if held && victim == holder() {
				t.Logf("fault %d: %s was stopped past the TTL and still holds the lock", i, victim.name)
			}
		}
		t.Logf("fault %d: %s (holder known: %v)", i, map[bool]string{true: "SIGKILL", false: "SIGSTOP"}[i%2 == 0], held)
		faults++
		time.Sleep(800 * time.Millisecond)
	}
	time.Sleep(time.Second) // the last resumed worker tries its writes
	stopWatch()
	<-watched
	for _, w := range workers {
		reap(w)
	}
	workers = nil

	// The resource's history in revision order: the fencing tokens never decrease.
	type write struct {
		rev, token int64
		key        string
	}
	var writes []write
	for kv, err := range c.Scan(ctx, etcd.Prefix(resPrefix)) {
		if err != nil {
			t.Fatal(err)
		}
		token, _ := strconv.ParseInt(string(kv.Value), 10, 64)
		writes = append(writes, write{kv.CreateRevision, token, string(kv.Key)})
	}
	slices.SortFunc(writes, func(a, b write) int { return int(a.rev - b.rev) })
	var overlaps int64
	for i := 1; i < len(writes); i++ {
		if writes[i].token < writes[i-1].token {
			overlaps++
			t.Errorf("%s (token %d) applied after %s (token %d): two holders at once",
				writes[i].key, writes[i].token, writes[i-1].key, writes[i-1].token)
		}
	}
	var applied, fenced, errs int
	for _, w := range done {
		applied += strings.Count(w.out.String(), "applied\n")
		fenced += strings.Count(w.out.String(), "fenced\n")
		errs += strings.Count(w.out.String(), "error ")
		for _, line := range w.unexpectedErrors() {
			t.Errorf("worker %s failed while it ran: %s", w.name, line)
		}
	}
	if len(writes) == 0 {
		t.Fatal("no guarded write was applied")
	}
	var gap time.Duration
	for i := 1; i < len(arrivals); i++ {
		gap = max(gap, arrivals[i].Sub(arrivals[i-1]))
	}
	row{
		scenario: "lock/kill+stop workers", ops: int64(len(writes) + fenced), faults: faults, dup: overlaps,
		recovery: gap,
		note: fmt.Sprintf("%d kills, %d stops past TTL, %d writes applied (%d reported), %d fenced, %d worker errors",
			kills, stops, len(writes), applied, fenced, errs),
	}.log(t)
}
