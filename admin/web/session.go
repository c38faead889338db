package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

const (
	// sessionCookie holds the administrator's signed token, the same token
	// the API takes as a bearer token.
	sessionCookie = "portal_admin_session"
	// loginCookie holds a random value the sign-in form's CSRF token is
	// bound to, since there is no session to bind it to yet.
	loginCookie = "portal_admin_login"
	// flashCookie carries a one-line confirmation across a redirect.
	flashCookie = "portal_admin_flash"
	// csrfField is the hidden input every POST form carries.
	csrfField = "csrf_token"
	// maxFormBody bounds what a console form may send.
	maxFormBody = 64 << 10
)

// session is a signed-on administrator, as the store knows them now.
type session struct {
	Admin *portal.Admin
	Token string
	CSRF  string
}

const sessionKey = "admin.web.session"

func sessionFrom(ec echo.Context) *session {
	s, _ := ec.Get(sessionKey).(*session)
	return s
}

// authenticate checks the session exactly as the API checks a bearer token
// (signature, expiry, administrator still there, role from the store) and
// puts the actor in the request's context for the audit log. Without a
// valid session it sends the browser to the sign-in page.
func (c *Console) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		ck, err := ec.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return ec.Redirect(http.StatusSeeOther, "/admin/login")
		}
		claims, err := c.tokens.Parse(ck.Value)
		if err != nil {
			c.clearCookie(ec, sessionCookie, "/admin")
			return ec.Redirect(http.StatusSeeOther, "/admin/login?ended=1")
		}
		admin, err := c.store.Admin(ec.Request().Context(), claims.Subject)
		if portal.IsNotFound(err) {
			c.clearCookie(ec, sessionCookie, "/admin")
			return ec.Redirect(http.StatusSeeOther, "/admin/login?ended=1")
		}
		if err != nil {
			return err
		}
		actor := portal.Actor{ID: admin.ID, Username: admin.Username, Role: admin.Role, RemoteAddr: ec.RealIP()}
		ec.SetRequest(ec.Request().WithContext(portal.WithActor(ec.Request().Context(), actor)))
		ec.Set(sessionKey, &session{Admin: admin, Token: ck.Value, CSRF: c.csrfToken("session", ck.Value)})
		return next(ec)
	}
}

// csrfToken binds a form to what the browser holds: the session token, or
// the sign-in form's random cookie. Another site can make the browser send
// a form, but cannot read the token to put in it.
func (c *Console) csrfToken(purpose, bound string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(bound))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validToken(got, want string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

var errCSRF = &portal.Error{Code: portal.CodeForbidden,
	Msg: "this form is out of date or did not come from this console, so nothing was changed; go back, reload the page and try again"}

// checkCSRF refuses a POST whose form does not carry the session's token,
// before anything reads or changes the store.
func (c *Console) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		if ec.Request().Method != http.MethodPost {
			return next(ec)
		}
		if err := parseForm(ec); err != nil {
			return err
		}
		if !validToken(ec.Request().PostForm.Get(csrfField), sessionFrom(ec).CSRF) {
			return errCSRF
		}
		return next(ec)
	}
}

// parseForm reads a POST form of bounded size.
func parseForm(ec echo.Context) error {
	r := ec.Request()
	r.Body = http.MaxBytesReader(ec.Response(), r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return portal.Errorf(portal.CodeTooLarge, "the form is larger than %d bytes", maxFormBody)
		}
		return &portal.Error{Code: portal.CodeMalformed, Msg: "the form could not be read", Err: err}
	}
	return nil
}

// requireAdminRole lets only the admin role change things, as the API's
// authorize does; the helpdesk role reads.
func requireAdminRole(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		s := sessionFrom(ec)
		if s.Admin.Role != portal.RoleAdmin {
			return portal.Errorf(portal.CodeForbidden, "the %s role may not do this; ask an administrator", s.Admin.Role)
		}
		return next(ec)
	}
}

// setCookie sets an HttpOnly, SameSite=Strict cookie, Secure when the
// request came over HTTPS (directly, or from a proxy on a private address).
func (c *Console) setCookie(ec echo.Context, name, value, path string, expires time.Time) {
	ck := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: ec.Scheme() == "https"}
	if !expires.IsZero() {
		ck.Expires = expires
		ck.MaxAge = max(int(time.Until(expires).Seconds()), 1)
	}
	ec.SetCookie(ck)
}

func (c *Console) clearCookie(ec echo.Context, name, path string) {
	ec.SetCookie(&http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: ec.Scheme() == "https"})
}

// setFlash keeps a confirmation for the page the browser is redirected to.
func (c *Console) setFlash(ec echo.Context, msg string) {
	c.setCookie(ec, flashCookie, url.QueryEscape(msg), "/admin", time.Now().Add(time.Minute))
}

// takeFlash reads the confirmation and forgets it.
func takeFlash(ec echo.Context) string {
	ck, err := ec.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	ec.SetCookie(&http.Cookie{Name: flashCookie, Value: "", Path: "/admin", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: ec.Scheme() == "https"})
	msg, err := url.QueryUnescape(ck.Value)
	if err != nil || len(msg) > 300 {
		return ""
	}
	return msg
}

// newNonce is a random value for the sign-in form's cookie.
func newNonce() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
