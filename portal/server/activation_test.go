package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/bootloader"
	"provportal/packages"
	"provportal/packages/activation"
	"provportal/portal"
	"provportal/portal/gormstore"
)

// cheapKDF keeps activation tests quick; production uses activation.DefaultArgon2Params.
func cheapKDF(c *Config) { c.ActivationKDF = activation.Argon2Params{Memory: 64, Time: 1, Threads: 1} }

// activationUser makes dave with an app and a policy, and returns his ID.
func activationUser(t testing.TB, e *portalEnv, rules string) string {
	t.Helper()
	uid := e.as("POST", "/api/v1/users", map[string]any{"username": "dave", "email": "dave@example.com"}).want(http.StatusCreated).id()
	app := e.as("POST", "/api/v1/apps", map[string]string{"name": "ward-rounds", "version": "3.0.0"}).want(http.StatusCreated).id()
	e.as("PUT", "/api/v1/apps/"+app+"/artifacts/"+bootloader.Platform()+"?filename=rounds.txt", []byte("ward rounds v3")).want(http.StatusCreated)
	e.as("POST", "/api/v1/assignments", map[string]string{"app_id": app, "user_id": uid}).want(http.StatusCreated)
	pol := e.as("POST", "/api/v1/policies", `{"name":"nurses","rules":`+rules+`}`).want(http.StatusCreated).id()
	e.as("POST", "/api/v1/assignments", map[string]string{"policy_id": pol, "user_id": uid}).want(http.StatusCreated)
	return uid
}

func activationPassword(t testing.TB, e *portalEnv, uid, body string) string {
	t.Helper()
	var out struct{ Password string }
	e.as("POST", "/api/v1/users/"+uid+"/activation-password", body).want(http.StatusCreated).decode(&out)
	return out.Password
}

// activate runs the real bootloader library's enterprise activation.
func activate(t *testing.T, e *portalEnv, password string) (string, error) {
	t.Helper()
	install := filepath.Join(t.TempDir(), "install")
	err := bootloader.Run(context.Background(), bootloader.Options{Server: e.URL, Email: "Dave@Example.com",
		ActivationPassword: password, InstallDir: install, NonInteractive: true, Executable: standInExecutable(t)})
	return install, err
}

func deviceOf(t *testing.T, e *portalEnv) portal.Device {
	t.Helper()
	var page portal.Page[portal.Device]
	e.as("GET", "/api/v1/devices", nil).want(http.StatusOK).decode(&page)
	if len(page.Items) == 0 {
		t.Fatal("no device")
	}
	return page.Items[0]
}

