package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"

	"provportal/portal"
	"provportal/portal/deviceapi"
	"provportal/sms"
)

var asTestActor = portal.WithActor(context.Background(), portal.Actor{Username: "test"})

func (e *consoleEnv) addRecipient(username, displayName, phone string, groups ...string) *portal.User {
	e.t.Helper()
	u := &portal.User{Username: username, DisplayName: displayName, Phone: phone, Groups: groups}
	if err := e.Store.CreateUser(asTestActor, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *consoleEnv) addRecipientGroup(name string) *portal.Group {
	e.t.Helper()
	g := &portal.Group{Name: name}
	if err := e.Store.CreateGroup(asTestActor, g); err != nil {
		e.t.Fatal(err)
	}
	return g
}

func (e *consoleEnv) putSMSSetting(name, value string) {
	e.t.Helper()
	if err := e.Store.PutSetting(asTestActor, name, value); err != nil {
		e.t.Fatal(err)
	}
}

func (e *consoleEnv) outboxMessages() []portal.SMSMessage {
	e.t.Helper()
	page, err := e.Store.SMSMessages(context.Background(), portal.SMSFilter{ListOptions: portal.ListOptions{Limit: 100}})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Items
}

// segmentsText is how the page states a message's cost.
func segmentsText(body string) string {
	s := sms.Count(body)
	return fmt.Sprintf("%s: %s, %s (%d units, %d left in the last segment)",
		plural(utf8.RuneCountInString(body), "character"), s.Encoding, plural(s.Segments, "segment"), s.Units, s.Remaining)
}

func TestProvisioningGenericMessageShowsTheCountOfWhatIsSent(t *testing.T) {
	env := newConsole(t)
	// Cyrillic is not GSM-7, so the message is UCS-2, in several segments;
	// the phone takes two UTF-16 units, so units and characters differ.
	tmpl := "📱 {{.Org}} — настройте устройство по ссылке {{.Link}} (сервер {{.Server}})"
	env.putSMSSetting(settingSMSTemplate, tmpl)
	u, _ := url.Parse(env.URL)
	body, err := sms.Compose(tmpl, sms.Fields{Org: "Example Corp", Link: env.URL + "/download", Server: u.Host})
	if err != nil {
		t.Fatal(err)
	}
	if got := sms.Count(body); got.Encoding != sms.UCS2 || got.Segments < 2 || got.Units == utf8.RuneCountInString(body) {
		t.Fatalf("the test's message is %+v; it should take several UCS-2 segments", got)
	}

	for _, who := range []string{"root", "help"} {
		b := env.browser()
		b.signIn(who)
		b.get("/admin/provisioning").want(t, http.StatusOK).
			wantText(t, `href="/admin/provisioning" aria-current="page"`, "Generate provisioning SMS message",
				body, segmentsText(body), `href="/admin/settings"`)
	}
}

func TestProvisioningBrokenTemplateIsExplained(t *testing.T) {
	env := newConsole(t)
	env.putSMSSetting(settingSMSTemplate, "{{.Link}} {{.Nope}}")
	b := env.browser()
	b.signIn("root")
	b.get("/admin/provisioning").want(t, http.StatusOK).
		wantText(t, "The SMS template does not work", "Correct the template in Settings").
		wantNoText(t, `<blockquote class="preview">`)
}

var previewRE = regexp.MustCompile(`(?s)<h2 id="preview-heading">Preview for ([^<]+)</h2>.*?<blockquote class="preview">([^<]*)</blockquote>\s*<p>([^<]*)</p>`)

func TestProvisioningPreviewIsTheFirstChosenUsersMessage(t *testing.T) {
	env := newConsole(t)
	env.putSMSSetting(settingSMSTemplate, "Hello {{.Name}} ({{.Username}}), set up your device: {{.Link}}")
	alice := env.addRecipient("alice", "Alice Liddell", "+14155550132")
	bob := env.addRecipient("bob", "", "+14155550133")
	b := env.browser()
	csrf := b.signIn("help")

	p := b.post("/admin/provisioning/preview", url.Values{"csrf_token": {csrf}, "user_ids": {bob.ID, alice.ID}}).
		want(t, http.StatusOK)
	m := previewRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no preview in the page:\n%s", p.Body)
	}
	body := m[2]
	if m[1] != "bob" || !strings.HasPrefix(body, "Hello bob (bob), set up your device: "+env.URL+"/p/") {
		t.Errorf("preview for %q reads %q, want bob's message with a personal link", m[1], body)
	}
	if m[3] != segmentsText(body) {
		t.Errorf("preview's count is %q, want %q", m[3], segmentsText(body))
	}
	// Both stay chosen, and nothing was sent.
	p.wantText(t, `id="u-`+alice.ID+`" name="user_ids" value="`+alice.ID+`" checked`,
		`id="u-`+bob.ID+`" name="user_ids" value="`+bob.ID+`" checked`)
	if n := len(env.outboxMessages()); n != 0 {
		t.Errorf("a preview queued %d messages", n)
	}

	b.post("/admin/provisioning/preview", url.Values{"csrf_token": {csrf}}).
		want(t, http.StatusUnprocessableEntity).wantText(t, `id="f-user_ids-error">Choose a user to preview`)
}

