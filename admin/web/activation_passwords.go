package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// registerActivationPasswords mounts a user's activation password pages.
// The API lets the helpdesk read the state, but the pages exist to set and
// clear passwords, so all of them are the admin role's.
func (c *Console) registerActivationPasswords(write chain) {
	write.GET("/admin/users/:id/activation-password", c.showActivationPassword)
	write.POST("/admin/users/:id/activation-password", c.setActivationPassword)
	write.GET("/admin/users/:id/activation-password/clear", c.confirmClearActivationPassword)
	write.POST("/admin/users/:id/activation-password/clear", c.clearActivationPassword)
}

func activationPasswordPath(u *portal.User) string {
	return "/admin/users/" + url.PathEscape(u.ID) + "/activation-password"
}

func activationPasswordAPIPath(u *portal.User) string {
	return "/users/" + url.PathEscape(u.ID) + "/activation-password"
}

// activationState is the API's ActivationPassword: what the portal keeps of
// a password, never the password itself.
type activationState struct {
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Failures   int        `json:"failures"`
	DeadAt     *time.Time `json:"dead_at"`
	DeadReason string     `json:"dead_reason"`
	State      string     `json:"state"`
}

// MaxFailures is how many failed attempts lock a password, for the page to say.
func (activationState) MaxFailures() int { return portal.MaxActivationFailures }

// Label names the state in words: the API's "too_many_attempts" is a
// password that is locked.
func (s activationState) Label() string {
	switch s.State {
	case portal.ActivationActive:
		return "Active"
	case portal.ActivationExpired:
		return "Expired"
	case portal.ActivationUsed:
		return "Used"
	case portal.ActivationTooManyAttempts:
		return "Locked"
	}
	return statusLabel(s.State)
}

// activationPasswordState asks the API; nil means the user has none.
func (c *Console) activationPasswordState(ec echo.Context, u *portal.User) (*activationState, error) {
	var s activationState
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: activationPasswordAPIPath(u), Out: &s})
	if portal.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// activationRules are the limits the API publishes in its OpenAPI document
// for a new activation password, read from there so the form's hints say
// what the API will apply.
type activationRules struct {
	MinLength     int
	DefaultExpiry string
}

func (c *Console) activationRules(ec echo.Context) activationRules {
	var doc struct {
		Components struct {
			Schemas struct {
				Set struct {
					Properties struct {
						Password struct {
							MinLength int `json:"minLength"`
						} `json:"password"`
						ExpiresIn struct {
							Default string `json:"default"`
						} `json:"expires_in"`
					} `json:"properties"`
				} `json:"ActivationPasswordSet"`
			} `json:"schemas"`
		} `json:"components"`
	}
	_, raw, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/openapi.json"})
	if err == nil {
		err = json.Unmarshal(raw, &doc)
	}
	if err != nil {
		// The hints then leave out the numbers; the API still applies them.
		c.log.WarnContext(ec.Request().Context(), "read the API's activation password rules", "err", err)
		return activationRules{}
	}
	p := doc.Components.Schemas.Set.Properties
	return activationRules{MinLength: p.Password.MinLength, DefaultExpiry: p.ExpiresIn.Default}
}

// expiryChoice is one option of how long a new password works.
type expiryChoice struct {
	Value, Label string
	Selected     bool
}

// expiryChoices are the usual windows; "" leaves the choice to the API's default.
var expiryChoices = []expiryChoice{
	{Value: "1h", Label: "1 hour"},
	{Value: "8h", Label: "8 hours"},
	{Value: "24h", Label: "1 day"},
	{Value: "72h", Label: "3 days"},
	{Value: "168h", Label: "7 days"},
	{Value: "336h", Label: "14 days"},
	{Value: "720h", Label: "30 days"},
}

func expiryOptions(rules activationRules, selected string) []expiryChoice {
	def := "The portal’s default"
	if rules.DefaultExpiry != "" {
		def += " (" + rules.DefaultExpiry + ")"
	}
	out := []expiryChoice{{Value: "", Label: def, Selected: selected == ""}}
	for _, e := range expiryChoices {
		e.Selected = e.Value == selected
		out = append(out, e)
	}
	return out
}

// activationForm is what was sent to set a password: an empty password
// asks the portal to generate one.
type activationForm struct {
	Password  string
	ExpiresIn string
}

func readActivationForm(ec echo.Context) activationForm {
	f := ec.Request().PostForm
	return activationForm{Password: f.Get("password"), ExpiresIn: f.Get("expires_in")}
}

