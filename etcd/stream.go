package etcd

import "context"

// streamEvent is what a stream's receiving goroutine saw: a response or the stream's error.
// gen is the stream's generation, so that the loop owning the stream can tell a stale
// stream's leftovers from the current one's.
type streamEvent[T any] struct {
	gen  int
	resp *T
	err  error
}

// forward sends one stream's responses, and finally its error, to the loop that owns it,
// until the stream fails or ctx (the stream's own) ends.
func forward[T any](ctx context.Context, gen int, recv func() (*T, error), out chan<- streamEvent[T]) {
	for {
		resp, err := recv()
		select {
		case out <- streamEvent[T]{gen: gen, resp: resp, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}
