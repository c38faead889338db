package api

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"provportal/portal"
)

// TestCollaborationSchemasMatchTypes checks the collaboration schemas as
// TestOpenAPISchemasMatchTypes checks the others.
func TestCollaborationSchemasMatchTypes(t *testing.T) {
	schema := openAPISchemas(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	active := portal.CollaborationSession{ID: "s1", UserID: "u1", Username: "alice", DeviceID: "d1", DeviceName: "laptop",
		JID: "alice@example.com/laptop", Since: now, LastStatusAt: now, State: portal.SessionActive, InCoverage: true}
	away := active
	away.State, away.InCoverage, away.GraceUntil = portal.SessionAway, false, &now
	settings := portal.CollaborationSettings{MaxSessions: 2, IdleTimeout: portal.Duration(30 * time.Second),
		GraceWindow: portal.Duration(2 * time.Minute), Server: portal.MessagingServer{Host: "127.0.0.1", Port: 5222, Domain: "example.com", MaxConnections: 10}}
	responses := []schemaCase{
		{"CollaborationSession", active},
		{"CollaborationSession", away},
		{"CollaborationSessionList", map[string]any{"items": []portal.CollaborationSession{active, away}, "total": 2}},
		{"CollaborationSessionList", map[string]any{"items": []portal.CollaborationSession{}, "total": 0}},
		{"CollaborationSettings", settings},
		{"CollaborationSettings", portal.DefaultCollaborationSettings()},
		{"MessagingServer", settings.Server},
		{"User", portal.User{ID: "u1", Username: "alice", Groups: []string{}, Collaboration: true, CreatedAt: now, UpdatedAt: now}},
		{"Group", portal.Group{ID: "g1", Name: "chat", Collaboration: true, CreatedAt: now, UpdatedAt: now}},
	}
	checkResponses(t, schema, responses)
	requests := []schemaCase{
		{"CollaborationSettingsUpdate", collaborationSettingsRequest{}},
		{"MessagingServerUpdate", messagingServerRequest{}},
	}
	checkRequests(t, schema, requests)
	codes := schema("Error").Properties["error"].Value.Properties["code"].Value.Enum
	for _, c := range []portal.Code{portal.CodeNotPermitted, portal.CodeServerBusy, portal.CodeFailed, portal.CodeBadCredentials} {
		if !slices.Contains(codes, any(string(c))) {
			t.Errorf("Error.code does not list %s", c)
		}
	}
}

func TestCollaborationSettingsRequest(t *testing.T) {
	base := portal.CollaborationSettings{MaxSessions: 5, IdleTimeout: portal.Duration(time.Minute), GraceWindow: portal.Duration(time.Minute),
		Server: portal.MessagingServer{Host: "xmpp.example.com", Port: 5222, Domain: "example.com"}}
	tests := []struct {
		name      string
		body      string
		want      func(s *portal.CollaborationSettings)
		wantField string
	}{
		{"empty_changes_nothing", `{}`, func(*portal.CollaborationSettings) {}, ""},
		{"durations_as_strings", `{"idle_timeout":"30s","grace_window":"1h30m"}`, func(s *portal.CollaborationSettings) {
			s.IdleTimeout, s.GraceWindow = portal.Duration(30*time.Second), portal.Duration(90*time.Minute)
		}, ""},
		{"zero_as_string_and_number", `{"idle_timeout":"0","grace_window":0}`, func(s *portal.CollaborationSettings) {
			s.IdleTimeout, s.GraceWindow = 0, 0
		}, ""},
		{"null_leaves_as_is", `{"idle_timeout":null,"server":null}`, func(*portal.CollaborationSettings) {}, ""},
		{"server_fields_only_those_sent", `{"server":{"domain":" Chat.Example.COM ","max_connections":3}}`, func(s *portal.CollaborationSettings) {
			s.Server.Domain, s.Server.MaxConnections = "chat.example.com", 3
		}, ""},
		{"word_for_a_duration", `{"idle_timeout":"soon"}`, nil, "idle_timeout"},
		{"number_for_a_duration", `{"grace_window":30}`, nil, "grace_window"},
		{"negative_cap", `{"max_sessions":-1}`, nil, "max_sessions"},
		{"negative_duration", `{"grace_window":"-5s"}`, nil, "grace_window"},
		{"port_out_of_range", `{"server":{"port":70000}}`, nil, "server.port"},
		{"domain_with_a_space", `{"server":{"domain":"exa mple.com"}}`, nil, "server.domain"},
		{"negative_server_limit", `{"server":{"max_connections":-2}}`, nil, "server.max_connections"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req collaborationSettingsRequest
			if err := json.Unmarshal([]byte(tc.body), &req); err != nil {
				t.Fatal(err)
			}
			got := base
			err := req.apply(&got)
			if err == nil {
				err = got.Validate()
			}
			if tc.wantField != "" {
				var pe *portal.Error
				if !errors.As(err, &pe) || pe.Code != portal.CodeInvalid || pe.Field != tc.wantField {
					t.Fatalf("got %v, want invalid_field on %s", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want it taken", err)
			}
			want := base
			tc.want(&want)
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}
