package portal

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		out     string
		refused bool
	}{
		{`"30s"`, 30 * time.Second, `"30s"`, false},
		{`"2m"`, 2 * time.Minute, `"2m"`, false},
		{`"1h30m"`, 90 * time.Minute, `"1h30m"`, false},
		{`"1h"`, time.Hour, `"1h"`, false},
		{`"1500ms"`, 1500 * time.Millisecond, `"1.5s"`, false},
		{`"0"`, 0, `"0"`, false},
		{`0`, 0, `"0"`, false},
		{`"soon"`, 0, ``, true},
		{`30`, 0, ``, true},
		{`true`, 0, ``, true},
	}
	for _, tc := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if tc.refused {
			if err == nil {
				t.Errorf("%s: got %v, want refused", tc.in, time.Duration(d))
			}
			continue
		}
		if err != nil || time.Duration(d) != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.in, time.Duration(d), err, tc.want)
			continue
		}
		if b, _ := json.Marshal(d); string(b) != tc.out {
			t.Errorf("%s written back: got %s, want %s", tc.in, b, tc.out)
		}
	}
}

func TestCollaborationSettingsValidate(t *testing.T) {
	good := CollaborationSettings{MaxSessions: 10, IdleTimeout: Duration(time.Minute), GraceWindow: Duration(time.Minute),
		Server: MessagingServer{Host: "xmpp.example.com", Port: 5222, Domain: "example.com", MaxConnections: 100}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good settings refused: %v", err)
	}
	if err := DefaultCollaborationSettings().Validate(); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*CollaborationSettings)
		field string
	}{
		{"negative_cap", func(s *CollaborationSettings) { s.MaxSessions = -1 }, "max_sessions"},
		{"negative_idle_timeout", func(s *CollaborationSettings) { s.IdleTimeout = -1 }, "idle_timeout"},
		{"grace_window_over_a_day", func(s *CollaborationSettings) { s.GraceWindow = Duration(25 * time.Hour) }, "grace_window"},
		{"host_with_a_path", func(s *CollaborationSettings) { s.Server.Host = "xmpp.example.com/x" }, "server.host"},
		{"port_zero", func(s *CollaborationSettings) { s.Server.Port = 0 }, "server.port"},
		{"domain_with_underscore", func(s *CollaborationSettings) { s.Server.Domain = "ex_ample.com" }, "server.domain"},
		{"negative_server_limit", func(s *CollaborationSettings) { s.Server.MaxConnections = -1 }, "server.max_connections"},
	}
	for _, tc := range tests {
		s := good
		tc.edit(&s)
		err := s.Validate()
		if pe, _ := err.(*Error); pe == nil || pe.Code != CodeInvalid || pe.Field != tc.field {
			t.Errorf("%s: got %v, want invalid_field on %s", tc.name, err, tc.field)
		}
	}
}
