package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// loginFormTTL is how long a sign-in form may stay open before it is sent.
const loginFormTTL = 2 * time.Hour

type loginPage struct {
	Username string
	Message  string // why the form is shown again, or what happened before
	Alert    bool   // Message is an error, not news
	CSRF     string
}

// getLogin shows the sign-in form, or goes straight to the dashboard for a
// browser that is already signed on.
func (c *Console) getLogin(ec echo.Context) error {
	if ck, err := ec.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if claims, err := c.tokens.Parse(ck.Value); err == nil {
			if _, err := c.store.Admin(ec.Request().Context(), claims.Subject); err == nil {
				return ec.Redirect(http.StatusSeeOther, "/admin")
			}
		}
	}
	p := loginPage{}
	switch {
	case ec.QueryParam("ended") != "":
		p.Message = "Your session has ended. Sign in again to go on."
	case ec.QueryParam("signed_out") != "":
		p.Message = "You have signed out."
	}
	return c.loginForm(ec, http.StatusOK, p)
}

// loginForm answers the sign-in form with a fresh CSRF cookie and token.
func (c *Console) loginForm(ec echo.Context, status int, p loginPage) error {
	nonce := newNonce()
	c.setCookie(ec, loginCookie, nonce, "/admin/login", time.Now().Add(loginFormTTL))
	p.CSRF = c.csrfToken("login", nonce)
	return c.write(ec, status, "login", &view{Title: "Sign in", Page: p})
}

// postLogin signs on through the API's own logon (argon2id, throttled per
// account and per address) and keeps the token in the session cookie.
func (c *Console) postLogin(ec echo.Context) error {
	if err := parseForm(ec); err != nil {
		return err
	}
	form := ec.Request().PostForm
	username, password := strings.TrimSpace(form.Get("username")), form.Get("password")
	p := loginPage{Username: username, Alert: true}

	ck, err := ec.Cookie(loginCookie)
	if err != nil || !validToken(form.Get(csrfField), c.csrfToken("login", ck.Value)) {
		p.Message = "This sign-in form had expired, so it was not sent. It has been reloaded: sign in again."
		return c.loginForm(ec, http.StatusForbidden, p)
	}
	if username == "" || password == "" {
		// The API's own words for the same refusal.
		p.Message = "Username and password are both required."
		return c.loginForm(ec, http.StatusUnprocessableEntity, p)
	}
	s, err := c.login.Admin(ec.Request().Context(), username, password, ec.RealIP())
	if err != nil {
		pe, ok := err.(*portal.Error)
		if !ok || (pe.Code != portal.CodeBadCredentials && pe.Code != portal.CodeTooManyAttempts) {
			return err
		}
		if pe.RetryAfter > 0 {
			ec.Response().Header().Set("Retry-After", strconv.Itoa(int(pe.RetryAfter.Seconds())))
		}
		p.Message = sentence(pe.Msg)
		return c.loginForm(ec, pe.Code.Status(), p)
	}
	c.clearCookie(ec, loginCookie, "/admin/login")
	c.setCookie(ec, sessionCookie, s.Token, "/admin", s.ExpiresAt)
	return ec.Redirect(http.StatusSeeOther, "/admin")
}

// postLogout forgets the session in this browser. Tokens are stateless, so
// the token itself lives on until it expires; it was never readable by a
// script (HttpOnly) and never sent outside /admin.
func (c *Console) postLogout(ec echo.Context) error {
	c.clearCookie(ec, sessionCookie, "/admin")
	return ec.Redirect(http.StatusSeeOther, "/admin/login?signed_out=1")
}
