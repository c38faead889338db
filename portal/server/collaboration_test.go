package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/bootloader"
	"provportal/packages"
	"provportal/portal"
	"provportal/portal/gormstore"
	"provportal/portal/testdb"
	"provportal/portal/xmpp"
	"provportal/portal/xmpp/prosodytest"
)

// chatWait bounds how long a test waits for a frame or an event.
const chatWait = 15 * time.Second

// collabEnv is a portal whose collaboration service logs on to a real,
// throwaway Prosody.
type collabEnv struct {
	*portalEnv
	xmpp *prosodytest.Server
}

func newCollabEnv(t testing.TB, opts prosodytest.Options, settings map[string]any, portalOpts ...option) *collabEnv {
	t.Helper()
	srv := prosodytest.Start(t, opts)
	st := openStore(t, gormstore.Config{SQLitePath: testdb.SQLitePath(t)})
	withCA := func(c *Config) {
		if srv.RootCAs != nil {
			c.XMPPCAFile = filepath.Join(srv.Dir, "certs", srv.Domain+".crt")
		}
	}
	e := &collabEnv{portalEnv: newPortal(t, st, append(portalOpts, withCA)...), xmpp: srv}
	if settings == nil {
		settings = map[string]any{}
	}
	settings["server"] = map[string]any{"host": srv.Host, "port": srv.Port, "domain": srv.Domain}
	e.as("PUT", "/api/v1/collaboration/settings", settings).want(http.StatusOK)
	return e
}

// chatUser creates a portal user who may (or may not) collaborate, and the
// same user on the messaging server with imPassword.
func (e *collabEnv) chatUser(t testing.TB, name string, collaboration bool, imPassword string) string {
	t.Helper()
	id := e.as("POST", "/api/v1/users", map[string]any{"username": name, "password": "directory-" + name, "collaboration": collaboration}).
		want(http.StatusCreated).id()
	e.xmpp.AddUser(t, name, imPassword)
	return id
}

// device logs a device on for the user through the device API and writes
// the device.json an installed bootloader keeps, reaching the portal at portalURL.
func (e *collabEnv) device(t testing.TB, username, portalURL string) (installDir, deviceID string) {
	t.Helper()
	res := e.call("POST", "/device/v1/logon", "", packages.LogonRequest{Username: username, Password: "directory-" + username,
		Device: packages.DeviceInfo{Name: username + "-phone", Platform: "linux-amd64"}}).want(http.StatusOK)
	var logon packages.LogonResponse
	res.decode(&logon)
	dir := t.TempDir()
	id, _ := json.Marshal(map[string]string{"device_id": logon.DeviceID, "portal_url": portalURL, "device_token": logon.Token})
	if err := os.WriteFile(filepath.Join(dir, "device.json"), id, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, logon.DeviceID
}

func openChat(t testing.TB, o bootloader.ChatOptions) (*bootloader.Chat, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chatWait)
	defer cancel()
	c, err := bootloader.OpenChat(ctx, o)
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

func mustChat(t testing.TB, o bootloader.ChatOptions) *bootloader.Chat {
	t.Helper()
	c, err := openChat(t, o)
	if err != nil {
		t.Fatalf("OpenChat: %v", err)
	}
	return c
}

// wantRefused checks that a logon was refused with code.
func wantRefused(t *testing.T, err error, code string) *bootloader.ChatRefused {
	t.Helper()
	var r *bootloader.ChatRefused
	if !errors.As(err, &r) || r.Code != code || r.Message == "" {
		t.Fatalf("logon: %v, want a refusal %s with a message", err, code)
	}
	return r
}

// nextFrame waits for the first frame from the portal that match accepts.
func nextFrame(t *testing.T, c *bootloader.Chat, what string, match func(packages.ChatFrame) bool) packages.ChatFrame {
	t.Helper()
	deadline := time.After(chatWait)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("waiting for %s: the session is over (%v)", what, c.Err())
			}
			if match(f) {
				return f
			}
		case <-deadline:
			t.Fatalf("waiting for %s: nothing within %v", what, chatWait)
		}
	}
}

