package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
)

// useNameServers sends every DNS query to the given servers (BOOTLOADER_DNS:
// addresses, or address:port, comma-separated), each query to the next. The
// Android launcher passes the network's own: on Android there is no
// /etc/resolv.conf, so a bootloader built without cgo would ask 127.0.0.1.
// An empty list leaves the system's resolver alone.
func useNameServers(list string) error {
	var servers []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if ap, err := netip.ParseAddrPort(s); err == nil {
			servers = append(servers, ap.String())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("BOOTLOADER_DNS: %q is not a name server's address", s)
		}
		servers = append(servers, netip.AddrPortFrom(ip, 53).String())
	}
	if len(servers) == 0 {
		return nil
	}
	var next atomic.Uint32
	var d net.Dialer
	net.DefaultResolver.PreferGo = true
	net.DefaultResolver.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, servers[int(next.Add(1)-1)%len(servers)])
	}
	return nil
}
