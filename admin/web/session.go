package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
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
// before anything reads or changes the store. A multipart body is not
// parsed here, so a file is never held whole: only a route registered with
// postStreamed takes one, and its token comes in X-CSRF-Token or as the
// form's first part. Every other route refuses multipart, so no form slips
// past the check by changing its encoding.
func (c *Console) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		if ec.Request().Method != http.MethodPost {
			return next(ec)
		}
		if isMultipart(ec.Request()) {
			return c.checkStreamedCSRF(ec, next)
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

// Forms that carry a file are read part by part, so the file goes on to the
// admin API as it arrives instead of being held in memory or on disk.
const (
	// csrfHeader carries the token when the upload script sends a form.
	csrfHeader = "X-CSRF-Token"
	// takesFilesKey marks a request to a route registered with postStreamed.
	takesFilesKey = "admin.web.takes_files"
	// csrfCheckedKey marks a multipart request whose header token checkCSRF accepted.
	csrfCheckedKey = "admin.web.csrf_checked"
	// maxStreamedFields bounds the small fields a form may send before its
	// file, and maxStreamedValue each of their values.
	maxStreamedFields = 16
	maxStreamedValue  = 1 << 10
	// maxDiscard is how much of a refused upload is read and thrown away so
	// the browser, still sending, receives the answer rather than a reset
	// connection; past it the connection is closed.
	maxDiscard = 64 << 20
)

var errFilesNotTaken = &portal.Error{Code: portal.CodeUnsupportedMedia,
	Msg: "this form does not take files, so nothing was changed; go back, reload the page and try again"}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// checkStreamedCSRF lets a multipart body through only to a route that
// reads it itself. A token in X-CSRF-Token is checked here; without one,
// postStreamed checks the form's first part before its handler runs.
func (c *Console) checkStreamedCSRF(ec echo.Context, next echo.HandlerFunc) error {
	if ec.Get(takesFilesKey) != true {
		return errFilesNotTaken
	}
	if tok := ec.Request().Header.Get(csrfHeader); tok != "" {
		if !validToken(tok, sessionFrom(ec).CSRF) {
			return errCSRF
		}
		ec.Set(csrfCheckedKey, true)
	}
	return next(ec)
}

// streamedHandler answers a form that may carry a file; it is only called
// once the form's CSRF token has been checked.
type streamedHandler func(ec echo.Context, f *streamedForm) error

// postStreamed registers a POST route whose form carries a file. Taking
// multipart and checking the token are one registration, so no route can
// take a file without the check.
func (c *Console) postStreamed(ch chain, path string, h streamedHandler) {
	mw := append([]echo.MiddlewareFunc{takesFiles}, ch.mw...)
	ch.e.POST(path, func(ec echo.Context) error {
		f, err := c.openStreamedForm(ec)
		if err != nil {
			return err
		}
		return h(ec, f)
	}, mw...)
}

// takesFiles runs before checkCSRF, to tell it this route reads its own
// multipart body.
func takesFiles(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		ec.Set(takesFilesKey, true)
		return next(ec)
	}
}

// streamedForm is a form read in document order: the small fields before
// the file, then the file itself, unread.
type streamedForm struct {
	parts  *multipart.Reader // nil for a URL-encoded form, which has no file
	values url.Values        // the fields read so far
}

// openStreamedForm checks the token of a multipart form that did not send
// it in X-CSRF-Token: its first part must be the token, which is why every
// such form puts its hidden csrf_token input first. A URL-encoded form has
// already been checked by checkCSRF.
func (c *Console) openStreamedForm(ec echo.Context) (*streamedForm, error) {
	r := ec.Request()
	s := sessionFrom(ec)
	if s == nil {
		return nil, errCSRF
	}
	if !isMultipart(r) {
		return &streamedForm{values: r.PostForm}, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &portal.Error{Code: portal.CodeMalformed, Msg: "the form could not be read", Err: err}
	}
	f := &streamedForm{parts: mr, values: url.Values{}}
	if ec.Get(csrfCheckedKey) == true {
		return f, nil
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != csrfField {
		return nil, errCSRF
	}
	tok, err := readStreamedValue(p)
	if err != nil || !validToken(tok, s.CSRF) {
		return nil, errCSRF
	}
	return f, nil
}

// file reads the fields up to the file input called name and answers its
// part, unread; fields after it are never read. It answers nil when the
// form has no such part.
func (f *streamedForm) file(name string) (*multipart.Part, error) {
	if f.parts == nil {
		return nil, nil
	}
	for n := 0; ; n++ {
		p, err := f.parts.NextPart()
		switch {
		case errors.Is(err, io.EOF):
			return nil, nil
		case err != nil:
			return nil, &portal.Error{Code: portal.CodeMalformed, Msg: "the form could not be read", Err: err}
		case p.FormName() == name:
			return p, nil
		case n == maxStreamedFields:
			return nil, portal.Errorf(portal.CodeMalformed, "the form has more than %d fields", maxStreamedFields)
		}
		v, err := readStreamedValue(p)
		if err != nil {
			return nil, err
		}
		f.values.Add(p.FormName(), v)
	}
}

func readStreamedValue(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxStreamedValue+1))
	switch {
	case err != nil:
		return "", &portal.Error{Code: portal.CodeMalformed, Msg: "the form could not be read", Err: err}
	case len(b) > maxStreamedValue:
		return "", portal.Errorf(portal.CodeTooLarge, "the form's %s field is longer than %d bytes", p.FormName(), maxStreamedValue)
	}
	return string(b), nil
}

// discardUpload reads what is left of a refused upload; see maxDiscard.
func discardUpload(ec echo.Context) {
	io.CopyN(io.Discard, ec.Request().Body, maxDiscard)
}
