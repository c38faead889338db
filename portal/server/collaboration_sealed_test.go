package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"provportal/bootloader"
	"provportal/packages"
	"provportal/packages/activation"
	"provportal/portal"
	"provportal/portal/xmpp/prosodytest"
)

// TestCollaborationSealedByActivation: an enterprise-activated device seals
// its messaging password with the key its activation left, so a proxy that
// sees every WebSocket frame in clear (TLS ended at a DMZ, or a LAN without
// it) never sees the password; the portal opens it, refuses the plain
// password from that device, and refuses a recorded logon replayed.
func TestCollaborationSealedByActivation(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, nil, cheapKDF)
	ctx := context.Background()
	uid := activationUser(t, e.portalEnv, `{}`)
	e.as("PATCH", "/api/v1/users/"+uid, map[string]any{"collaboration": true}).want(http.StatusOK)
	e.xmpp.AddUser(t, "dave", "dave-im-secret")
	e.xmpp.AddUser(t, "bob", "bob-im-secret")
	bob := directClient(t, e.xmpp, "bob", "bob-im-secret")

	install, err := activate(t, e.portalEnv, activationPassword(t, e.portalEnv, uid, `{}`))
	if err != nil {
		t.Fatalf("activation: %v", err)
	}
	idPath := filepath.Join(install, "device.json")
	var id struct {
		DeviceID         string `json:"device_id"`
		DeviceToken      string `json:"device_token"`
		CollaborationKey []byte `json:"collaboration_key"`
	}
	readJSONFile(t, idPath, &id)
	if len(id.CollaborationKey) != activation.CollaborationKeySize {
		t.Fatalf("device.json holds a collaboration key of %d bytes, want %d", len(id.CollaborationKey), activation.CollaborationKeySize)
	}
	if fi, err := os.Stat(idPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("device.json: %v, %v; want mode 0600", fi.Mode(), err)
	}
	stored, err := e.Store.DeviceCollaborationKey(ctx, id.DeviceID)
	if err != nil || stored == nil {
		t.Fatalf("the portal keeps no collaboration key for the device: %v", err)
	}
	if bytes.Contains(stored, id.CollaborationKey) {
		t.Error("the portal keeps the device's collaboration key in clear")
	}

	// The device reaches the portal through a proxy that records every frame.
	rec := newFrameRecorder(t, e.URL)
	pointAt(t, idPath, rec.URL)
	chat := mustChat(t, bootloader.ChatOptions{InstallDir: install, Password: "dave-im-secret"})
	if err := chat.Send(ctx, "bob", "sealed hello"); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, bob); m.Body != "sealed hello" || m.From != chat.JID() {
		t.Fatalf("bob got %+v, want the device's message", m)
	}
	if err := chat.Logoff(ctx); err != nil {
		t.Fatal(err)
	}
	logon := rec.logon(t)
	if logon.Password != "" || len(logon.Sealed) == 0 {
		t.Errorf("the logon frame carries password %q and %d sealed bytes, want only sealed credentials", logon.Password, len(logon.Sealed))
	}
	if rec.saw("dave-im-secret") {
		t.Error("the recorded frames show the messaging password in clear")
	}
	if rec.challenge == "" {
		t.Error("the portal's answer to the upgrade carried no logon challenge")
	}
	if got := e.xmpp.Logins(t, "dave"); got != 1 {
		t.Errorf("dave's logins at Prosody = %d, want 1", got)
	}

	// Whoever recorded the logon replays it, with the device token it saw.
	replay := packages.ChatFrame{Type: packages.ChatLogon, Sealed: logon.Sealed}
	if got := rawLogon(t, e.URL, id.DeviceToken, replay); got.Type != packages.ChatRefused || got.Code != string(portal.CodeCredentialsSealRejected) {
		t.Errorf("replayed logon answered %+v, want refused %s", got, portal.CodeCredentialsSealRejected)
	}
	// The device's plain password is refused, though it is the right one.
	plain := packages.ChatFrame{Type: packages.ChatLogon, Password: "dave-im-secret"}
	if got := rawLogon(t, e.URL, id.DeviceToken, plain); got.Type != packages.ChatRefused || got.Code != string(portal.CodeCredentialsNotSealed) {
		t.Errorf("plain password from an activated device answered %+v, want refused %s", got, portal.CodeCredentialsNotSealed)
	}
	if got := e.xmpp.Logins(t, "dave"); got != 1 {
		t.Errorf("dave's logins at Prosody after the refusals = %d, want still 1", got)
	}
	for _, code := range []portal.Code{portal.CodeCredentialsSealRejected, portal.CodeCredentialsNotSealed} {
		if !hasEvent(e.timeline(t, id.DeviceID), portal.EventCollaborationRefused, func(d map[string]any) bool { return d["code"] == string(code) }) {
			t.Errorf("timeline %+v has no %s refusal", e.timeline(t, id.DeviceID), code)
		}
		if line := e.metric(t, `portal_collaboration_refusals_total{reason="`+string(code)+`"}`); !strings.HasSuffix(line, " 1") {
			t.Errorf("metric for %s: %q, want 1", code, line)
		}
	}

	// A directory logon of the same device ends its collaboration key: the
	// portal no longer opens what the old device.json seals.
	e.as("PATCH", "/api/v1/users/"+uid, map[string]any{"password": "Directory-pass-2468"}).want(http.StatusOK)
	var relogon packages.LogonResponse
	e.call("POST", "/device/v1/logon", "", packages.LogonRequest{Username: "dave", Password: "Directory-pass-2468",
		Device: packages.DeviceInfo{ID: id.DeviceID, Name: "dave-phone", Platform: "linux-amd64"}}).want(http.StatusOK).decode(&relogon)
	if relogon.DeviceID != id.DeviceID {
		t.Fatalf("the directory logon made device %s, want the same %s", relogon.DeviceID, id.DeviceID)
	}
	if k, err := e.Store.DeviceCollaborationKey(ctx, id.DeviceID); err != nil || k != nil {
		t.Fatalf("after a directory logon the portal keeps key %x (%v), want none", k, err)
	}
	_, err = openChat(t, bootloader.ChatOptions{InstallDir: install, Password: "dave-im-secret"})
	if r := wantRefused(t, err, string(portal.CodeCredentialsSealRejected)); !strings.Contains(r.Message, "activate") {
		t.Errorf("refusal %q does not say to activate again", r.Message)
	}
}

