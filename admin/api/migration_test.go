package api

import "testing"

func TestMigrationDirectURL(t *testing.T) {
	tests := []struct {
		public, host string
		port         int
		want         string
	}{
		{"https://portal.example.com", "portal.example.com", 443, "https://portal.example.com:443"},
		{"http://127.0.0.1:8080", "portal.example.com", 443, "https://portal.example.com:443"},
		{"https://portal.example.com", "dmz.example.com", 80, "http://dmz.example.com:80"},
		{"http://127.0.0.1:8080", "127.0.0.1", 8080, "http://127.0.0.1:8080"},
		{"https://portal.example.com", "10.0.0.5", 8443, "https://10.0.0.5:8443"},
		{"https://portal.example.com", "::1", 8443, "https://[::1]:8443"},
	}
	for _, tt := range tests {
		a := &API{prov: Provisioning{PublicURL: tt.public}}
		if got := a.directURL(tt.host, tt.port); got != tt.want {
			t.Errorf("public %s, %s port %d: got %s, want %s", tt.public, tt.host, tt.port, got, tt.want)
		}
	}
}
