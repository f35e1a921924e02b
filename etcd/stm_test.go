package etcd

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestUpdateConflicts makes another writer change a key between an attempt's read and its
// commit: the attempt must not commit, and the next must run on the new value. A blind
// write is guarded only under LevelSerializableSnapshot.
func TestUpdateConflicts(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	for _, tc := range []struct {
		iso          IsolationLevel
		blind        bool // the other writer changes a key written without being read
		wantAttempts int
		wantCounter  string
	}{
		{LevelSerializableSnapshot, false, 2, "11"},
		{LevelSerializable, false, 2, "11"},
		{LevelRepeatableRead, false, 2, "11"},
		{LevelSerializableSnapshot, true, 2, "1"},
		{LevelSerializable, true, 1, "1"},
		{LevelRepeatableRead, true, 1, "1"},
	} {
		t.Run(fmt.Sprintf("%v/blind=%v", tc.iso, tc.blind), func(t *testing.T) {
			ctx := t.Context()
			p := fmt.Sprintf("stm-conflict/%v/%v/", tc.iso, tc.blind)
			res, err := c.Update(ctx, func(tx *Tx) error {
				n := 0
				if kv, err := tx.Get(p + "counter"); err == nil {
					n, _ = strconv.Atoi(string(kv.Value))
				} else if !errors.Is(err, ErrKeyNotFound) {
					return err
				}
				if !tx.sawOtherWrite(ctx, p, tc.blind) {
					return errors.New("the other write failed")
				}
				tx.Put(p+"counter", strconv.Itoa(n+1))
				tx.Put(p+"blind", "t")
				return nil
			}, Isolation(tc.iso))
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", res.Attempts, tc.wantAttempts)
			}
			for key, want := range map[string]string{"counter": tc.wantCounter, "blind": "t"} {
				kv, err := c.Get(ctx, p+key)
				if err != nil || string(kv.Value) != want {
					t.Errorf("%s = %q, %v; want %q", key, kv.Value, err, want)
				}
			}
			if kv, _ := c.Get(ctx, p+"counter"); kv.ModRevision != res.Revision {
				t.Errorf("counter written at %d, Update says %d", kv.ModRevision, res.Revision)
			}
		})
	}
}

// sawOtherWrite is the test's interference: on the first attempt only, another writer
// changes the counter (to 10) or, with blind, the key the transaction writes without reading.
func (tx *Tx) sawOtherWrite(ctx context.Context, p string, blind bool) bool {
	if tx.prefetched != nil || tx.stale {
		return true // a retry: leave it alone
	}
	key, value := p+"counter", "10"
	if blind {
		key, value = p+"blind", "other"
	}
	_, err := tx.c.Put(ctx, key, value)
	return err == nil
}

