package main

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

// nameServer answers every A query on loopback UDP with 192.0.2.7, and every
// other query with no answer.
func nameServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			end := 12
			for end < n && q[end] != 0 {
				end += int(q[end]) + 1
			}
			end += 5 // the root label, type and class
			if end > n {
				continue
			}
			resp := append([]byte(nil), q[:end]...)
			put16(resp[2:], 0x8180) // a response, recursion available, no error
			put16(resp[8:], 0)
			put16(resp[10:], 0)
			if int(q[end-4])<<8|int(q[end-3]) == 1 { // A
				put16(resp[6:], 1)
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7)
			} else {
				put16(resp[6:], 0)
			}
			pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String()
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

func TestUseNameServers(t *testing.T) {
	preferGo, dial := net.DefaultResolver.PreferGo, net.DefaultResolver.Dial
	t.Cleanup(func() { net.DefaultResolver.PreferGo, net.DefaultResolver.Dial = preferGo, dial })

	if err := useNameServers(" , "); err != nil || net.DefaultResolver.Dial != nil {
		t.Fatalf("an empty list: %v, and the resolver changed", err)
	}
	if err := useNameServers("192.0.2.1,portal.example.com"); err == nil {
		t.Error("a host name was taken for a name server")
	}

	if err := useNameServers(nameServer(t) + ","); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, "portal.example.com")
	if err != nil || !slices.Contains(addrs, "192.0.2.7") {
		t.Errorf("LookupHost = %v, %v; want the answer of the name server given", addrs, err)
	}
}