// TestCollaborationDirectoryLogonSendsInsideTLS: a device that logged on with
// directory credentials has no collaboration key and sends its password in
// the logon frame, as before; the recorder that finds nothing on an
// activated device finds it here, so it does see what a proxy would.
func TestCollaborationDirectoryLogonSendsInsideTLS(t *testing.T) {
	t.Parallel()
	e := newCollabEnv(t, prosodytest.Options{}, nil)
	e.chatUser(t, "erin", true, "erin-im-secret")
	rec := newFrameRecorder(t, e.URL)
	dir, deviceID := e.device(t, "erin", rec.URL)
	if k, err := e.Store.DeviceCollaborationKey(context.Background(), deviceID); err != nil || k != nil {
		t.Fatalf("directory logon left a collaboration key %x (%v)", k, err)
	}
	chat := mustChat(t, bootloader.ChatOptions{InstallDir: dir, Password: "erin-im-secret"})
	chat.Logoff(context.Background())
	if logon := rec.logon(t); logon.Password != "erin-im-secret" || logon.Sealed != nil {
		t.Errorf("logon frame %+v, want the password unsealed", logon)
	}
	if !rec.saw("erin-im-secret") {
		t.Error("the recorder did not see the unsealed password")
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// pointAt makes device.json reach the portal at url.
func pointAt(t *testing.T, path, url string) {
	t.Helper()
	var id map[string]any
	readJSONFile(t, path, &id)
	id["portal_url"] = url
	b, _ := json.Marshal(id)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawLogon opens the collaboration WebSocket with a device token, sends a
// first frame and returns the portal's answer.
func rawLogon(t *testing.T, portalURL, token string, first packages.ChatFrame) packages.ChatFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chatWait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(portalURL, "http")+packages.CollaborationRoute, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}, Subprotocols: []string{packages.CollaborationProtocol}})
	if err != nil {
		t.Fatalf("dial the collaboration service: %v", err)
	}
	defer ws.CloseNow()
	if err := wsjson.Write(ctx, ws, first); err != nil {
		t.Fatal(err)
	}
	var answer packages.ChatFrame
	if err := wsjson.Read(ctx, ws, &answer); err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	return answer
}

// frameRecorder is a proxy in front of the portal's collaboration service
// that sees what a proxy terminating TLS sees: the upgrade, and every
// WebSocket message both ways, uncompressed and unmasked. It records them.
type frameRecorder struct {
	URL    string
	target string

	mu        sync.Mutex
	frames    [][]byte // device → portal and portal → device, in order
	fromDev   [][]byte
	challenge string
}

func newFrameRecorder(t *testing.T, portalURL string) *frameRecorder {
	r := &frameRecorder{target: "ws" + strings.TrimPrefix(portalURL, "http")}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *frameRecorder) serve(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up, resp, err := websocket.Dial(ctx, r.target+req.URL.Path, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": req.Header.Values("Authorization")}, Subprotocols: []string{packages.CollaborationProtocol},
		CompressionMode: websocket.CompressionNoContextTakeover})
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer up.CloseNow()
	// A proxy hands on the upstream's headers.
	if c := resp.Header.Get(packages.CollaborationChallengeHeader); c != "" {
		w.Header().Set(packages.CollaborationChallengeHeader, c)
		r.mu.Lock()
		r.challenge = c
		r.mu.Unlock()
	}
	down, err := websocket.Accept(w, req, &websocket.AcceptOptions{Subprotocols: []string{packages.CollaborationProtocol},
		CompressionMode: websocket.CompressionNoContextTakeover})
	if err != nil {
		return
	}
	defer down.CloseNow()
	done := make(chan struct{}, 2)
	go func() { r.pipe(ctx, down, up, true); done <- struct{}{} }()
	go func() { r.pipe(ctx, up, down, false); done <- struct{}{} }()
	<-done
}

func (r *frameRecorder) pipe(ctx context.Context, from, to *websocket.Conn, fromDevice bool) {
	for {
		typ, b, err := from.Read(ctx)
		if err != nil {
			if st := websocket.CloseStatus(err); st != -1 {
				to.Close(st, "")
			}
			return
		}
		r.mu.Lock()
		r.frames = append(r.frames, b)
		if fromDevice {
			r.fromDev = append(r.fromDev, b)
		}
		r.mu.Unlock()
		if err := to.Write(ctx, typ, b); err != nil {
			return
		}
	}
}

// logon is the first frame the device sent.
func (r *frameRecorder) logon(t *testing.T) packages.ChatFrame {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.fromDev) == 0 {
		t.Fatal("the recorder saw no frame from the device")
	}
	var f packages.ChatFrame
	if err := json.Unmarshal(r.fromDev[0], &f); err != nil || f.Type != packages.ChatLogon {
		t.Fatalf("first frame from the device %s (%v), want a logon", r.fromDev[0], err)
	}
	return f
}

// saw reports whether any recorded frame contains s.
func (r *frameRecorder) saw(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		if bytes.Contains(f, []byte(s)) {
			return true
		}
	}
	return false
}