// directClient logs a user on to Prosody itself, available.
func directClient(t testing.TB, srv *prosodytest.Server, name, password string) *xmpp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chatWait)
	defer cancel()
	c, err := xmpp.Dial(ctx, srv.Client(name, password))
	if err != nil {
		t.Fatalf("%s logs on to Prosody: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SendPresence(ctx, xmpp.Presence{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// nextMessage waits for a chat message on a direct connection.
func nextMessage(t testing.TB, c *xmpp.Conn) xmpp.Message {
	t.Helper()
	deadline := time.After(chatWait)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("waiting for a message: connection ended: %v", c.Err())
			}
			if m, ok := ev.(xmpp.Message); ok {
				return m
			}
		case <-deadline:
			t.Fatalf("waiting for a message: nothing within %v", chatWait)
		}
	}
}

func (e *collabEnv) sessions(t *testing.T) []portal.CollaborationSession {
	t.Helper()
	var list struct {
		Items []portal.CollaborationSession
		Total int
	}
	e.as("GET", "/api/v1/collaboration/sessions", nil).want(http.StatusOK).decode(&list)
	if list.Total != len(list.Items) {
		t.Errorf("sessions: total %d for %d items", list.Total, len(list.Items))
	}
	return list.Items
}

// timeline lists the device's collaboration events by name.
func (e *collabEnv) timeline(t *testing.T, deviceID string) []portal.DeviceEvent {
	t.Helper()
	events, err := e.Store.DeviceEvents(context.Background(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	var out []portal.DeviceEvent
	for _, ev := range events {
		if ev.Stage == portal.StageCollaboration {
			out = append(out, ev)
		}
	}
	return out
}

func hasEvent(events []portal.DeviceEvent, event string, detail func(map[string]any) bool) bool {
	for _, ev := range events {
		if ev.Event == event && (detail == nil || detail(ev.Detail)) {
			return true
		}
	}
	return false
}

// metric returns the line of /metrics that starts with name, or "".
func (e *collabEnv) metric(t *testing.T, name string) string {
	t.Helper()
	res := e.call("GET", "/metrics", "", nil).want(http.StatusOK)
	for line := range strings.SplitSeq(string(res.Body), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	return ""
}

func TestCollaborationRelaysMessagesBothWays(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, nil)
	aliceID := e.chatUser(t, "alice", true, "alice-im-secret")
	e.xmpp.AddUser(t, "bob", "bob-im-secret")
	bob := directClient(t, e.xmpp, "bob", "bob-im-secret")
	dir, deviceID := e.device(t, "alice", e.URL)

	chat := mustChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "alice-im-secret"})
	if !strings.HasPrefix(chat.JID(), "alice@"+e.xmpp.Domain+"/") {
		t.Errorf("JID = %q, want alice@%s/...", chat.JID(), e.xmpp.Domain)
	}
	ctx := context.Background()
	if err := chat.Send(ctx, "bob", "hello from the device"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := nextMessage(t, bob)
	if m.Body != "hello from the device" || m.From != chat.JID() {
		t.Fatalf("bob got %+v, want the device's message from %s", m, chat.JID())
	}
	if _, err := bob.Send(ctx, xmpp.Message{To: m.From, Body: "hello back"}); err != nil {
		t.Fatal(err)
	}
	reply := nextFrame(t, chat, "bob's reply", func(f packages.ChatFrame) bool { return f.Type == packages.ChatMessage })
	if reply.Body != "hello back" || !strings.HasPrefix(reply.From, "bob@"+e.xmpp.Domain) {
		t.Errorf("the device got %+v, want bob's reply", reply)
	}
	// Presence goes the other way too: bob's directed presence reaches the device.
	if err := bob.SendPresence(ctx, xmpp.Presence{To: chat.JID(), Show: xmpp.ShowAway, Status: "lunch"}); err != nil {
		t.Fatal(err)
	}
	p := nextFrame(t, chat, "bob's presence", func(f packages.ChatFrame) bool { return f.Type == packages.ChatPresence })
	if p.Show != "away" || p.Status != "lunch" || !strings.HasPrefix(p.From, "bob@") {
		t.Errorf("presence %+v, want bob away at lunch", p)
	}

	sessions := e.sessions(t)
	if len(sessions) != 1 {
		t.Fatalf("sessions = %+v, want one", sessions)
	}
	s := sessions[0]
	if s.ID != chat.SessionID() || s.UserID != aliceID || s.DeviceID != deviceID || s.State != portal.SessionActive ||
		!s.InCoverage || s.Since.IsZero() || s.LastStatusAt.IsZero() || s.JID != chat.JID() {
		t.Errorf("session %+v, want alice's device active since its logon", s)
	}
	if !hasEvent(e.timeline(t, deviceID), portal.EventCollaborationLogon, func(d map[string]any) bool { return d["session_id"] == s.ID }) {
		t.Errorf("timeline %+v has no logon event", e.timeline(t, deviceID))
	}
	if got := e.xmpp.Logins(t, "alice"); got != 1 {
		t.Errorf("alice's logins at Prosody = %d, want 1", got)
	}

	if err := chat.Logoff(ctx); err != nil || chat.Err() != nil {
		t.Fatalf("Logoff: %v, %v", err, chat.Err())
	}
	if s := e.sessions(t); len(s) != 0 {
		t.Errorf("sessions after the logoff: %+v, want none", s)
	}
	waitFor(t, "the logoff on the timeline", func() bool {
		return hasEvent(e.timeline(t, deviceID), portal.EventCollaborationEnded, func(d map[string]any) bool { return d["reason"] == portal.EndLogoff })
	})
}

func TestCollaborationRefusals(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, nil)

	t.Run("user_without_permission_is_not_permitted", func(t *testing.T) {
		e.chatUser(t, "dave", false, "dave-im-secret")
		dir, deviceID := e.device(t, "dave", e.URL)
		_, err := openChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "dave-im-secret"})
		wantRefused(t, err, "not_permitted")
		if got := e.xmpp.Logins(t, "dave"); got != 0 {
			t.Errorf("dave's logins at Prosody = %d, want 0", got)
		}
		if !hasEvent(e.timeline(t, deviceID), portal.EventCollaborationRefused, func(d map[string]any) bool { return d["code"] == "not_permitted" }) {
			t.Errorf("timeline %+v has no not_permitted refusal", e.timeline(t, deviceID))
		}
	})

	t.Run("a_group_with_permission_lets_its_members_in", func(t *testing.T) {
		userID := e.chatUser(t, "erin", false, "erin-im-secret")
		group := e.as("POST", "/api/v1/groups", map[string]any{"name": "chatters", "collaboration": true}).want(http.StatusCreated).id()
		e.as("PATCH", "/api/v1/users/"+userID, map[string]any{"groups": []string{group}}).want(http.StatusOK)
		dir, _ := e.device(t, "erin", e.URL)
		chat := mustChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "erin-im-secret"})
		chat.Logoff(context.Background())
		e.as("PATCH", "/api/v1/groups/"+group, map[string]any{"collaboration": false}).want(http.StatusOK)
		_, err := openChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "erin-im-secret"})
		wantRefused(t, err, "not_permitted")
	})

	t.Run("wrong_messaging_password_gets_bad_credentials_and_no_session", func(t *testing.T) {
		e.chatUser(t, "frank", true, "frank-im-secret")
		dir, deviceID := e.device(t, "frank", e.URL)
		_, err := openChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "not-franks-password"})
		wantRefused(t, err, "bad_credentials")
		if s := e.sessions(t); len(s) != 0 {
			t.Errorf("sessions after a wrong password: %+v, want none", s)
		}
		if !hasEvent(e.timeline(t, deviceID), portal.EventCollaborationRefused, func(d map[string]any) bool { return d["code"] == "bad_credentials" }) {
			t.Errorf("timeline %+v has no bad_credentials refusal", e.timeline(t, deviceID))
		}
	})

	t.Run("refusals_are_counted_by_reason", func(t *testing.T) {
		for reason, want := range map[string]string{"not_permitted": "2", "bad_credentials": "1", "server_busy": "0"} {
			line := e.metric(t, `portal_collaboration_refusals_total{reason="`+reason+`"}`)
			if !strings.HasSuffix(line, " "+want) {
				t.Errorf("metric for %s: %q, want %s", reason, line, want)
			}
		}
	})

	t.Run("unknown_device_token_is_unauthenticated", func(t *testing.T) {
		dir := t.TempDir()
		id, _ := json.Marshal(map[string]string{"device_id": "d1", "portal_url": e.URL, "device_token": "forged"})
		os.WriteFile(filepath.Join(dir, "device.json"), id, 0o600)
		_, err := openChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "x"})
		var se *bootloader.ServerError
		if !errors.As(err, &se) || se.Code != "unauthenticated" {
			t.Errorf("logon with a forged token: %v, want unauthenticated", err)
		}
	})
}