func TestEnterpriseActivation(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), cheapKDF)
		uid := activationUser(t, e, `{"password_required":true,"password_min_length":8}`)
		pw := activationPassword(t, e, uid, `{}`)
		if len(pw) != 14 || strings.ContainsAny(pw, "0o1li") {
			t.Errorf("generated password %q is not three groups of four unambiguous characters", pw)
		}

		install, err := activate(t, e, pw)
		if err != nil {
			t.Fatalf("activation: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(install, "apps", "ward-rounds", "rounds.txt")); err != nil || string(b) != "ward rounds v3" {
			t.Errorf("installed app: %q, %v", b, err)
		}
		var policy packages.Policy
		if b, err := os.ReadFile(filepath.Join(install, "policy.json")); err != nil || json.Unmarshal(b, &policy) != nil || policy.Rules["password_min_length"] != float64(8) {
			t.Errorf("policy.json: %s, %v", b, err)
		}
		var books []packages.ServiceBook
		if b, err := os.ReadFile(filepath.Join(install, "service-books.json")); err != nil || json.Unmarshal(b, &books) != nil {
			t.Errorf("service-books.json: %s, %v", b, err)
		} else if len(books) != 4 || books[0].Type != "CICAL" || books[0].Fields["account"] != "dave@example.com" {
			t.Errorf("service books %+v, want four with the calendar first, filled in for dave", books)
		}
		d := deviceOf(t, e)
		if d.Status != "synchronised" || d.Progress != 100 || d.Installed["ward-rounds"] != "3.0.0" {
			t.Errorf("device after activation = %+v", d)
		}
		var tl struct {
			Items []portal.DeviceEvent
		}
		e.as("GET", "/api/v1/devices/"+d.ID+"/timeline", nil).want(http.StatusOK).decode(&tl)
		var events []string
		for _, ev := range tl.Items {
			events = append(events, ev.Event)
		}
		want := []string{"request_received", "key_generated", "key_accepted", "policy_sent", "policy_accepted", "service_books_sent",
			"activation_complete", "slow_sync_started", "slow_sync_complete"}
		if strings.Join(events, ",") != strings.Join(want, ",") {
			t.Errorf("timeline %v, want %v", events, want)
		}
		var pv struct{ State string }
		e.as("GET", "/api/v1/users/"+uid+"/activation-password", nil).want(http.StatusOK).decode(&pv)
		if pv.State != portal.ActivationUsed {
			t.Errorf("password state after success = %q, want used", pv.State)
		}

		t.Run("used_password_refused", func(t *testing.T) {
			if _, err := activate(t, e, pw); err == nil || !strings.Contains(err.Error(), "already used") {
				t.Errorf("second activation with a used password: %v", err)
			}
		})
		t.Run("five_wrong_attempts_kill_it", func(t *testing.T) {
			pw := activationPassword(t, e, uid, `{"password":"correct-horse-1"}`)
			for i := range portal.MaxActivationFailures {
				if _, err := activate(t, e, "wrong-horse-"+string(rune('a'+i))); err == nil || !strings.Contains(err.Error(), "incorrect") && i < 4 {
					t.Fatalf("wrong attempt %d: %v", i+1, err)
				}
			}
			_, err := activate(t, e, pw)
			if err == nil || !strings.Contains(err.Error(), "too many failed attempts") {
				t.Errorf("right password after five failures: %v, want refused for too many attempts", err)
			}
			d := deviceOf(t, e)
			if d.Error == nil || d.Error.Code != portal.FailTooManyAttempts {
				t.Errorf("device error = %+v, want %s", d.Error, portal.FailTooManyAttempts)
			}
			var tl struct {
				Troubleshooting portal.Troubleshooting
			}
			e.as("GET", "/api/v1/devices/"+d.ID+"/timeline", nil).want(http.StatusOK).decode(&tl)
			if tl.Troubleshooting.Code != portal.FailTooManyAttempts || tl.Troubleshooting.Fix == "" {
				t.Errorf("timeline troubleshooting = %+v", tl.Troubleshooting)
			}
		})
		t.Run("expired_password_refused", func(t *testing.T) {
			e.as("POST", "/api/v1/users/"+uid+"/activation-password", `{"expires_in":"1s","password":"short-lived-1"}`).want(http.StatusCreated)
			time.Sleep(1100 * time.Millisecond) // the shortest expiry the API accepts is a second
			if _, err := activate(t, e, "short-lived-1"); err == nil || !strings.Contains(err.Error(), "expired") {
				t.Errorf("expired password: %v", err)
			}
		})
		t.Run("admin_edits_service_books", func(t *testing.T) {
			e.as("PUT", "/api/v1/settings/service-books", `{"items":[{"type":"CMIME","name":"Mail","fields":{}}]}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
			e.as("PUT", "/api/v1/settings/service-books", `{"items":[{"type":"CICAL","name":"Ward calendar","fields":{"account":"{{.Username}}"}}]}`).want(http.StatusOK)
			pw := activationPassword(t, e, uid, `{}`)
			install, err := activate(t, e, pw)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(install, "service-books.json"))
			if !strings.Contains(string(b), "Ward calendar") || !strings.Contains(string(b), `"account": "dave"`) {
				t.Errorf("service books after the admin's edit: %s", b)
			}
		})
		t.Run("bad_requests", func(t *testing.T) {
			e.as("POST", "/api/v1/users/"+uid+"/activation-password", `{"password":"short"}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
			e.as("POST", "/api/v1/users/"+uid+"/activation-password", `{"expires_in":"forever"}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
			e.as("POST", "/api/v1/users/nope/activation-password", `{}`).wantError(http.StatusNotFound, portal.CodeNotFound)
		})
	})
}

func TestITPolicyTheDeviceCannotEnforce(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), cheapKDF)
		uid := activationUser(t, e, `{"min_os_version":"999.1"}`)
		pw := activationPassword(t, e, uid, `{}`)
		install, err := activate(t, e, pw)
		if err == nil || !strings.Contains(err.Error(), "IT policy rejected") || !strings.Contains(err.Error(), "min_os_version") {
			t.Fatalf("activation under an impossible policy: %v", err)
		}
		if _, err := os.Stat(filepath.Join(install, "apps")); err == nil {
			t.Error("apps were installed although the policy was rejected")
		}
		d := deviceOf(t, e)
		if d.Status != "it_policy_rejected" || d.Error == nil || d.Error.Code != portal.FailITPolicyRejected || !strings.Contains(d.Error.Message, "min_os_version") {
			t.Errorf("device = %+v, want it_policy_rejected naming min_os_version", d)
		}
	})
}

func TestTwoDevicesRaceOnePassword(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), cheapKDF)
		uid := activationUser(t, e, `{}`)
		pw := activationPassword(t, e, uid, `{}`)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := activate(t, e, pw)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			if err == nil {
				ok++
			} else if !strings.Contains(err.Error(), "already used") {
				t.Errorf("the losing device's error: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d devices activated with one password, want exactly 1", ok)
		}
	})
}

// rawActivation walks the protocol by hand up to the sealed channel, so a
// test can send what a real bootloader never would.
func rawActivation(t *testing.T, e *portalEnv, password string) (*activation.Channel, string) {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	b := base64.RawURLEncoding
	var st packages.ActivationStarted
	e.call("POST", "/device/v1/activation/start", "", packages.ActivationStart{Email: "dave@example.com",
		Device: packages.DeviceInfo{Name: "raw", Platform: "linux-amd64"}, DeviceKey: b.EncodeToString(pub)}).want(http.StatusOK).decode(&st)
	var params activation.Argon2Params
	json.Unmarshal([]byte(st.KDFParams), &params)
	salt, _ := b.DecodeString(st.Salt)
	sid, _ := b.DecodeString(st.SID)
	portalKey, _ := b.DecodeString(st.PortalKey)
	party, ya, err := activation.Start(activation.PRS(password, salt, params), packages.ActivationChannelID(e.Srv.Fingerprint(), "dave@example.com"), sid, pub)
	if err != nil {
		t.Fatal(err)
	}
	var ex packages.ActivationExchanged
	e.call("POST", "/device/v1/activation/exchange", "", packages.ActivationExchange{SessionID: st.SessionID, Share: b.EncodeToString(ya)}).want(http.StatusOK).decode(&ex)
	yb, _ := b.DecodeString(ex.Share)
	tb, _ := b.DecodeString(ex.Confirm)
	isk, err := party.Finish(yb, portalKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := activation.DeriveKeys(isk, sid, activation.Transcript(ya, pub, yb, portalKey))
	if err != nil || !keys.VerifyResponder(tb) {
		t.Fatalf("the portal's confirmation does not verify: %v", err)
	}
	var sealed packages.SealedMessage
	e.call("POST", "/device/v1/activation/confirm", "", packages.ActivationConfirm{SessionID: st.SessionID, Confirm: b.EncodeToString(keys.ConfirmInitiator())}).want(http.StatusOK).decode(&sealed)
	ch, err := activation.NewChannel(keys, activation.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.StdEncoding.DecodeString(sealed.CT)
	plain, err := ch.Open(activation.Envelope{Seq: sealed.Seq, CT: ct}, []byte(st.SessionID))
	if err != nil || !strings.Contains(string(plain), `"it_policy"`) {
		t.Fatalf("first sealed message: %s, %v", plain, err)
	}
	return ch, st.SessionID
}

func TestSealedMessagesRefuseReplayAndTampering(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), cheapKDF)
		uid := activationUser(t, e, `{}`)
		pw := activationPassword(t, e, uid, `{}`)
		ch, sid := rawActivation(t, e, pw)
		env := ch.Seal([]byte(`{"type":"policy_result","accepted":true}`), []byte(sid))
		msg := packages.SealedMessage{SessionID: sid, Seq: env.Seq, CT: base64.StdEncoding.EncodeToString(env.CT)}

		tampered := append([]byte(nil), env.CT...)
		tampered[3] ^= 0x40
		e.call("POST", "/device/v1/activation/message", "", packages.SealedMessage{SessionID: sid, Seq: env.Seq, CT: base64.StdEncoding.EncodeToString(tampered)}).
			wantError(http.StatusBadRequest, portal.CodeSealedMessageRejected)
		// The untampered message still works: a refused one changes nothing.
		var reply, again packages.SealedMessage
		e.call("POST", "/device/v1/activation/message", "", msg).want(http.StatusOK).decode(&reply)
		// The same message once more, as after a lost reply: the same reply, processed once.
		e.call("POST", "/device/v1/activation/message", "", msg).want(http.StatusOK).decode(&again)
		if again != reply {
			t.Error("a retransmitted request got a different reply")
		}
		if d := deviceOf(t, e); d.Status != "services_received" {
			t.Errorf("device status %s, want services_received", d.Status)
		}
		next := ch.Seal([]byte(`{"type":"installed","installed":{"ward-rounds":"3.0.0"}}`), []byte(sid))
		e.call("POST", "/device/v1/activation/message", "", packages.SealedMessage{SessionID: sid, Seq: next.Seq, CT: base64.StdEncoding.EncodeToString(next.CT)}).want(http.StatusOK)
		// Now the first message is an old one: replayed, it is refused.
		e.call("POST", "/device/v1/activation/message", "", msg).wantError(http.StatusBadRequest, portal.CodeSealedMessageRejected)
		if d := deviceOf(t, e); d.Status != packages.StatusActivationComplete {
			t.Errorf("device status %s, want activation_complete", d.Status)
		}
		var tl struct{ Items []portal.DeviceEvent }
		e.as("GET", "/api/v1/devices/"+deviceOf(t, e).ID+"/timeline", nil).want(http.StatusOK).decode(&tl)
		rejected, booksSent := 0, 0
		for _, ev := range tl.Items {
			switch ev.Event {
			case "sealed_message_rejected":
				rejected++
			case "service_books_sent":
				booksSent++
			}
		}
		if rejected != 2 || booksSent != 1 {
			t.Errorf("timeline shows %d rejected sealed messages and %d service book deliveries, want 2 and 1", rejected, booksSent)
		}
	})
}

// loseReply forwards every request but, on the n-th activation message,
// drops the portal's reply as a cut connection would.
type loseReply struct {
	n, seen int
	mu      sync.Mutex
}

func (l *loseReply) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/activation/message") {
		return res, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen++
	if l.seen == l.n {
		res.Body.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return res, nil
}

func TestSlowSyncResumesAndDeliversEachItemOnce(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), cheapKDF)
		uid := activationUser(t, e, `{}`)
		var events []map[string]any
		for i := range 120 {
			events = append(events, map[string]any{"summary": fmt.Sprintf("Ward round %d", i), "start": time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC3339)})
		}
		var res struct {
			Added, Replaced int
			Refused         []struct{ Index int }
		}
		e.call("POST", "/api/v1/users/"+uid+"/organizer?kind=calendar", e.Token, mustJSON(t, events)).want(http.StatusOK).decode(&res)
		if res.Added != 120 || len(res.Refused) != 0 {
			t.Fatalf("calendar import = %+v", res)
		}
		var vcf strings.Builder
		for i := range 30 {
			fmt.Fprintf(&vcf, "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:contact-%d\r\nFN:Colleague %d\r\nN:%d;Colleague;;;\r\nEMAIL:c%d@example.com\r\nEND:VCARD\r\n", i, i, i, i)
		}
		req, _ := http.NewRequest("POST", e.URL+"/api/v1/users/"+uid+"/organizer", strings.NewReader(vcf.String()))
		req.Header.Set("Authorization", "Bearer "+e.Token)
		req.Header.Set("Content-Type", "text/vcard")
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("vCard import: %v %v", r.StatusCode, err)
		}
		r.Body.Close()
		// A bad item is refused with its index; the good one is kept.
		e.call("POST", "/api/v1/users/"+uid+"/organizer?kind=tasks", e.Token, `[{"summary":"Order supplies"},{"due":"tomorrow"}]`).want(http.StatusOK).decode(&res)
		if res.Added != 1 || len(res.Refused) != 1 || res.Refused[0].Index != 1 {
			t.Errorf("task import with a bad item = %+v", res)
		}
		var counts struct{ Counts map[string]int }
		e.as("GET", "/api/v1/users/"+uid+"/organizer", nil).want(http.StatusOK).decode(&counts)
		if counts.Counts["calendar"] != 120 || counts.Counts["contacts"] != 30 || counts.Counts["tasks"] != 1 {
			t.Fatalf("organizer counts = %v", counts.Counts)
		}

		pw := activationPassword(t, e, uid, `{}`)
		exe := standInExecutable(t)
		install := filepath.Join(t.TempDir(), "install")
		opts := bootloader.Options{Server: e.URL, Email: "dave@example.com", ActivationPassword: pw, InstallDir: install,
			NonInteractive: true, Executable: exe}
		// Messages: policy result, installed, first sync page, second sync page (its reply lost).
		opts.HTTPClient = &http.Client{Transport: &loseReply{n: 4}}
		if err := bootloader.Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "slow sync") {
			t.Fatalf("first run: %v, want the sync cut", err)
		}
		d := deviceOf(t, e)
		if d.Status != "slow_sync" || d.Progress <= 0 || d.Progress >= 100 {
			t.Errorf("device mid-sync = %s %d%%, want slow_sync part way", d.Status, d.Progress)
		}
		opts.HTTPClient = nil
		if err := bootloader.Run(context.Background(), opts); err != nil {
			t.Fatalf("resumed run: %v", err)
		}
		for kind, want := range map[string]int{"calendar": 120, "contacts": 30, "tasks": 1} {
			files, _ := os.ReadDir(filepath.Join(install, "organizer", kind))
			if len(files) != want {
				t.Errorf("%s items on the device = %d, want %d", kind, len(files), want)
			}
		}
		if d := deviceOf(t, e); d.Status != "synchronised" || d.Progress != 100 {
			t.Errorf("device after the resumed sync = %s %d%%", d.Status, d.Progress)
		}
		if _, err := os.Stat(filepath.Join(install, ".activation.json")); !os.IsNotExist(err) {
			t.Errorf("the finished sync left its state behind (%v)", err)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWirelessBackupRestoresOptions: the options a device backs up after its
// sync come back to the same user's next device.
func TestWirelessBackupRestoresOptions(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), cheapKDF)
		uid := activationUser(t, e, `{}`)
		first := filepath.Join(t.TempDir(), "install")
		os.MkdirAll(first, 0o755)
		os.WriteFile(filepath.Join(first, "options.json"), []byte(`{"ringtone":"chimes","font_size":"large"}`), 0o600)
		exe := standInExecutable(t)
		run := func(install string) {
			t.Helper()
			pw := activationPassword(t, e, uid, `{}`)
			if err := bootloader.Run(context.Background(), bootloader.Options{Server: e.URL, Email: "dave@example.com", ActivationPassword: pw,
				InstallDir: install, NonInteractive: true, Executable: exe}); err != nil {
				t.Fatal(err)
			}
		}
		run(first)
		var counts struct{ Counts map[string]int }
		e.as("GET", "/api/v1/users/"+uid+"/organizer", nil).want(http.StatusOK).decode(&counts)
		if counts.Counts["options"] != 2 {
			t.Fatalf("options backed up = %d, want 2", counts.Counts["options"])
		}
		second := filepath.Join(t.TempDir(), "install")
		run(second)
		var got map[string]string
		b, err := os.ReadFile(filepath.Join(second, "options.json"))
		if err != nil || json.Unmarshal(b, &got) != nil || got["ringtone"] != "chimes" || got["font_size"] != "large" {
			t.Errorf("restored options.json = %s, %v", b, err)
		}
	})
}
