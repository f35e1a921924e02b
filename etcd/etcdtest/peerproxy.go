package etcdtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// A peerProxy sits in front of a member's peer port (Options.PeerProxy), so that a test can
// cut the member off from its peers while its client port stays open: a member that is
// alive and answers clients, but has no leader. It reads each connection's sender from the
// X-Server-From header etcd's peers send, and refuses connections to its member
// (isolated) or from given members: raft messages travel both on connections the sender
// dials and on streams the receiver dials, so a cut needs both.
type peerProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	conns    map[net.Conn]string // accepted connections and their sender ("" before it is read)
	isolated bool                // refuse every connection
	refused  map[string]bool     // senders whose connections are refused
	closed   bool

	wg sync.WaitGroup
}

func newPeerProxy(target string) (*peerProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &peerProxy{ln: ln, target: target, conns: map[net.Conn]string{}, refused: map[string]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// url is the peer URL the member advertises.
func (p *peerProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *peerProxy) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		p.conns[nc] = ""
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(nc)
	}
}

// serve reads the first request's headers, refuses the connection when its sender is cut,
// and otherwise forwards it both ways until either side ends.
func (p *peerProxy) serve(nc net.Conn) {
	defer p.wg.Done()
	defer func() {
		nc.Close()
		p.mu.Lock()
		delete(p.conns, nc)
		p.mu.Unlock()
	}()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	var head bytes.Buffer
	sender := ""
	for {
		line, err := br.ReadSlice('\n')
		head.Write(line)
		if err != nil {
			return
		}
		if name, value, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":")); ok && bytes.EqualFold(name, []byte("X-Server-From")) {
			sender = string(bytes.TrimSpace(value))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
	}
	nc.SetReadDeadline(time.Time{})
	p.mu.Lock()
	p.conns[nc] = sender
	refuse := p.isolated || p.refused[sender]
	p.mu.Unlock()
	if refuse {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if _, err := up.Write(head.Bytes()); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(nc, up)
		nc.Close()
	}()
	io.Copy(up, br)
	up.Close()
	<-done
}

// cut isolates the member (isolate) or refuses connections from sender, or undoes that, and
// closes the connections now refused.
func (p *peerProxy) cut(isolate bool, sender string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if isolate {
		p.isolated = on
	} else if on {
		p.refused[sender] = true
	} else {
		delete(p.refused, sender)
	}
	for nc, from := range p.conns {
		if p.isolated || (from != "" && p.refused[from]) {
			nc.Close()
		}
	}
}

func (p *peerProxy) close() {
	p.mu.Lock()
	p.closed = true
	for nc := range p.conns {
		nc.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// CutOff cuts m off from its peers, both ways, while its client port stays open: it stays
// alive and answers clients, without a leader (a network partition of its peer traffic). It
// needs Options.PeerProxy.
func (c *Cluster) CutOff(ctx context.Context, m *Member) error {
	return c.setCut(ctx, m, true)
}

// Reconnect undoes CutOff.
func (c *Cluster) Reconnect(ctx context.Context, m *Member) error {
	return c.setCut(ctx, m, false)
}

func (c *Cluster) setCut(ctx context.Context, m *Member, on bool) error {
	if m.peerProxy == nil {
		return errors.New("etcdtest: cutting a member off its peers needs Options.PeerProxy")
	}
	if m.peerID == "" {
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		m.peerID = strconv.FormatUint(st.MemberID, 16)
	}
	m.peerProxy.cut(true, "", on)
	for _, x := range c.Members {
		if x != m && x.peerProxy != nil {
			x.peerProxy.cut(false, m.peerID, on)
		}
	}
	return nil
}