func TestCollaborationSessionCap(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, map[string]any{"max_sessions": 1, "idle_timeout": "2s"})
	e.chatUser(t, "gina", true, "gina-im-secret")
	e.chatUser(t, "hank", true, "hank-im-secret")
	e.chatUser(t, "ivy", true, "ivy-im-secret")
	ginaDir, ginaDevice := e.device(t, "gina", e.URL)
	hankDir, _ := e.device(t, "hank", e.URL)
	ivyDir, _ := e.device(t, "ivy", e.URL)

	// Gina's device goes silent: no status for far longer than the idle timeout.
	gina := mustChat(t, bootloader.ChatOptions{InstallDir: ginaDir, Password: "gina-im-secret", StatusInterval: time.Hour})
	waitFor(t, "gina's session to turn idle", func() bool {
		s := e.sessions(t)
		return len(s) == 1 && s[0].State == portal.SessionIdle
	})

	// Hank's logon needs gina's place: the idle session is evicted, and gina's device told why.
	hank := mustChat(t, bootloader.ChatOptions{InstallDir: hankDir, Password: "hank-im-secret", StatusInterval: 300 * time.Millisecond})
	ended := nextFrame(t, gina, "gina's eviction", func(f packages.ChatFrame) bool { return f.Type == packages.ChatEnded })
	if ended.Code != portal.EndEvicted || !strings.Contains(ended.Message, "no status") {
		t.Errorf("gina was told %+v, want evicted with the reason", ended)
	}
	<-gina.Done()
	var end *bootloader.ChatEnded
	if !errors.As(gina.Err(), &end) || end.Code != portal.EndEvicted {
		t.Errorf("gina's session ended with %v, want evicted", gina.Err())
	}
	sessions := e.sessions(t)
	if len(sessions) != 1 || sessions[0].ID != hank.SessionID() {
		t.Fatalf("sessions %+v, want hank's alone", sessions)
	}
	if !hasEvent(e.timeline(t, ginaDevice), portal.EventCollaborationEvicted, nil) {
		t.Errorf("gina's timeline %+v has no eviction", e.timeline(t, ginaDevice))
	}
	if line := e.metric(t, "portal_collaboration_evictions_total"); !strings.HasSuffix(line, " 1") {
		t.Errorf("evictions metric %q, want 1", line)
	}

	// Hank keeps sending statuses, so nobody is idle: ivy is told the server is busy.
	time.Sleep(2500 * time.Millisecond)
	_, err := openChat(t, bootloader.ChatOptions{InstallDir: ivyDir, Password: "ivy-im-secret"})
	wantRefused(t, err, "server_busy")
	if got := e.xmpp.Logins(t, "ivy"); got != 0 {
		t.Errorf("ivy's logins at Prosody = %d, want 0", got)
	}
	select {
	case <-hank.Done():
		t.Fatalf("hank's active session ended: %v", hank.Err())
	default:
	}
	if line := e.metric(t, `portal_collaboration_refusals_total{reason="server_busy"}`); !strings.HasSuffix(line, " 1") {
		t.Errorf("server_busy metric %q, want 1", line)
	}

	// Without an idle timeout the cap is firm.
	e.as("PUT", "/api/v1/collaboration/settings", map[string]any{"idle_timeout": "0"}).want(http.StatusOK)
	_, err = openChat(t, bootloader.ChatOptions{InstallDir: ivyDir, Password: "ivy-im-secret"})
	wantRefused(t, err, "server_busy")
}

