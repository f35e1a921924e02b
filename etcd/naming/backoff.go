//etcdkit:needs Lease,Watch

package naming

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff spaces out the attempts of one loop: from 50 ms doubling to max, ±50% jitter, back
// to 50 ms after a success, with one timer.
type backoff struct {
	wait, max time.Duration
	timer     *time.Timer
}

const firstWait = 50 * time.Millisecond

func newBackoff(max time.Duration) *backoff { return &backoff{wait: firstWait, max: max} }

// reset starts over after a success.
func (b *backoff) reset() { b.wait = firstWait }

// sleep waits for the next attempt, or less when early fires; it reports false when ctx
// ended first.
func (b *backoff) sleep(ctx context.Context, early <-chan struct{}) bool {
	d := b.wait/2 + rand.N(b.wait)
	b.wait = min(2*b.wait, b.max)
	if b.timer == nil {
		b.timer = time.NewTimer(d)
	} else {
		b.timer.Reset(d) // no stale tick to drain since Go 1.23
	}
	select {
	case <-b.timer.C:
		return true
	case <-early:
		return true
	case <-ctx.Done():
		return false
	}
}

// stop releases the timer.
func (b *backoff) stop() {
	if b.timer != nil {
		b.timer.Stop()
	}
}
