package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"provportal/packages/activation"
	"provportal/portal"
)

var secretRE = regexp.MustCompile(`<p class="secret"><code>([^<]+)</code></p>`)

// shownPassword is the password on the page that sets it.
func shownPassword(t *testing.T, p *page) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no password on the page:\n%s", p.Body)
	}
	return m[1]
}

func (e *consoleEnv) activationPassword(userID string) *portal.ActivationPassword {
	e.t.Helper()
	p, err := e.Store.ActivationPassword(context.Background(), userID)
	if portal.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// wantPRSOf checks that the store keeps what the key exchange derives from
// password, and not the password.
func wantPRSOf(t *testing.T, stored *portal.ActivationPassword, password string) {
	t.Helper()
	if stored == nil {
		t.Fatal("the store has no activation password")
	}
	var kdf activation.Argon2Params
	if err := json.Unmarshal([]byte(stored.KDFParams), &kdf); err != nil {
		t.Fatalf("KDF parameters %q: %v", stored.KDFParams, err)
	}
	if want := activation.PRS(password, stored.Salt, kdf); !bytes.Equal(stored.PRS, want) {
		t.Error("the stored PRS is not the one derived from the password shown")
	}
	if bytes.Contains(stored.PRS, []byte(password)) {
		t.Error("the stored PRS contains the password")
	}
}

// wantNowhereOnDisk checks every file the test wrote, the database and its
// journal among them, for the password in clear.
func wantNowhereOnDisk(t *testing.T, password string) {
	t.Helper()
	root := filepath.Dir(t.TempDir())
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(password)) {
			t.Errorf("%s holds the activation password in clear", filepath.Base(path))
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("searched %d files under the test's directory: %v", files, err)
	}
}

func TestActivationPasswordGeneratedIsShownOnce(t *testing.T) {
	var logged bytes.Buffer
	env := newConsoleWith(t, func(c *Config) { c.Log = slog.New(slog.NewTextHandler(&logged, nil)) })
	alice := env.addRecipient("alice", "", "+14155550132")
	b := env.browser()
	csrf := b.signIn("root")
	path := "/admin/users/" + alice.ID + "/activation-password"

	b.get("/admin/users").want(t, http.StatusOK).wantText(t, `href="`+path+`"`)
	b.get(path).want(t, http.StatusOK).wantText(t, "None: no device can activate as alice", "alice has no e-mail address")

	before := time.Now()
	p := b.post(path, url.Values{"csrf_token": {csrf}, "password": {""}, "expires_in": {"24h"}}).want(t, http.StatusOK)
	secret := shownPassword(t, p)
	if !regexp.MustCompile(`^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$`).MatchString(secret) {
		t.Errorf("generated password %q is not in the portal's form", secret)
	}
	stored := env.activationPassword(alice.ID)
	wantPRSOf(t, stored, secret)
	if d := stored.ExpiresAt.Sub(before); d < 24*time.Hour-time.Minute || d > 24*time.Hour+time.Minute {
		t.Errorf("the password expires in %s, want 24h", d)
	}
	p.wantText(t, "Shown this once", when(stored.ExpiresAt))
	if got := p.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if loc, cookies := p.Header.Get("Location"), strings.Join(p.Header.Values("Set-Cookie"), "\n"); strings.Contains(loc+cookies, secret) {
		t.Errorf("the password travels in a header: Location %q, Set-Cookie %q", loc, cookies)
	}

	// Afterwards the page tells its state, never the password.
	b.get(path).want(t, http.StatusOK).wantText(t, `state-active">Active</span>`, "0 of 5").wantNoText(t, secret)
	wantNowhereOnDisk(t, secret)
	if strings.Contains(logged.String(), secret) {
		t.Error("the console's log holds the password")
	}
}

func TestActivationPasswordTyped(t *testing.T) {
	env := newConsole(t)
	alice := env.addRecipient("alice", "", "+14155550132")
	b := env.browser()
	csrf := b.signIn("root")
	path := "/admin/users/" + alice.ID + "/activation-password"

	// Too short: the API's refusal beside the field, and the typed value not sent back.
	short := "k7m2x"
	p := b.post(path, url.Values{"csrf_token": {csrf}, "password": {short}, "expires_in": {"1h"}}).
		want(t, http.StatusUnprocessableEntity)
	p.wantText(t, `id="f-password-error">Must be`, `href="#f-password"`, "type it again", `<option value="1h" selected>`).
		wantNoText(t, short)
	if env.activationPassword(alice.ID) != nil {
		t.Fatal("a refused password was stored")
	}

	typed := "Correct-Horse-42"
	p = b.post(path, url.Values{"csrf_token": {csrf}, "password": {typed}, "expires_in": {"1h"}}).want(t, http.StatusOK)
	if got := shownPassword(t, p); got != typed {
		t.Errorf("the page shows %q, want the typed %q", got, typed)
	}
	wantPRSOf(t, env.activationPassword(alice.ID), typed)
	wantNowhereOnDisk(t, typed)
}

