package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// layoutFile holds the shared layout and partials; every other file in
// templates/ is a page that defines "content".
const layoutFile = "templates/layout.html"

// renderer holds one parsed template set per page, each its own copy of the
// layout, so every page can define "content".
type renderer struct {
	pages map[string]*template.Template
}

func newRenderer(fsys fs.FS, as assets) (*renderer, error) {
	funcs := template.FuncMap{
		"static":      as.url,
		"statusLabel": statusLabel,
		"add":         func(a, b int) int { return a + b },
		"ago":         ago,
		"bytes":       humanBytes,
		"when":        when,
		"statusForm":  newStatusForm,
	}
	base, err := template.New(path.Base(layoutFile)).Funcs(funcs).ParseFS(fsys, layoutFile)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if base.Lookup("layout") == nil {
		return nil, fmt.Errorf("templates: %s does not define \"layout\"", layoutFile)
	}
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	r := &renderer{pages: map[string]*template.Template{}}
	for _, file := range names {
		if file == layoutFile {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("templates: %s does not define \"content\"", file)
		}
		r.pages[strings.TrimSuffix(path.Base(file), ".html")] = t
	}
	return r, nil
}

// render runs a page into memory first, so a failure answers a clean error
// instead of half a page.
func (r *renderer) render(name string, v *view) ([]byte, error) {
	t, ok := r.pages[name]
	if !ok {
		return nil, fmt.Errorf("no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// view is what the layout needs, and the page's own data in Page.
type view struct {
	Title    string
	Section  string        // the navigation entry to mark as current
	Admin    *portal.Admin // nil when nobody is signed on
	CSRF     string
	CanWrite bool // the admin role: create, edit and delete buttons
	Flash    string
	Page     any
}

// page answers a page for the signed-on administrator.
func (c *Console) page(ec echo.Context, status int, name, title, section string, data any) error {
	v := &view{Title: title, Section: section, Page: data}
	if s := sessionFrom(ec); s != nil {
		v.Admin, v.CSRF, v.CanWrite = s.Admin, s.CSRF, s.Admin.Role == portal.RoleAdmin
		v.Flash = takeFlash(ec)
	}
	return c.write(ec, status, name, v)
}

func (c *Console) write(ec echo.Context, status int, name string, v *view) error {
	body, err := c.pages.render(name, v)
	if err != nil {
		return err
	}
	return ec.HTMLBlob(status, body)
}

// errorPage explains a refusal or a failure in words.
type errorPage struct {
	Heading string
	Message string
	Back    string // where to go next
	BackTo  string
}

// pageHeaders keeps console pages out of caches and frames, allows only the
// console's own scripts (progressive enhancement: every page works without
// them), and answers errors as pages rather than JSON.
func (c *Console) pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		h := ec.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		err := next(ec)
		if err == nil || ec.Response().Committed {
			return err
		}
		return c.errorResponse(ec, err)
	}
}

func (c *Console) errorResponse(ec echo.Context, err error) error {
	var pe *portal.Error
	var he *echo.HTTPError
	p := errorPage{Back: "Back to the dashboard", BackTo: "/admin"}
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &pe) && pe.Code != portal.CodeInternal:
		status = pe.Code.Status()
		p.Heading, p.Message = headingFor(pe.Code), sentence(pe.Msg)
	case errors.As(err, &he) && he.Code < 500:
		status = he.Code
		p.Heading, p.Message = http.StatusText(he.Code), "The request could not be handled. Go back and try again."
	default:
		c.log.ErrorContext(ec.Request().Context(), "console request failed",
			"method", ec.Request().Method, "route", ec.Path(), "err", err)
		p.Heading = "Something went wrong"
		p.Message = "The portal could not finish this. Nothing you did caused it; try again in a moment, and if it persists tell whoever runs the portal (the details are in its log)."
	}
	if sessionFrom(ec) == nil {
		p.Back, p.BackTo = "Go to the sign-in page", "/admin/login"
	}
	return c.page(ec, status, "error", p.Heading, "", p)
}

func headingFor(code portal.Code) string {
	switch code {
	case portal.CodeForbidden:
		return "Not allowed"
	case portal.CodeNotFound:
		return "Not found"
	case portal.CodeInvalid, portal.CodeMalformed:
		return "That could not be used"
	case portal.CodeConflict:
		return "Already exists"
	case portal.CodeTooLarge:
		return "Too large"
	case portal.CodeUnavailable:
		return "Unavailable"
	}
	return "Refused"
}

// sentence turns an API message into a sentence for people: a capital
// first letter and a full stop.
func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.ContainsAny(msg[len(msg)-1:], ".!?") {
		msg += "."
	}
	return msg
}

// fieldMessage is the API's message for a field, without the field's name
// in front: the form shows it beside the field.
func fieldMessage(pe *portal.Error) string {
	return sentence(strings.TrimPrefix(pe.Msg, pe.Field+": "))
}

// staticPrefix is where static files are served; each URL carries the
// file's content hash, so it can be cached forever.
const staticPrefix = "/admin/static/"

type asset struct {
	hash  string
	ctype string
	body  []byte
}

// assets are the static files by name.
type assets map[string]asset

func loadAssets(fsys fs.FS) (assets, error) {
	as := assets{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		as[strings.TrimPrefix(p, "static/")] = asset{hash: hex.EncodeToString(sum[:8]), ctype: ctype, body: body}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	return as, nil
}

// url is the template function "static": the hashed URL of a static file.
func (as assets) url(name string) (string, error) {
	a, ok := as[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return staticPrefix + a.hash + "/" + name, nil
}

func (c *Console) serveAsset(ec echo.Context) error {
	a, ok := c.assets[ec.Param("name")]
	if !ok || a.hash != ec.Param("hash") {
		// An old hash is a file this binary no longer has: a stale page
		// reloads and asks for the new one.
		return portal.Errorf(portal.CodeNotFound, "no such static file")
	}
	h := ec.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.hash+`"`)
	if ec.Request().Header.Get("If-None-Match") == `"`+a.hash+`"` {
		return ec.NoContent(http.StatusNotModified)
	}
	return ec.Blob(http.StatusOK, a.ctype, a.body)
}