func TestProvisioningSearchKeepsChosenUsers(t *testing.T) {
	env := newConsole(t)
	var carol *portal.User
	for i := range 45 {
		u := env.addRecipient(fmt.Sprintf("user%02d", i), "", "+1415555"+fmt.Sprintf("%04d", i))
		if i == 7 {
			carol = u
		}
	}
	b := env.browser()
	csrf := b.signIn("root")

	first := b.get("/admin/provisioning").want(t, http.StatusOK)
	first.wantText(t, "45 users; page 1 of 3", `name="go" value="20">Next page`).wantNoText(t, "user20")
	// Turning the page keeps the user ticked on the first one.
	p := b.post("/admin/provisioning", url.Values{"csrf_token": {csrf}, "user_ids": {carol.ID}, "go": {"20"}}).
		want(t, http.StatusOK)
	p.wantText(t, "user20", "page 2 of 3", `value="`+carol.ID+`" checked`, "Chosen (1)")
	// A search filters on the server and keeps the choice too.
	p = b.post("/admin/provisioning", url.Values{"csrf_token": {csrf}, "user_ids": {carol.ID}, "name": {"user4"}, "go": {"0"}, "offset": {"20"}}).
		want(t, http.StatusOK)
	p.wantText(t, "5 match “user4”", "user44", `value="`+carol.ID+`" checked`).wantNoText(t, "user39")
}

var linkRE = regexp.MustCompile(`<a href="([^"]+)" class="invitation-link">`)

func TestProvisioningSendToAGroupShowsEachRecipient(t *testing.T) {
	env := newConsole(t)
	field := env.addRecipientGroup("Field")
	alice := env.addRecipient("alice", "Alice Liddell", "+14155550132", field.ID)
	env.addRecipient("bob", "", "", field.ID)
	env.addRecipient("carol", "", "+14155550134") // not in the group
	b := env.browser()
	csrf := b.signIn("root")

	p := b.post("/admin/provisioning/send", url.Values{"csrf_token": {csrf}, "group_id": {field.ID}}).want(t, http.StatusOK)
	p.wantText(t, "1 message was queued; 1 user was not sent one", "Queued", "to +14155550132",
		"Not sent", sentence("the user has no phone number"), `href="/admin/sms"`).wantNoText(t, "carol")

	m := linkRE.FindAllStringSubmatch(p.Body, -1)
	if len(m) != 1 {
		t.Fatalf("%d invitation links, want 1:\n%s", len(m), p.Body)
	}
	link := m[0][1]
	token, ok := strings.CutPrefix(link, env.URL+"/p/")
	if !ok {
		t.Fatalf("invitation link %q is not under %s/p/", link, env.URL)
	}
	inv, err := env.Store.InvitationByTokenHash(context.Background(), deviceapi.HashToken(token))
	if err != nil || inv.UserID != alice.ID {
		t.Fatalf("the link's invitation is %+v, %v; want alice's", inv, err)
	}
	png, err := qrcode.Encode(link, qrcode.Medium, qrSize)
	if err != nil {
		t.Fatal(err)
	}
	p.wantText(t, `<img class="qr" src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`,
		`alt="QR code of the invitation link for alice"`)

	out := env.outboxMessages()
	if len(out) != 1 || out[0].To != alice.Phone || !strings.Contains(out[0].Body, link) {
		t.Fatalf("outbox holds %+v, want one message to alice with the link %s", out, link)
	}
}

func TestProvisioningHelpdeskMaySend(t *testing.T) {
	env := newConsole(t)
	alice := env.addRecipient("alice", "", "+14155550132")
	b := env.browser()
	csrf := b.signIn("help")
	b.post("/admin/provisioning/send", url.Values{"csrf_token": {csrf}, "user_ids": {alice.ID}}).
		want(t, http.StatusOK).wantText(t, "1 message was queued.", `class="invitation-link"`)
	if n := len(env.outboxMessages()); n != 1 {
		t.Errorf("outbox holds %d messages, want 1", n)
	}
}

// apiRefusal is what the API itself answers to a send, for the console's
// page to be compared with.
func apiRefusal(t *testing.T, b *browser, req sendRequest) *portal.Error {
	t.Helper()
	raw, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, b.env.URL+"/api/v1/provisioning/sms", strings.NewReader(string(raw)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+b.cookie(sessionCookie).Value)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Code, Message, Field string }
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the API answered %d (%v), want a 422 refusal", res.StatusCode, err)
	}
	return &portal.Error{Code: portal.Code(body.Error.Code), Msg: body.Error.Message, Field: body.Error.Field}
}

func TestProvisioningRefusalsAreShownBesideTheField(t *testing.T) {
	env := newConsole(t)
	field := env.addRecipientGroup("Field")
	alice := env.addRecipient("alice", "", "+14155550132", field.ID)
	b := env.browser()
	csrf := b.signIn("root")

	cases := []struct {
		name  string
		form  url.Values
		field string
		kept  []string
	}{
		{"no_recipients", url.Values{}, "user_ids", nil},
		{"unknown_group", url.Values{"group_id": {"no-such-group"}}, "group_id", nil},
		{"users_and_group", url.Values{"user_ids": {alice.ID}, "group_id": {field.ID}}, "user_ids",
			[]string{`value="` + alice.ID + `" checked`, `<option value="` + field.ID + `" selected>`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := apiRefusal(t, b, sendRequest{UserIDs: tc.form["user_ids"], GroupID: tc.form.Get("group_id")})
			if want.Field != tc.field {
				t.Fatalf("the API names field %q, want %q", want.Field, tc.field)
			}
			tc.form.Set("csrf_token", csrf)
			p := b.post("/admin/provisioning/send", tc.form).want(t, http.StatusUnprocessableEntity)
			p.wantText(t, `<p class="field-error" id="f-`+tc.field+`-error">`+fieldMessage(want)+`</p>`,
				`href="#f-`+tc.field+`"`)
			p.wantText(t, tc.kept...)
		})
	}
	if n := len(env.outboxMessages()); n != 0 {
		t.Errorf("refused sends queued %d messages", n)
	}
}