func TestCollaborationMessagingServerLimit(t *testing.T) {
	t.Parallel()

	t.Run("configured_limit_with_no_cap_answers_failed", func(t *testing.T) {
		t.Parallel()
		e := newCollabEnv(t, prosodytest.Options{}, map[string]any{"max_sessions": 0})
		e.as("PUT", "/api/v1/collaboration/settings", map[string]any{"server": map[string]any{"max_connections": 1}}).want(http.StatusOK)
		e.chatUser(t, "jack", true, "jack-im-secret")
		e.chatUser(t, "kate", true, "kate-im-secret")
		jackDir, _ := e.device(t, "jack", e.URL)
		kateDir, kateDevice := e.device(t, "kate", e.URL)
		mustChat(t, bootloader.ChatOptions{InstallDir: jackDir, Password: "jack-im-secret"})
		_, err := openChat(t, bootloader.ChatOptions{InstallDir: kateDir, Password: "kate-im-secret"})
		r := wantRefused(t, err, "failed")
		if !strings.Contains(r.Message, "at most 1") {
			t.Errorf("the refusal %q does not give the reason", r.Message)
		}
		if !hasEvent(e.timeline(t, kateDevice), portal.EventCollaborationRefused, func(d map[string]any) bool { return d["code"] == "failed" }) {
			t.Errorf("timeline %+v has no failed refusal", e.timeline(t, kateDevice))
		}
	})

	t.Run("server_at_its_own_limit_answers_failed", func(t *testing.T) {
		t.Parallel()
		e := newCollabEnv(t, prosodytest.Options{MaxConnections: 2}, nil)
		e.chatUser(t, "liam", true, "liam-im-secret")
		e.xmpp.AddUser(t, "mia", "mia-im-secret")
		e.xmpp.AddUser(t, "noah", "noah-im-secret")
		directClient(t, e.xmpp, "mia", "mia-im-secret")
		directClient(t, e.xmpp, "noah", "noah-im-secret")
		dir, _ := e.device(t, "liam", e.URL)
		_, err := openChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "liam-im-secret"})
		r := wantRefused(t, err, "failed")
		if !strings.Contains(r.Message, "connection limit") {
			t.Errorf("the refusal %q does not give the reason", r.Message)
		}
		if s := e.sessions(t); len(s) != 0 {
			t.Errorf("sessions %+v, want none", s)
		}
	})
}

