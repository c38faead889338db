// Package relaytest helps test what runs through a relay: a tap on the TCP
// between the relay and its clients that records what it carries and can
// cut it, as a network failure would.
package relaytest

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// Tap forwards TCP connections to a target and records every byte both
// ways; Cut drops the connections it carries.
type Tap struct {
	Addr   string // where to connect instead of the target
	target string

	mu    sync.Mutex
	rec   bytes.Buffer
	conns []net.Conn
}

// StartTap listens on loopback for connections to forward to target, until
// the test ends.
func StartTap(t testing.TB, target string) *Tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &Tap{Addr: ln.Addr().String(), target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", tp.target)
			if err != nil {
				c.Close()
				continue
			}
			tp.mu.Lock()
			tp.conns = append(tp.conns, c, u)
			tp.mu.Unlock()
			go tp.copy(u, c)
			go tp.copy(c, u)
		}
	}()
	t.Cleanup(func() { ln.Close(); tp.Cut() })
	return tp
}

func (tp *Tap) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			tp.mu.Lock()
			tp.rec.Write(buf[:n])
			tp.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// Recorded is every byte the tap carried, both ways.
func (tp *Tap) Recorded() []byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return bytes.Clone(tp.rec.Bytes())
}

// Cut closes every connection the tap carries.
func (tp *Tap) Cut() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, c := range tp.conns {
		c.Close()
	}
	tp.conns = nil
}
