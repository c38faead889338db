package relay

import (
	"strings"
	"testing"
)

func TestConnLimitCountsAddressesAndAliases(t *testing.T) {
	l := newConnLimit(2, 3)
	rel1, _ := l.acquire("10.0.0.1:4000", "acme")
	rel2, _ := l.acquire("10.0.0.1:4001", "acme")
	if rel, why := l.acquire("10.0.0.1:4002", "other"); rel != nil || !strings.Contains(why, "this address") {
		t.Fatalf("a third connection from one address: %q", why)
	}
	rel3, _ := l.acquire("10.0.0.2:4000", "acme")
	if rel, why := l.acquire("10.0.0.3:4000", "acme"); rel != nil || !strings.Contains(why, "alias acme") {
		t.Fatalf("a fourth connection to one alias: %q", why)
	}
	rel1()
	rel1() // a second release changes nothing
	if rel, why := l.acquire("10.0.0.3:4000", "acme"); rel == nil {
		t.Fatalf("after a release: %q", why)
	}
	// 10.0.0.1 holds one place (rel2): one more fits, a second does not,
	// however often rel1 was called.
	if rel, why := l.acquire("10.0.0.1:4003", "other"); rel == nil {
		t.Fatalf("the address's second place: %q", why)
	}
	if rel, _ := l.acquire("10.0.0.1:4004", "other"); rel != nil {
		t.Fatal("a released place was given back twice")
	}
	rel2()
	rel3()
}
