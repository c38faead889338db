package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"provportal/portal"
)

var collaborationCases = []storeCase{
	{"settings_default_until_put_then_read_back_audited", func(t *testing.T, s portal.Store) {
		ctx := portal.WithActor(t.Context(), portal.Actor{ID: "a1", Username: "root"})
		got, err := s.CollaborationSettings(ctx)
		must(t, "CollaborationSettings", err)
		if want := portal.DefaultCollaborationSettings(); got != want {
			t.Errorf("before any change: got %+v, want the defaults %+v", got, want)
		}
		want := portal.CollaborationSettings{MaxSessions: 200, IdleTimeout: portal.Duration(90 * time.Second),
			GraceWindow: portal.Duration(2 * time.Minute),
			Server:      portal.MessagingServer{Host: "xmpp.example.com", Port: 5222, Domain: "example.com", MaxConnections: 500}}
		must(t, "PutCollaborationSettings", s.PutCollaborationSettings(ctx, want))
		got, err = s.CollaborationSettings(ctx)
		must(t, "CollaborationSettings", err)
		if got != want {
			t.Errorf("read back: got %+v, want %+v", got, want)
		}
		second := want
		second.MaxSessions = 0
		must(t, "PutCollaborationSettings again", s.PutCollaborationSettings(ctx, second))
		if got, _ := s.CollaborationSettings(ctx); got != second {
			t.Errorf("after the second change: got %+v, want %+v", got, second)
		}
		entries := auditLog(t, s, portal.AuditFilter{Kind: "collaboration_settings"}).Items
		if len(entries) != 2 {
			t.Fatalf("audit entries for the settings: got %d, want 2", len(entries))
		}
		last := entries[0]
		var before, after portal.CollaborationSettings
		if err := json.Unmarshal(last.Before, &before); err != nil || before != want {
			t.Errorf("audit before = %s (%v), want the first settings", last.Before, err)
		}
		if err := json.Unmarshal(last.After, &after); err != nil || after != second {
			t.Errorf("audit after = %s (%v), want the second settings", last.After, err)
		}
		if last.Actor != "root" || last.Action != "update" {
			t.Errorf("audit entry by %q action %q, want root update", last.Actor, last.Action)
		}
	}},
	{"collaboration_flag_on_users_and_groups_is_kept_and_patched", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g := &portal.Group{Name: "chatters", Collaboration: true}
		must(t, "CreateGroup", s.CreateGroup(ctx, g))
		u := &portal.User{Username: "carol", Collaboration: true}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		if !g.Collaboration || !u.Collaboration {
			t.Errorf("created group %v user %v, want both with collaboration", g.Collaboration, u.Collaboration)
		}
		gotG, err := s.Group(ctx, g.ID)
		must(t, "Group", err)
		gotU, err := s.User(ctx, u.ID)
		must(t, "User", err)
		if !gotG.Collaboration || !gotU.Collaboration {
			t.Errorf("read back group %v user %v, want both with collaboration", gotG.Collaboration, gotU.Collaboration)
		}
		off := false
		name := "talkers"
		pg, err := s.UpdateGroup(ctx, g.ID, portal.GroupPatch{Name: &name})
		must(t, "UpdateGroup name only", err)
		if !pg.Collaboration {
			t.Error("patching the name cleared the group's collaboration flag")
		}
		pg, err = s.UpdateGroup(ctx, g.ID, portal.GroupPatch{Collaboration: &off})
		must(t, "UpdateGroup", err)
		pu, err := s.UpdateUser(ctx, u.ID, portal.UserPatch{Collaboration: &off})
		must(t, "UpdateUser", err)
		if pg.Collaboration || pu.Collaboration || pg.Name != "talkers" {
			t.Errorf("patched group %+v user %+v, want both without collaboration", pg, pu)
		}
		if got, _ := s.User(ctx, u.ID); got.Collaboration {
			t.Error("user still has collaboration after the patch")
		}
	}},
	{"may_collaborate_through_own_flag_or_any_group", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		on, off := true, false
		plain := mustGroup(t, s, "plain")
		chat := mustGroup(t, s, "chat")
		_, err := s.UpdateGroup(ctx, chat.ID, portal.GroupPatch{Collaboration: &on})
		must(t, "UpdateGroup", err)
		own := &portal.User{Username: "own", Collaboration: true, Groups: []string{plain.ID}}
		must(t, "CreateUser own", s.CreateUser(ctx, own))
		viaGroup := mustUser(t, s, "via-group", plain.ID, chat.ID)
		nobody := mustUser(t, s, "nobody", plain.ID)
		tests := []struct {
			name   string
			userID string
			want   bool
		}{
			{"own_flag", own.ID, true},
			{"one_group_of_two_has_the_flag", viaGroup.ID, true},
			{"neither_user_nor_groups", nobody.ID, false},
		}
		for _, tc := range tests {
			got, err := s.MayCollaborate(ctx, tc.userID)
			if err != nil || got != tc.want {
				t.Errorf("%s: MayCollaborate = %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
		_, err = s.UpdateGroup(ctx, chat.ID, portal.GroupPatch{Collaboration: &off})
		must(t, "UpdateGroup off", err)
		if got, _ := s.MayCollaborate(ctx, viaGroup.ID); got {
			t.Error("group_flag_cleared: MayCollaborate = true, want false")
		}
		_, err = s.UpdateGroup(ctx, chat.ID, portal.GroupPatch{Collaboration: &on})
		must(t, "UpdateGroup on again", err)
		must(t, "DeleteGroup", s.DeleteGroup(ctx, chat.ID))
		if got, _ := s.MayCollaborate(ctx, viaGroup.ID); got {
			t.Error("group_deleted: MayCollaborate = true, want false")
		}
		_, err = s.MayCollaborate(ctx, "no-such-user")
		wantErr(t, "MayCollaborate of an unknown user", err, portal.CodeNotFound)
	}},
	{"ending_a_session_is_audited_and_on_the_device_timeline", func(t *testing.T, s portal.Store) {
		ctx := portal.WithActor(t.Context(), portal.Actor{ID: "a1", Username: "root", RemoteAddr: "192.0.2.7"})
		u := mustUser(t, s, "dora")
		d := mustDevice(t, s, u.ID, "phone", "activation_complete")
		now := time.Now().UTC().Truncate(time.Second)
		cs := portal.CollaborationSession{ID: "cs1", UserID: u.ID, Username: u.Username, DeviceID: d.ID, JID: "dora@example.com/phone",
			Since: now, LastStatusAt: now, State: portal.SessionActive, InCoverage: true}
		must(t, "EndCollaborationSession", s.EndCollaborationSession(ctx, cs))
		entries := auditLog(t, s, portal.AuditFilter{Kind: "collaboration_session", ObjectID: "cs1"}).Items
		if len(entries) != 1 || entries[0].Action != "end" || entries[0].Actor != "root" || entries[0].RemoteAddr != "192.0.2.7" {
			t.Fatalf("audit entries = %+v, want one end by root from 192.0.2.7", entries)
		}
		var before portal.CollaborationSession
		if err := json.Unmarshal(entries[0].Before, &before); err != nil || before.DeviceID != d.ID || before.JID != cs.JID {
			t.Errorf("audit before = %s (%v), want the session", entries[0].Before, err)
		}
		events, err := s.DeviceEvents(ctx, d.ID)
		must(t, "DeviceEvents", err)
		if len(events) != 1 || events[0].Stage != portal.StageCollaboration || events[0].Event != portal.EventCollaborationEnded ||
			events[0].Detail["reason"] != portal.EndByAdmin || events[0].Detail["session_id"] != "cs1" {
			t.Errorf("timeline = %+v, want one session_ended event by the administrator", events)
		}
		gone := cs
		gone.ID, gone.DeviceID = "cs2", "no-such-device"
		must(t, "EndCollaborationSession of a deleted device", s.EndCollaborationSession(ctx, gone))
	}},
	{"device_collaboration_key_kept_replaced_and_forgotten", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		u := mustUser(t, s, "erik")
		phone := mustDevice(t, s, u.ID, "phone", "activation_complete")
		tablet := mustDevice(t, s, u.ID, "tablet", "activation_complete")
		key := func(deviceID string) []byte {
			t.Helper()
			k, err := s.DeviceCollaborationKey(ctx, deviceID)
			must(t, "DeviceCollaborationKey", err)
			return k
		}
		if k := key(phone.ID); k != nil {
			t.Errorf("a new device's key = %x, want none", k)
		}
		first := bytes.Repeat([]byte{0xa5}, 60)
		must(t, "SetDeviceCollaborationKey", s.SetDeviceCollaborationKey(ctx, phone.ID, first))
		if k := key(phone.ID); !bytes.Equal(k, first) {
			t.Errorf("read back %x, want %x", k, first)
		}
		if k := key(tablet.ID); k != nil {
			t.Errorf("the other device's key = %x, want none", k)
		}
		// The device logging on again is no reason for the store to forget it.
		again := portal.Device{ID: phone.ID, UserID: u.ID, Name: "phone", Platform: "linux-amd64"}
		must(t, "RegisterDevice", s.RegisterDevice(ctx, &again))
		if k := key(phone.ID); !bytes.Equal(k, first) {
			t.Errorf("after RegisterDevice: %x, want the key kept", k)
		}
		second := append(bytes.Repeat([]byte{0x5a}, 59), 0)
		must(t, "SetDeviceCollaborationKey again", s.SetDeviceCollaborationKey(ctx, phone.ID, second))
		if k := key(phone.ID); !bytes.Equal(k, second) {
			t.Errorf("replaced: %x, want %x", k, second)
		}
		must(t, "SetDeviceCollaborationKey nil", s.SetDeviceCollaborationKey(ctx, phone.ID, nil))
		if k := key(phone.ID); k != nil {
			t.Errorf("forgotten: %x, want none", k)
		}
		wantErr(t, "SetDeviceCollaborationKey of an unknown device", s.SetDeviceCollaborationKey(ctx, "no-such-device", first), portal.CodeNotFound)
		_, err := s.DeviceCollaborationKey(ctx, "no-such-device")
		wantErr(t, "DeviceCollaborationKey of an unknown device", err, portal.CodeNotFound)
	}},
}
