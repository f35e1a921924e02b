package etcdtest

import (
	"io"
	"net"
	"sync"
	"time"
)

// A Proxy is a TCP proxy on a loopback port that forwards every connection it accepts to one
// target address. Tests put it between a client and an etcd member to inject network faults:
// a partition (Blackhole), a reset (DropConnections) and a slow link (SetLatency).
//
// Its methods are safe for concurrent use. Close stops it and waits for all its goroutines.
type Proxy struct {
	ln net.Listener

	mu      sync.Mutex
	target  string
	conns   map[*proxyConn]struct{}
	open    chan struct{} // closed while traffic flows; a fresh, open channel while blackholed
	latency time.Duration
	closed  bool

	wg sync.WaitGroup
}

// proxyConn is one accepted connection and, once dialed, its upstream twin.
type proxyConn struct {
	client net.Conn
	once   sync.Once
	done   chan struct{} // closed by shut

	mu       sync.Mutex
	upstream net.Conn
}

// NewProxy listens on a free port of 127.0.0.1 and forwards each accepted connection to target
// (host:port). The target need not be up yet: a connection that cannot be forwarded is closed.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}, open: open}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the host:port that clients dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the host:port that connections are forwarded to.
func (p *Proxy) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target
}

// Retarget forwards the connections accepted from now on to target, as when a name starts to
// resolve to another server. Current connections keep their target: drop them to move them.
func (p *Proxy) Retarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Blackhole stops all forwarding, like a network partition: connections are still accepted
// and kept open, but no byte passes in either direction and no new connection reaches the
// target until Unblackhole. Bytes already read are held, not lost, as TCP would.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // already blackholed
	}
}

// Unblackhole resumes forwarding on every connection, old and new.
func (p *Proxy) Unblackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// DropConnections closes every current connection on both sides. The proxy keeps accepting
// new ones.
func (p *Proxy) DropConnections() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.shut()
	}
}

// SetLatency delays every chunk of bytes by d, in each direction, before forwarding it.
// Zero, the initial value, forwards at once.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Close stops accepting, closes every connection and returns after all the proxy's goroutines
// have exited. Closing twice is harmless.
func (p *Proxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	var err error
	if !already {
		err = p.ln.Close()
		p.DropConnections()
	}
	p.wg.Wait()
	return err
}

// gate returns a channel that is closed while traffic may flow, and the current latency.
func (p *Proxy) gate() (chan struct{}, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, p.latency
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		c := &proxyConn{client: nc, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve dials the target once traffic may flow and pipes both directions until either side
// ends or the connection is dropped.
func (p *Proxy) serve(c *proxyConn) {
	defer p.wg.Done()
	defer func() {
		c.shut()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	if !p.wait(c) {
		return
	}
	up, err := net.DialTimeout("tcp", p.Target(), 5*time.Second)
	if err != nil {
		return
	}
	c.mu.Lock()
	c.upstream = up
	c.mu.Unlock()
	select {
	case <-c.done: // dropped while dialing
		up.Close()
		return
	default:
	}
	half := make(chan struct{})
	go func() {
		defer close(half)
		p.pipe(c, up, c.client)
	}()
	p.pipe(c, c.client, up)
	<-half
}

// pipe copies src to dst, waiting out blackholes and latency. At the end of src it passes the
// half-close on to dst; on any other error, or when c is shut, it shuts c, so that the other
// direction ends too.
func (p *Proxy) pipe(c *proxyConn, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if !p.wait(c) {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if !p.delay(c, time.Now()) || !p.wait(c) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				c.shut()
				return
			}
		}
		if err == io.EOF {
			if tc, ok := dst.(*net.TCPConn); ok && tc.CloseWrite() == nil {
				return
			}
		}
		if err != nil {
			c.shut()
			return
		}
	}
}

// wait blocks while the proxy is blackholed; it reports false when c was shut meanwhile.
func (p *Proxy) wait(c *proxyConn) bool {
	open, _ := p.gate()
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case <-open:
		return true
	case <-c.done:
		return false
	}
}

// delay waits until the current latency has passed since read; false when c was shut meanwhile.
func (p *Proxy) delay(c *proxyConn, read time.Time) bool {
	_, d := p.gate()
	wait := time.Until(read.Add(d))
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// shut closes both sides of the connection once.
func (c *proxyConn) shut() {
	c.once.Do(func() {
		close(c.done)
		c.client.Close()
		c.mu.Lock()
		if c.upstream != nil {
			c.upstream.Close()
		}
		c.mu.Unlock()
	})
}
