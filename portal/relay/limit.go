package relay

import (
	"net"
	"sync"
)

// Device connections a relay carries at once, unless configured otherwise:
// enough for a large site behind one NAT address, and for a large
// customer's whole fleet, while one client cannot take the relay's memory
// or make a portal run thousands of TLS handshakes.
const (
	defaultMaxPerAddress = 64
	defaultMaxPerAlias   = 4096
)

// connLimit counts the device connections open per address and per alias.
type connLimit struct {
	perAddress, perAlias int

	mu        sync.Mutex
	byAddress map[string]int
	byAlias   map[string]int
}

func newConnLimit(perAddress, perAlias int) *connLimit {
	return &connLimit{perAddress: perAddress, perAlias: perAlias, byAddress: map[string]int{}, byAlias: map[string]int{}}
}

// acquire takes a place for a connection from remote to alias, answering
// why not when either count is full; release gives the place back.
func (l *connLimit) acquire(remote, alias string) (release func(), why string) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.byAddress[host] >= l.perAddress:
		return nil, "too many connections from this address; close some and try again"
	case l.byAlias[alias] >= l.perAlias:
		return nil, "the portal for alias " + alias + " has too many devices connected; try again in a minute"
	}
	l.byAddress[host]++
	l.byAlias[alias]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.byAddress[host]--; l.byAddress[host] == 0 {
				delete(l.byAddress, host)
			}
			if l.byAlias[alias]--; l.byAlias[alias] == 0 {
				delete(l.byAlias, alias)
			}
		})
	}, ""
}