func TestActivationPasswordHintQuotesTheAPI(t *testing.T) {
	env := newConsole(t)
	alice := env.addRecipient("alice", "", "")
	b := env.browser()
	b.signIn("root")
	// The hint's numbers are the API's published ones, whatever they are.
	res, err := http.Get(env.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					MinLength int    `json:"minLength"`
					Default   string `json:"default"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	set := doc.Components.Schemas["ActivationPasswordSet"].Properties
	if set["password"].MinLength == 0 || set["expires_in"].Default == "" {
		t.Fatalf("the API publishes no minimum length or default expiry: %+v", set)
	}
	b.get("/admin/users/"+alice.ID+"/activation-password").want(t, http.StatusOK).
		wantText(t, "at least "+plural(set["password"].MinLength, "character"),
			`<option value="" selected>The portal’s default (`+set["expires_in"].Default+`)</option>`)
}

func TestActivationPasswordStates(t *testing.T) {
	cases := []struct {
		name    string
		expires time.Duration // from now
		setup   func(t *testing.T, e *consoleEnv, id string)
		want    string
	}{
		{"expired", -time.Hour, nil, `state-expired">Expired</span>`},
		{"used", time.Hour, func(t *testing.T, e *consoleEnv, id string) {
			if ok, err := e.Store.ConsumeActivationPassword(context.Background(), id, time.Now()); !ok || err != nil {
				t.Fatalf("consume: %v %v", ok, err)
			}
		}, `state-used">Used</span>`},
		{"fifth_failure", time.Hour, func(t *testing.T, e *consoleEnv, id string) {
			ctx := context.Background()
			for range portal.MaxActivationFailures {
				if _, _, err := e.Store.BeginActivationAttempt(ctx, id, time.Now()); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Store.FailActivationAttempt(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}, `state-too_many_attempts">Locked</span>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newConsole(t)
			alice := env.addRecipient("alice", "", "")
			p := &portal.ActivationPassword{UserID: alice.ID, PRS: []byte("prs"), Salt: []byte("salt"), KDFParams: "{}",
				ExpiresAt: time.Now().Add(tc.expires)}
			if err := env.Store.SetActivationPassword(asTestActor, p); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, env, p.ID)
			}
			b := env.browser()
			b.signIn("root")
			b.get("/admin/users/"+alice.ID+"/activation-password").want(t, http.StatusOK).wantText(t, tc.want, "Clear this password")
		})
	}
}

func TestActivationPasswordClear(t *testing.T) {
	env := newConsole(t)
	alice := env.addRecipient("alice", "", "")
	b := env.browser()
	csrf := b.signIn("root")
	path := "/admin/users/" + alice.ID + "/activation-password"
	b.post(path, url.Values{"csrf_token": {csrf}}).want(t, http.StatusOK)

	b.get(path+"/clear").want(t, http.StatusOK).
		wantText(t, "Clear the activation password of alice?", `action="`+path+`/clear"`)
	if env.activationPassword(alice.ID) == nil {
		t.Fatal("asking to confirm cleared the password")
	}
	b.post(path+"/clear", url.Values{"csrf_token": {csrf}}).wantRedirect(t, path)
	if env.activationPassword(alice.ID) != nil {
		t.Fatal("the password is still stored")
	}
	b.get(path).want(t, http.StatusOK).wantText(t, "was cleared", "None: no device can activate")
}

func TestActivationPasswordHelpdeskRefused(t *testing.T) {
	env := newConsole(t)
	alice := env.addRecipient("alice", "", "")
	b := env.browser()
	csrf := b.signIn("help")
	path := "/admin/users/" + alice.ID + "/activation-password"

	b.get(path).want(t, http.StatusForbidden)
	b.get(path+"/clear").want(t, http.StatusForbidden)
	b.post(path, url.Values{"csrf_token": {csrf}, "password": {"Correct-Horse-42"}}).
		want(t, http.StatusForbidden).wantNoText(t, "Correct-Horse-42")
	b.post(path+"/clear", url.Values{"csrf_token": {csrf}}).want(t, http.StatusForbidden)
	if env.activationPassword(alice.ID) != nil {
		t.Fatal("the helpdesk set a password")
	}
	b.get("/admin/users").want(t, http.StatusOK).wantNoText(t, "/activation-password")
}