func TestCollaborationResumesWithinGraceWindow(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, map[string]any{"grace_window": "1m"})
	e.chatUser(t, "olga", true, "olga-im-secret")
	e.xmpp.AddUser(t, "pete", "pete-im-secret")
	pete := directClient(t, e.xmpp, "pete", "pete-im-secret")
	link := newCutter(t, strings.TrimPrefix(e.URL, "http://"))
	dir, deviceID := e.device(t, "olga", link.URL())
	var notes []string
	var notesMu sync.Mutex
	chat := mustChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "olga-im-secret", Notify: func(s string) {
		notesMu.Lock()
		notes = append(notes, s)
		notesMu.Unlock()
	}})
	session, jid := chat.SessionID(), chat.JID()

	// The device drops out of coverage; while it is away, pete writes to it.
	link.down()
	waitFor(t, "the session to be away", func() bool {
		s := e.sessions(t)
		return len(s) == 1 && s[0].State == portal.SessionAway && !s[0].InCoverage && s[0].GraceUntil != nil
	})
	if _, err := pete.Send(context.Background(), xmpp.Message{To: jid, Body: "are you there?"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // for Prosody to hand it to the portal's connection
	link.up()

	accepted := nextFrame(t, chat, "the resume", func(f packages.ChatFrame) bool { return f.Type == packages.ChatAccepted && f.Resumed })
	if !accepted.Resumed || accepted.SessionID != session || chat.SessionID() != session {
		t.Fatalf("came back with %+v, want session %s resumed", accepted, session)
	}
	m := nextFrame(t, chat, "the message kept while away", func(f packages.ChatFrame) bool { return f.Type == packages.ChatMessage })
	if m.Body != "are you there?" {
		t.Errorf("kept message %+v, want pete's", m)
	}
	if got := e.xmpp.Logins(t, "olga"); got != 1 {
		t.Errorf("olga's logins at Prosody = %d, want 1: the resume must not log on again", got)
	}
	if err := chat.Send(context.Background(), "pete", "back now"); err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, pete); got.Body != "back now" || got.From != jid {
		t.Errorf("pete got %+v, want olga's message from the same %s", got, jid)
	}
	if !hasEvent(e.timeline(t, deviceID), portal.EventCollaborationResumed, nil) {
		t.Errorf("timeline %+v has no resume", e.timeline(t, deviceID))
	}
	notesMu.Lock()
	if len(notes) == 0 || notes[len(notes)-1] != "session resumed" {
		t.Errorf("notes %q, want the reconnection told ending with the resume", notes)
	}
	notesMu.Unlock()
}

