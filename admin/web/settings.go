package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/sms"
)

// The settings the page changes: the same names, and so the same values,
// as the admin API's SMS settings.
const (
	settingSMSTemplate = "sms.template"
	settingOrgName     = "org.name"
)

type settingsForm struct {
	OrgName, Template string
}

// check is admin/api's putSMSSettings validation for a form that always
// sends both fields, collecting every refusal at once.
func (f settingsForm) check() formErrors {
	var errs formErrors
	errs.add(checkName("org_name", f.OrgName, true, 60))
	if err := sms.ValidateTemplate(f.Template); err != nil {
		errs.add(portal.Invalid("template", "%v", err))
	}
	return errs
}

func readSettingsForm(ec echo.Context) settingsForm {
	f := ec.Request().PostForm
	return settingsForm{OrgName: f.Get("org_name"), Template: f.Get("template")}
}

// settings are the stored values, or the defaults the API uses without them.
func (c *Console) settings(ctx context.Context) (settingsForm, error) {
	tmpl, ok, err := c.store.Setting(ctx, settingSMSTemplate)
	if err != nil {
		return settingsForm{}, err
	}
	if !ok {
		tmpl = sms.DefaultTemplate
	}
	org, ok, err := c.store.Setting(ctx, settingOrgName)
	if err != nil {
		return settingsForm{}, err
	}
	if !ok {
		org = c.orgName
	}
	return settingsForm{OrgName: org, Template: tmpl}, nil
}

// relayInfo is how devices find the portal through a switching relay.
type relayInfo struct {
	Alias, URL string
	connected  func() bool
}

// Connected reports the portal's link to its relay as the page is drawn.
func (r relayInfo) Connected() bool { return r.connected != nil && r.connected() }

type settingsPage struct {
	Relay      relayInfo
	PublicURL  string
	TwilioFrom string // "" when messages go to the outbox
	OrgName    string // as saved, for the read-only view
	Template   string
	Fields     []field
	Problems   []problem
	Preview    string
	Segments   sms.Segments
}

// previewFields are the API's generic message: no user, the download link.
func (c *Console) previewFields(org string) sms.Fields {
	server := c.publicURL
	if u, err := url.Parse(c.publicURL); err == nil && u.Host != "" {
		server = u.Host
	}
	if c.relay.Alias != "" {
		server = c.relay.Alias // as the API's message names it
	}
	return sms.Fields{Org: org, Link: strings.TrimRight(c.publicURL, "/") + "/download", Server: server}
}

func (c *Console) settingsPage(ec echo.Context, status int, saved, f settingsForm, errs formErrors) error {
	p := settingsPage{Relay: c.relay, PublicURL: c.publicURL, TwilioFrom: c.twilioFrom, OrgName: saved.OrgName, Template: saved.Template}
	p.Fields, p.Problems = withErrors([]field{
		{Name: "org_name", Label: "Organisation name", Type: "text", Value: f.OrgName, Required: true, Autocomplete: "organization",
			Hint: "Up to 60 characters; messages and the landing page show it."},
		{Name: "template", Label: "SMS template", Type: "textarea", Value: f.Template, Required: true,
			Hint: "Must contain {{.Link}}. It may also use {{.Org}}, {{.Name}}, {{.Username}} and {{.Server}}."},
	}, errs)
	// The preview is of what is on the form, when it composes.
	if _, bad := errs.Fields["template"]; !bad {
		if body, err := sms.Compose(f.Template, c.previewFields(f.OrgName)); err == nil {
			p.Preview, p.Segments = body, sms.Count(body)
		}
	}
	return c.page(ec, status, "settings", "Settings", "settings", p)
}

func (c *Console) showSettings(ec echo.Context) error {
	saved, err := c.settings(ec.Request().Context())
	if err != nil {
		return err
	}
	return c.settingsPage(ec, http.StatusOK, saved, saved, formErrors{})
}

func (c *Console) saveSettings(ec echo.Context) error {
	ctx := ec.Request().Context()
	saved, err := c.settings(ctx)
	if err != nil {
		return err
	}
	f := readSettingsForm(ec)
	// Both are checked before either is written, so a refused form changes nothing.
	errs := f.check()
	if !errs.empty() {
		return c.settingsPage(ec, http.StatusUnprocessableEntity, saved, f, errs)
	}
	// Only what changed is written, so the audit log shows only real changes.
	if f.Template != saved.Template {
		if err := c.store.PutSetting(ctx, settingSMSTemplate, f.Template); err != nil {
			return err
		}
	}
	if f.OrgName != saved.OrgName {
		if err := c.store.PutSetting(ctx, settingOrgName, f.OrgName); err != nil {
			return err
		}
	}
	c.setFlash(ec, "Settings were saved.")
	return ec.Redirect(http.StatusSeeOther, "/admin/settings")
}
