package api

import "testing"

// TestMessageNamesTheServer: the {{.Server}} of a provisioning message is
// the host devices reach, or the alias when the portal is on a relay.
func TestMessageNamesTheServer(t *testing.T) {
	tests := []struct{ public, alias, want string }{
		{"https://portal.example.com", "", "portal.example.com"},
		{"http://10.0.0.5:8080/", "", "10.0.0.5:8080"},
		{"https://portal.example.com", "acme@example.com", "acme@example.com"},
	}
	for _, tt := range tests {
		a := &API{prov: Provisioning{PublicURL: tt.public, Alias: tt.alias}}
		if got := a.server(); got != tt.want {
			t.Errorf("public %s, alias %q: server %q, want %q", tt.public, tt.alias, got, tt.want)
		}
	}
}