func TestCollaborationAfterGraceWindowLogsOnAgain(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, map[string]any{"grace_window": "1s"})
	e.chatUser(t, "quinn", true, "quinn-im-secret")
	link := newCutter(t, strings.TrimPrefix(e.URL, "http://"))
	dir, deviceID := e.device(t, "quinn", link.URL())
	chat := mustChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "quinn-im-secret"})
	first := chat.SessionID()

	link.down()
	waitFor(t, "the grace window to close", func() bool {
		return hasEvent(e.timeline(t, deviceID), portal.EventCollaborationEnded, func(d map[string]any) bool { return d["reason"] == portal.EndGraceExpired })
	})
	if s := e.sessions(t); len(s) != 0 {
		t.Errorf("sessions after the grace window: %+v, want none", s)
	}
	link.up()
	accepted := nextFrame(t, chat, "the new logon", func(f packages.ChatFrame) bool {
		return f.Type == packages.ChatAccepted && f.SessionID != first
	})
	if accepted.Resumed || accepted.SessionID == first {
		t.Errorf("came back with %+v, want a new session", accepted)
	}
	if got := e.xmpp.Logins(t, "quinn"); got != 2 {
		t.Errorf("quinn's logins at Prosody = %d, want 2", got)
	}
}

func TestCollaborationAdminEndsSession(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, nil)
	e.chatUser(t, "rita", true, "rita-im-secret")
	dir, deviceID := e.device(t, "rita", e.URL)
	chat := mustChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "rita-im-secret"})

	e.as("DELETE", "/api/v1/collaboration/sessions/no-such-session", nil).wantError(http.StatusNotFound, portal.CodeNotFound)
	helpdesk := e.addAdmin("desk", portal.RoleHelpdesk)
	e.call("DELETE", "/api/v1/collaboration/sessions/"+chat.SessionID(), e.login(helpdesk.Username, adminPassword), nil).
		wantError(http.StatusForbidden, portal.CodeForbidden)

	e.as("DELETE", "/api/v1/collaboration/sessions/"+chat.SessionID(), nil).want(http.StatusNoContent)
	ended := nextFrame(t, chat, "the end", func(f packages.ChatFrame) bool { return f.Type == packages.ChatEnded })
	if ended.Code != portal.EndByAdmin {
		t.Errorf("the device was told %+v, want ended_by_admin", ended)
	}
	<-chat.Done()
	if s := e.sessions(t); len(s) != 0 {
		t.Errorf("sessions %+v, want none", s)
	}
	var audit struct{ Items []portal.AuditEntry }
	e.as("GET", "/api/v1/audit?kind=collaboration_session", nil).want(http.StatusOK).decode(&audit)
	if len(audit.Items) != 1 || audit.Items[0].Actor != "root" || audit.Items[0].Action != "end" {
		t.Errorf("audit %+v, want root's end", audit.Items)
	}
	if !hasEvent(e.timeline(t, deviceID), portal.EventCollaborationEnded, func(d map[string]any) bool {
		return d["reason"] == portal.EndByAdmin && d["by"] == "root"
	}) {
		t.Errorf("timeline %+v has no end by root", e.timeline(t, deviceID))
	}
}