// TestUpdateSemantics covers reading one's own writes, aborting, and the errors Update
// passes through.
func TestUpdateSemantics(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	mustPut(t, c, "stm-sem/a", "1")

	res, err := c.Update(ctx, func(tx *Tx) error {
		tx.Put("stm-sem/b", "2")
		if kv, err := tx.Get("stm-sem/b"); err != nil || string(kv.Value) != "2" {
			return fmt.Errorf("own put reads %q, %v", kv.Value, err)
		}
		tx.Delete("stm-sem/a")
		if _, err := tx.Get("stm-sem/a"); !errors.Is(err, ErrKeyNotFound) {
			return fmt.Errorf("own delete reads %v", err)
		}
		tx.Put("stm-sem/c", "x")
		tx.Put("stm-sem/c", "3") // the last write of a key wins; one operation is sent
		return nil
	})
	if err != nil || res.Attempts != 1 {
		t.Fatalf("Update: %+v, %v", res, err)
	}
	got, err := c.Range(ctx, Prefix("stm-sem/"))
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(keysOf(got.KVs)); s != "[stm-sem/b stm-sem/c]" || string(got.KVs[1].Value) != "3" {
		t.Fatalf("after Update: %s", s)
	}

	abort := errors.New("not enough money")
	_, err = c.Update(ctx, func(tx *Tx) error {
		tx.Put("stm-sem/d", "never")
		return abort
	})
	if err != abort {
		t.Fatalf("aborted Update returned %v", err)
	}
	if _, err := c.Get(ctx, "stm-sem/d"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("an aborted Update wrote: %v", err)
	}

	_, err = c.Update(ctx, func(tx *Tx) error { return nil }, Isolation(IsolationLevel(7)))
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unknown isolation: %v", err)
	}
	_, err = c.Update(ctx, func(tx *Tx) error { tx.Put("", "v"); return nil })
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "update") {
		t.Fatalf("empty key: %v", err)
	}

	// A snapshot older than the compaction fails the attempt's read; the next attempt reads
	// afresh.
	old := mustPut(t, c, "stm-sem/e", "1")
	attempts := 0
	res, err = c.Update(ctx, func(tx *Tx) error {
		attempts++
		if _, err := tx.Get("stm-sem/b"); err != nil {
			return err
		}
		if attempts == 1 {
			tx.rev = old - 1 // pretend the snapshot was taken before the compaction below
			mustPut(t, c, "stm-sem/e", "2")
			if _, err := c.Compact(ctx, old+1); err != nil {
				return err
			}
		}
		_, err := tx.Get("stm-sem/e")
		return err
	})
	if err != nil || res.Attempts != 2 {
		t.Fatalf("Update over a compacted snapshot: %+v, %v", res, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Update(cctx, func(tx *Tx) error { _, err := tx.Get("stm-sem/b"); return err }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Update: %v", err)
	}
}

// TestUpdateBank is the bank invariant on a three-member cluster: 16 workers move money
// between 10 accounts for 10 seconds (2 with -short), each with one of the isolation levels,
// while an auditor reads every account at one revision. The total never changes, each
// committed audit transaction sees the total, and every acknowledged transfer is applied
// exactly once: each writes a log key in the same transaction, and the final balances are
// what replaying the logs gives.
func TestUpdateBank(t *testing.T) {
	const (
		accounts = 10
		workers  = 16
		initial  = 100
		total    = accounts * initial
	)
	duration := 10 * time.Second
	if testing.Short() {
		duration = 2 * time.Second
	}
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	c := newClient(t, cl, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	acct := func(i int) string { return fmt.Sprintf("bank/acct/%02d", i) }
	for i := range accounts {
		mustPut(t, c, acct(i), strconv.Itoa(initial))
	}

	type stats struct {
		transfers, declined, audits, attempts, ambiguous int
		acked                                            []string
	}
	isos := []IsolationLevel{LevelSerializableSnapshot, LevelSerializable, LevelRepeatableRead}
	results := make([]stats, workers)
	var badAudits atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(duration)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &results[w]
			iso := isos[w%len(isos)]
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for seq := 0; time.Now().Before(stop); seq++ {
				if seq%10 == 9 {
					sum := 0
					res, err := c.Update(ctx, func(tx *Tx) error {
						sum = 0
						for i := range accounts {
							kv, err := tx.Get(acct(i))
							if err != nil {
								return err
							}
							n, _ := strconv.Atoi(string(kv.Value))
							sum += n
						}
						return nil
					}, Isolation(iso))
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("audit: %v", err)
						}
						return
					}
					st.audits++
					st.attempts += res.Attempts
					if sum != total {
						badAudits.Add(1)
						t.Errorf("worker %d (%v): committed audit saw a total of %d", w, iso, sum)
					}
					continue
				}
				from, to := rng.IntN(accounts), rng.IntN(accounts-1)
				if to >= from {
					to++
				}
				amount := 1 + rng.IntN(20)
				logKey := fmt.Sprintf("bank/log/%02d-%06d", w, seq)
				declined := false
				res, err := c.Update(ctx, func(tx *Tx) error {
					declined = false
					kf, err := tx.Get(acct(from))
					if err != nil {
						return err
					}
					kt, err := tx.Get(acct(to))
					if err != nil {
						return err
					}
					bf, _ := strconv.Atoi(string(kf.Value))
					bt, _ := strconv.Atoi(string(kt.Value))
					if bf < amount {
						declined = true
						return nil
					}
					tx.Put(acct(from), strconv.Itoa(bf-amount))
					tx.Put(acct(to), strconv.Itoa(bt+amount))
					tx.Put(logKey, fmt.Sprintf("%d %d %d", from, to, amount))
					return nil
				}, Isolation(iso))
				st.attempts += res.Attempts
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					st.ambiguous++
					t.Logf("worker %d: transfer %s: %v", w, logKey, err)
				case declined:
					st.declined++
				default:
					st.transfers++
					st.acked = append(st.acked, logKey)
				}
			}
		}()
	}

	// The auditor: every account read at one revision always adds up. A failure stops the
	// workers.
	audits := 0
	for time.Now().Before(stop) {
		res, err := c.Range(ctx, Prefix("bank/acct/"))
		if err != nil {
			t.Error(err)
			break
		}
		sum := 0
		for _, kv := range res.KVs {
			n, _ := strconv.Atoi(string(kv.Value))
			sum += n
		}
		if sum != total {
			t.Errorf("at revision %d the accounts hold %d, want %d", res.Header.Revision, sum, total)
			break
		}
		audits++
		time.Sleep(20 * time.Millisecond)
	}
	if t.Failed() {
		cancel()
		wg.Wait()
		return
	}
	wg.Wait()

	// Replay the log: every applied transfer left exactly one log key, written once.
	balances := make([]int, accounts)
	for i := range balances {
		balances[i] = initial
	}
	logged := map[string]bool{}
	ctx = t.Context()
	for kv, err := range c.Scan(ctx, Prefix("bank/log/")) {
		if err != nil {
			t.Fatal(err)
		}
		if kv.Version != 1 {
			t.Errorf("%s written %d times", kv.Key, kv.Version)
		}
		var from, to, amount int
		if _, err := fmt.Sscanf(string(kv.Value), "%d %d %d", &from, &to, &amount); err != nil {
			t.Fatalf("%s = %q: %v", kv.Key, kv.Value, err)
		}
		balances[from] -= amount
		balances[to] += amount
		logged[string(kv.Key)] = true
	}
	var sum stats
	for _, st := range results {
		sum.transfers += st.transfers
		sum.declined += st.declined
		sum.audits += st.audits
		sum.attempts += st.attempts
		sum.ambiguous += st.ambiguous
		for _, k := range st.acked {
			if !logged[k] {
				t.Errorf("acknowledged transfer %s was not applied", k)
			}
		}
	}
	if extra := len(logged) - sum.transfers; extra < 0 || extra > sum.ambiguous {
		t.Errorf("%d transfers logged, %d acknowledged, %d ambiguous", len(logged), sum.transfers, sum.ambiguous)
	}
	final, err := c.Range(ctx, Prefix("bank/acct/"))
	if err != nil {
		t.Fatal(err)
	}
	total2 := 0
	for i, kv := range final.KVs {
		n, _ := strconv.Atoi(string(kv.Value))
		total2 += n
		if n != balances[i] {
			t.Errorf("%s holds %d, the log says %d", kv.Key, n, balances[i])
		}
		if n < 0 {
			t.Errorf("%s is overdrawn: %d", kv.Key, n)
		}
	}
	if total2 != total {
		t.Errorf("the accounts end with %d, want %d", total2, total)
	}
	if sum.transfers == 0 || sum.audits == 0 {
		t.Fatalf("nothing ran: %+v", sum)
	}
	ops := sum.transfers + sum.declined + sum.audits
	t.Logf("bank, %d workers, %v: %d transfers (%.0f/s), %d declined, %d audit transactions, %d retries after conflicts (%.2f attempts per transaction), %d ambiguous, %d snapshot audits, total always %d",
		workers, duration, sum.transfers, float64(sum.transfers)/duration.Seconds(), sum.declined, sum.audits,
		sum.attempts-ops, float64(sum.attempts)/float64(ops), sum.ambiguous, audits, total)
}

