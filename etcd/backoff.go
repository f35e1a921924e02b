package etcd

import (
	"math/rand/v2"
	"time"
)

// backoff spaces out reconnection attempts: exponential from base to max, with ±50% jitter so
// that many clients do not retry in step, and back to base after a success.
type backoff struct {
	base, max time.Duration
	attempt   int
}

func newBackoff() *backoff { return &backoff{base: 50 * time.Millisecond, max: 2 * time.Second} }

// next returns the wait before the next attempt.
func (b *backoff) next() time.Duration {
	d := b.max
	if b.attempt < 16 {
		d = min(b.base<<b.attempt, b.max)
	}
	b.attempt++
	return d/2 + rand.N(d)
}

// reset starts over after a success.
func (b *backoff) reset() { b.attempt = 0 }
