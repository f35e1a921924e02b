package etcdtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer accepts connections on a loopback port and echoes every line back, until the
// test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// dialProxy connects to p and returns the connection and a reader of its lines.
func dialProxy(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip sends line and waits up to wait for it to come back; it returns the error if not.
func roundTrip(c net.Conn, r *bufio.Reader, line string, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if got != line+"\n" {
		return errors.New("echoed " + got)
	}
	return nil
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// proxiedEcho starts an echo server behind a proxy and returns the proxy and a connection
// through it that has carried one line.
func proxiedEcho(t *testing.T) (*Proxy, net.Conn, *bufio.Reader) {
	t.Helper()
	p := newProxy(t, echoServer(t))
	c, r := dialProxy(t, p)
	if err := roundTrip(c, r, "first", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return p, c, r
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	p := newProxy(t, echoServer(t))
	if p.Target() == p.Addr() {
		t.Fatalf("proxy listens on its target %s", p.Target())
	}
	c, r := dialProxy(t, p)
	for _, line := range []string{"a", "hello", string(make([]byte, 100<<10))} {
		if err := roundTrip(c, r, line, 5*time.Second); err != nil {
			t.Fatalf("round trip of %d bytes: %v", len(line), err)
		}
	}
}

func TestProxyBlackhole(t *testing.T) {
	t.Parallel()
	p, c, r := proxiedEcho(t)
	p.Blackhole()
	p.Blackhole() // twice is harmless
	var ne net.Error
	if err := roundTrip(c, r, "held", 200*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("round trip through a blackhole: %v, want a timeout", err)
	}
	// A connection made during the blackhole is accepted but carries nothing either.
	c2, r2 := dialProxy(t, p)
	if err := roundTrip(c2, r2, "new", 200*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("new connection through a blackhole: %v, want a timeout", err)
	}
	p.Unblackhole()
	p.Unblackhole()
	// The held bytes arrive after all, in order, like TCP after a healed partition.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("after Unblackhole: %q, %v; want the held line", got, err)
	}
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r2.ReadString('\n'); err != nil || got != "new\n" {
		t.Fatalf("new connection after Unblackhole: %q, %v", got, err)
	}
	if err := roundTrip(c, r, "after", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestProxyDropConnections(t *testing.T) {
	t.Parallel()
	p, c, r := proxiedEcho(t)
	p.DropConnections()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read after DropConnections succeeded")
	} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read after DropConnections timed out instead of failing")
	}
	// New connections still work.
	c2, r2 := dialProxy(t, p)
	if err := roundTrip(c2, r2, "y", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestProxyLatency(t *testing.T) {
	t.Parallel()
	p, c, r := proxiedEcho(t)
	const d = 100 * time.Millisecond
	p.SetLatency(d)
	start := time.Now()
	if err := roundTrip(c, r, "slow", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*d {
		t.Fatalf("round trip took %v, want at least %v (latency both ways)", took, 2*d)
	}
	p.SetLatency(0)
	start = time.Now()
	if err := roundTrip(c, r, "fast", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= d {
		t.Fatalf("round trip without latency took %v", took)
	}
}

func TestProxyClose(t *testing.T) {
	t.Parallel()
	p, c, r := proxiedEcho(t)
	p.Blackhole() // Close must not hang on held connections
	_, _ = dialProxy(t, p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The freed port may be taken again at once by another test (or a loopback self-connect),
	// so a successful dial proves nothing; an echo through it would prove the proxy still runs.
	if d, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		d.SetDeadline(time.Now().Add(500 * time.Millisecond))
		fmt.Fprintln(d, "after close")
		if line, err := bufio.NewReader(d).ReadString('\n'); err == nil && line == "after close\n" {
			t.Fatal("the proxy still forwards after Close")
		}
		d.Close()
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("connection survived Close")
	}
}

func TestProxyTargetDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p := newProxy(t, target)
	c, r := dialProxy(t, p)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read through a proxy to a closed port succeeded")
	}
}