// Move money between accounts: each transfer reads both balances and writes both, and
// commits only if neither changed meanwhile, retrying otherwise.
func ExampleClient_Update() {
	c, err := New(Config{Endpoints: strings.Split(os.Getenv(exampleEndpointsEnv), ",")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for key, balance := range map[string]string{"example-bank/alice": "100", "example-bank/bob": "50"} {
		if _, err := c.Put(ctx, key, balance); err != nil {
			log.Fatal(err)
		}
	}

	transfer := func(from, to string, amount int) error {
		_, err := c.Update(ctx, func(tx *Tx) error {
			kf, err := tx.Get(from)
			if err != nil {
				return err
			}
			kt, err := tx.Get(to)
			if err != nil {
				return err
			}
			bf, _ := strconv.Atoi(string(kf.Value))
			bt, _ := strconv.Atoi(string(kt.Value))
			if bf < amount {
				return fmt.Errorf("%s holds %d, not %d", from, bf, amount)
			}
			tx.Put(from, strconv.Itoa(bf-amount))
			tx.Put(to, strconv.Itoa(bt+amount))
			return nil
		})
		return err
	}
	fmt.Println(transfer("example-bank/alice", "example-bank/bob", 30))
	fmt.Println(transfer("example-bank/bob", "example-bank/alice", 500))
	res, err := c.Range(ctx, Prefix("example-bank/"))
	if err != nil {
		log.Fatal(err)
	}
	for _, kv := range res.KVs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	// Output:
	// <nil>
	// example-bank/bob holds 80, not 500
	// example-bank/alice=70
	// example-bank/bob=80
}
