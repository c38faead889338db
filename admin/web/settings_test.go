package web

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"provportal/portal"
	"provportal/sms"
)

// twilioToken stands for the auth token the portal holds; the console is
// never given it, and no page may show it.
const twilioToken = "f00dfacecafe0123456789abcdef9876"

func newSettingsConsole(t *testing.T, from string) *consoleEnv {
	t.Helper()
	t.Setenv("TWILIO_AUTH_TOKEN", twilioToken)
	return newConsoleWith(t, func(c *Config) {
		c.PublicURL, c.OrgName, c.TwilioFrom = "https://portal.example.com", "Acme IT", from
	})
}

func (e *consoleEnv) setting(name string) (string, bool) {
	e.t.Helper()
	v, ok, err := e.Store.Setting(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return v, ok
}

func TestSettingsPageAdmin(t *testing.T) {
	env := newSettingsConsole(t, "+15550100")
	b := env.browser()
	b.signIn("root")
	p := b.get("/admin/settings").want(t, http.StatusOK)
	p.wantText(t, `href="/admin/settings" aria-current="page">Settings</a>`,
		"https://portal.example.com", "Twilio: configured, sending from +15550100",
		`name="org_name"`, `value="Acme IT"`, `name="template"`, `action="/admin/settings"`,
		"Acme IT: set up your device at https://portal.example.com/download (server portal.example.com)",
		"GSM-7, 1 segment")
	p.wantNoText(t, twilioToken, "outbox")
}

func TestSettingsPageHelpdeskReadOnly(t *testing.T) {
	env := newSettingsConsole(t, "")
	b := env.browser()
	csrf := b.signIn("help")
	p := b.get("/admin/settings").want(t, http.StatusOK)
	p.wantText(t, "Not configured: messages go to the outbox", "Acme IT", "https://portal.example.com/download")
	p.wantNoText(t, twilioToken, `name="org_name"`, `name="template"`, `action="/admin/settings"`, "Twilio: configured")

	b.post("/admin/settings", url.Values{"csrf_token": {csrf}, "org_name": {"Evil"}, "template": {"{{.Link}}"}}).
		want(t, http.StatusForbidden).wantNoText(t, twilioToken)
	if _, ok := env.setting(settingOrgName); ok {
		t.Error("helpdesk's refused POST stored the organisation name")
	}
}

func TestSettingsBadTemplateRefused(t *testing.T) {
	env := newSettingsConsole(t, "")
	b := env.browser()
	b.signIn("root")
	csrf := b.get("/admin/settings").want(t, http.StatusOK).csrf(t)
	typed := "Hello from {{.Org}}, no link here"
	p := b.post("/admin/settings", url.Values{"csrf_token": {csrf}, "org_name": {"New Org"}, "template": {typed}}).
		want(t, http.StatusUnprocessableEntity)
	msg := fieldMessage(portal.Invalid("template", "%v", sms.ValidateTemplate(typed)))
	p.wantText(t, `<p class="field-error" id="f-template-error">`+msg+`</p>`, typed, `value="New Org"`,
		"No preview until the template is corrected.")
	p.wantNoText(t, twilioToken)

	// A bad name is refused beside its field too, with the API's rule.
	p = b.post("/admin/settings", url.Values{"csrf_token": {csrf}, "org_name": {" padded "}, "template": {sms.DefaultTemplate}}).
		want(t, http.StatusUnprocessableEntity)
	p.wantText(t, `id="f-org_name-error">`+fieldMessage(portal.CheckName("org_name", " padded ", true, 60).(*portal.Error)))

	for _, name := range []string{settingOrgName, settingSMSTemplate} {
		if v, ok := env.setting(name); ok {
			t.Errorf("refused form stored %s = %q", name, v)
		}
	}
}

func TestSettingsSavedAndAudited(t *testing.T) {
	env := newSettingsConsole(t, "")
	b := env.browser()
	b.signIn("root")
	csrf := b.get("/admin/settings").want(t, http.StatusOK).csrf(t)
	tmpl := "{{.Org}}: tap {{.Link}} to set up"
	b.post("/admin/settings", url.Values{"csrf_token": {csrf}, "org_name": {"Globex"}, "template": {tmpl}}).
		wantRedirect(t, "/admin/settings")
	if v, _ := env.setting(settingOrgName); v != "Globex" {
		t.Errorf("org.name = %q, want Globex", v)
	}
	if v, _ := env.setting(settingSMSTemplate); v != tmpl {
		t.Errorf("sms.template = %q, want %q", v, tmpl)
	}
	wantAudit(t, env, "setting", settingOrgName, "update", "root")
	wantAudit(t, env, "setting", settingSMSTemplate, "update", "root")
	b.get("/admin/settings").want(t, http.StatusOK).
		wantText(t, "Settings were saved.", "Globex: tap https://portal.example.com/download to set up").
		wantNoText(t, twilioToken)
}

// TestSettingsPageShowsTheAlias: a portal on a relay shows its alias, the
// relay and whether it is connected now; one without says devices use the
// public address.
func TestSettingsPageShowsTheAlias(t *testing.T) {
	var connected atomic.Bool
	env := newConsoleWith(t, func(c *Config) {
		c.Alias, c.RelayURL = "acme@example.com", "https://relay.example.net"
		c.RelayConnected = connected.Load
	})
	b := env.browser()
	b.signIn("help")
	b.get("/admin/settings").want(t, http.StatusOK).
		wantText(t, "acme@example.com", "https://relay.example.net", "not connected")
	connected.Store(true)
	b.get("/admin/settings").want(t, http.StatusOK).
		wantText(t, "acme@example.com", ": connected").wantNoText(t, "not connected")

	plain := newConsole(t).browser()
	plain.signIn("help")
	plain.get("/admin/settings").want(t, http.StatusOK).wantText(t, "devices reach the portal at its public address")
}