// request is the API's ActivationPasswordSet, with only what was given.
func (f activationForm) request() map[string]string {
	req := map[string]string{}
	if f.Password != "" {
		req["password"] = f.Password
	}
	if f.ExpiresIn != "" {
		req["expires_in"] = f.ExpiresIn
	}
	return req
}

type activationPasswordPage struct {
	User         *portal.User
	Action       string
	Clear        string
	State        *activationState
	Password     field
	Expiry       []expiryChoice
	ExpiryError  string
	Problems     []problem
	RetypeSecret bool // a password was typed but is never sent back
}

// activationPasswordPage answers the user's password state and the form to
// set a new one. A typed password is never put back into the form.
func (c *Console) activationPasswordPage(ec echo.Context, status int, u *portal.User, f activationForm, errs formErrors) error {
	state, err := c.activationPasswordState(ec, u)
	if err != nil {
		return err
	}
	rules := c.activationRules(ec)
	hint := "Leave empty and the portal generates one that is easy to read aloud, such as k7m2-9xqp-4hrw."
	if rules.MinLength > 0 {
		hint += " One you type needs at least " + plural(rules.MinLength, "character") + "."
	}
	fields, problems := withErrors([]field{
		{Name: "password", Label: "Password", Type: "password", Autocomplete: "new-password", Hint: hint},
		{Name: "expires_in", Label: "Works for"},
	}, formLevel(errs, "password", "expires_in"))
	p := activationPasswordPage{User: u, Action: activationPasswordPath(u), Clear: activationPasswordPath(u) + "/clear",
		State: state, Password: fields[0], ExpiryError: fields[1].Error, Problems: problems,
		Expiry: expiryOptions(rules, f.ExpiresIn), RetypeSecret: f.Password != "" && !errs.empty()}
	return c.page(ec, status, "activation_password", "Activation password for "+u.Username, "users", p)
}

func (c *Console) showActivationPassword(ec echo.Context) error {
	u, err := c.store.User(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	return c.activationPasswordPage(ec, http.StatusOK, u, activationForm{}, formErrors{})
}

// activationPasswordCreated is the API's ActivationPasswordCreated, the
// one answer that carries the password.
type activationPasswordCreated struct {
	Password  string    `json:"password"`
	ExpiresAt time.Time `json:"expires_at"`
}

type activationPasswordCreatedPage struct {
	activationPasswordCreated
	User *portal.User
	Back string
}

// setActivationPassword has the API set the password and shows it on this
// response alone: the portal keeps only what is derived from it, so it is
// never put in a redirect, a cookie or a URL, and the page is not cached.
func (c *Console) setActivationPassword(ec echo.Context) error {
	u, err := c.store.User(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	f := readActivationForm(ec)
	var created activationPasswordCreated
	_, _, err = c.callAPI(ec, apiCall{Method: http.MethodPost, Path: activationPasswordAPIPath(u), JSON: f.request(), Out: &created})
	if portal.CodeOf(err) == portal.CodeInvalid {
		var errs formErrors
		errs.add(err)
		return c.activationPasswordPage(ec, http.StatusUnprocessableEntity, u, f, errs)
	}
	if err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "activation_password_created", "Activation password for "+u.Username, "users",
		activationPasswordCreatedPage{activationPasswordCreated: created, User: u, Back: activationPasswordPath(u)})
}

type clearActivationPage struct {
	User   *portal.User
	Action string
	Cancel string
}

func (c *Console) confirmClearActivationPassword(ec echo.Context) error {
	u, err := c.store.User(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "activation_password_clear", "Clear the activation password of "+u.Username, "users",
		clearActivationPage{User: u, Action: activationPasswordPath(u) + "/clear", Cancel: activationPasswordPath(u)})
}

// clearActivationPassword has the API remove the password; one already gone
// is what was asked for, so it is not an error.
func (c *Console) clearActivationPassword(ec echo.Context) error {
	u, err := c.store.User(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	_, _, err = c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: activationPasswordAPIPath(u)})
	switch {
	case portal.IsNotFound(err):
		c.setFlash(ec, u.Username+" has no activation password.")
	case err != nil:
		return err
	default:
		c.setFlash(ec, "The activation password of "+u.Username+" was cleared; no device can activate with it.")
	}
	return ec.Redirect(http.StatusSeeOther, activationPasswordPath(u))
}
