package server

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds how long a connection may take to send its PROXY
// header, so a silent peer cannot hold an accept slot.
const proxyHeaderTimeout = 5 * time.Second

// ParseTrustedProxies reads --trusted-proxies: addresses or CIDR ranges
// separated by commas, such as "10.0.0.5,192.168.10.0/24".
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("the trusted proxy %q is neither an address nor a CIDR range such as 10.0.0.0/24", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// proxyListener reads the PROXY protocol header (v1 or v2) that a local or
// DMZ proxy puts in front of each connection it forwards, so request logs,
// audit entries and logon throttling see the device's address rather than
// the proxy's. Only the trusted proxies may send one: a header from any
// other address is refused, since anyone could otherwise claim any address.
// Connections without a header from other addresses are served as they are.
func proxyListener(ln net.Listener, trusted []netip.Prefix) net.Listener {
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: proxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			if isTrusted(o.Upstream, trusted) {
				return proxyproto.USE, nil
			}
			return proxyproto.REJECT, nil
		},
	}
}

func isTrusted(addr net.Addr, trusted []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