func TestCollaborationSettingsAPI(t *testing.T) {
	t.Parallel()
	e := newPortal(t, openStore(t, gormstore.Config{SQLitePath: testdb.SQLitePath(t)}))
	var got map[string]any
	e.as("GET", "/api/v1/collaboration/settings", nil).want(http.StatusOK).decode(&got)
	if got["max_sessions"] != 0.0 || got["idle_timeout"] != "0" || got["grace_window"] != "2m" {
		t.Errorf("defaults %v, want no cap, no idle timeout, a grace window of 2m", got)
	}
	body := `{"max_sessions":2,"idle_timeout":"30s","grace_window":"2m","server":{"host":"127.0.0.1","port":5222,"domain":"example.com","max_connections":10}}`
	e.as("PUT", "/api/v1/collaboration/settings", body).want(http.StatusOK)
	e.as("GET", "/api/v1/collaboration/settings", nil).want(http.StatusOK).decode(&got)
	if got["max_sessions"] != 2.0 || got["idle_timeout"] != "30s" || got["server"].(map[string]any)["max_connections"] != 10.0 {
		t.Errorf("read back %v", got)
	}
	refused := []struct {
		name, body, field string
	}{
		{"negative_cap", `{"max_sessions":-1}`, "max_sessions"},
		{"word_for_a_duration", `{"max_sessions":3,"idle_timeout":"soon"}`, "idle_timeout"},
		{"port_out_of_range", `{"server":{"port":0}}`, "server.port"},
		{"unknown_field", `{"max_session":3}`, "max_session"},
	}
	for _, tc := range refused {
		if f := e.as("PUT", "/api/v1/collaboration/settings", tc.body).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid).field(); f != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, f, tc.field)
		}
	}
	e.as("GET", "/api/v1/collaboration/settings", nil).want(http.StatusOK).decode(&got)
	if got["max_sessions"] != 2.0 {
		t.Errorf("after refused changes: %v, want the settings unchanged", got)
	}
	var audit struct{ Total int }
	e.as("GET", "/api/v1/audit?kind=collaboration_settings", nil).want(http.StatusOK).decode(&audit)
	if audit.Total != 1 {
		t.Errorf("audit entries for the settings: %d, want 1", audit.Total)
	}
	helpdesk := e.addAdmin("desk", portal.RoleHelpdesk)
	e.call("PUT", "/api/v1/collaboration/settings", e.login(helpdesk.Username, adminPassword), `{"max_sessions":9}`).
		wantError(http.StatusForbidden, portal.CodeForbidden)
	e.call("GET", "/api/v1/collaboration/sessions", "", nil).wantError(http.StatusUnauthorized, portal.CodeUnauthenticated)
	if n := e.count("/api/v1/collaboration/sessions"); n != 0 {
		t.Errorf("sessions: %d, want none", n)
	}

	// The permission is a plain field on users and groups.
	user := e.as("POST", "/api/v1/users", map[string]any{"username": "sam"}).want(http.StatusCreated)
	var u portal.User
	user.decode(&u)
	if u.Collaboration {
		t.Error("a new user may collaborate by default")
	}
	e.as("PATCH", "/api/v1/users/"+u.ID, map[string]any{"collaboration": true}).want(http.StatusOK).decode(&u)
	if !u.Collaboration {
		t.Error("PATCH collaboration true did not stick")
	}
	e.as("PATCH", "/api/v1/users/"+u.ID, map[string]any{"collaboration": "yes"}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
}

// cutter is a TCP forwarder to the portal that can drop every connection
// through it and turn new ones away, as a device leaving coverage sees it.
type cutter struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	isDown bool
}

func newCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); c.down() })
	go c.accept()
	return c
}

func (c *cutter) URL() string { return "http://" + c.ln.Addr().String() }

func (c *cutter) accept() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		down := c.isDown
		c.mu.Unlock()
		if down {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		c.mu.Lock()
		c.conns = append(c.conns, in, out)
		c.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// down drops every connection and turns new ones away until up.
func (c *cutter) down() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isDown = true
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cutter) up() {
	c.mu.Lock()
	c.isDown = false
	c.mu.Unlock()
}

// TestCollaborationThroughTheRelay: a device installed by its alias on a
// relay reaches the collaboration service the same way, TLS to the portal
// inside the relay's pipe, pinned to the portal's key.
func TestCollaborationThroughTheRelay(t *testing.T) {
	t.Parallel()
	srv := prosodytest.Start(t, prosodytest.Options{NoTLS: true})
	p := newRelayedPortal(t)
	p.as("PUT", "/api/v1/collaboration/settings", map[string]any{
		"server": map[string]any{"host": srv.Host, "port": srv.Port, "domain": srv.Domain}}).want(http.StatusOK)
	p.as("POST", "/api/v1/users", map[string]any{"username": "uma", "password": "Uma-pass-13579", "collaboration": true}).want(http.StatusCreated)
	srv.AddUser(t, "uma", "uma-im-secret")
	srv.AddUser(t, "vic", "vic-im-secret")
	vic := directClient(t, srv, "vic", "vic-im-secret")

	install := t.TempDir()
	var out strings.Builder
	err := bootloader.Run(context.Background(), bootloader.Options{Alias: relayAlias, Relay: p.relayURL, Username: "uma",
		Password: "Uma-pass-13579", InstallDir: install, NonInteractive: true, Executable: standInExecutable(t), Stdout: &out})
	if err != nil {
		t.Fatalf("install through the relay: %v\n%s", err, out.String())
	}
	chat := mustChat(t, bootloader.ChatOptions{InstallDir: install, Password: "uma-im-secret"})
	if err := chat.Send(context.Background(), "vic", "through the relay"); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, vic); m.Body != "through the relay" || m.From != chat.JID() {
		t.Errorf("vic got %+v, want uma's message", m)
	}
}
