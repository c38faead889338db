package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"provportal/portal"
)

// Client calls the admin API of one portal.
type Client struct {
	// Server is the portal's URL, e.g. https://portal.example.com; the API is under /api/v1.
	Server string
	// Token is an administrator's bearer token, from Login.
	Token string
	// HTTP sends the requests; nil: http.DefaultClient.
	HTTP *http.Client
	// UserAgent names the caller in the portal's logs.
	UserAgent string
}

// Error is the API refusing a request: {"error":{"code","message","field"}}.
type Error struct {
	Status  int
	Code    portal.Code
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("the portal answered HTTP %d %s", e.Status, http.StatusText(e.Status))
}

const maxAnswer = 64 << 20

func (c *Client) url(path string) (string, error) {
	u, err := url.Parse(strings.TrimRight(c.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("the server %q is not an http:// or https:// URL", c.Server)
	}
	return strings.TrimRight(c.Server, "/") + "/api/v1" + path, nil
}

// do sends a request and returns the answer when it is a success; the
// caller closes its body.
func (c *Client) do(ctx context.Context, method, path, ctype string, body io.Reader) (*http.Response, error) {
	u, err := c.url(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the portal at %s: %w", c.Server, err)
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		return nil, readError(res)
	}
	return res, nil
}

func readError(res *http.Response) error {
	e := &Error{Status: res.StatusCode}
	var body struct {
		Error struct {
			Code    portal.Code `json:"code"`
			Message string      `json:"message"`
			Field   string      `json:"field"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if json.Unmarshal(b, &body) == nil {
		e.Code, e.Message, e.Field = body.Error.Code, body.Error.Message, body.Error.Field
	}
	return e
}

// call sends in as JSON (when not nil) and decodes the answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	res, err := c.do(ctx, method, path, ctype, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(out); err != nil {
		return fmt.Errorf("the portal's answer to %s %s is not what this client understands: %w", method, path, err)
	}
	return nil
}

// Session is a logged-on administrator's token.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Login exchanges an administrator's password for a token.
func (c *Client) Login(ctx context.Context, username, password string) (*Session, error) {
	var s Session
	if err := c.call(ctx, http.MethodPost, "/auth/login", map[string]string{"username": username, "password": password}, &s); err != nil {
		return nil, err
	}
	if s.Token == "" {
		return nil, errors.New("the portal answered the logon without a token")
	}
	return &s, nil
}

// LegacyClient is the client a migration package replaces.
type LegacyClient struct {
	Paths     []string `json:"paths,omitempty"`
	Service   string   `json:"service,omitempty"`
	Uninstall string   `json:"uninstall,omitempty"`
}

// MigrationPackageRequest says what package to build: an alias, or a host and port.
type MigrationPackageRequest struct {
	Platform  string        `json:"platform"`
	Alias     string        `json:"alias,omitempty"`
	Host      string        `json:"host,omitempty"`
	Port      int           `json:"port,omitempty"`
	Legacy    *LegacyClient `json:"legacy,omitempty"`
	ExpiresIn string        `json:"expires_in,omitempty"`
}

// MigrationPackageFile describes a package written by MigrationPackage.
type MigrationPackageFile struct {
	ID          string
	Filename    string // as the portal names it
	ContentType string
	Size        int64
}

// MigrationPackage builds a migration package and writes its file to w.
func (c *Client) MigrationPackage(ctx context.Context, req MigrationPackageRequest, w io.Writer) (*MigrationPackageFile, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, http.MethodPost, "/migration-packages", "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	f := &MigrationPackageFile{ID: res.Header.Get("X-Migration-Package-Id"), ContentType: res.Header.Get("Content-Type")}
	if _, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition")); err == nil {
		f.Filename = params["filename"]
	}
	if f.Size, err = io.Copy(w, res.Body); err != nil {
		return nil, fmt.Errorf("download the package: %w", err)
	}
	if res.ContentLength >= 0 && f.Size != res.ContentLength {
		return nil, fmt.Errorf("download the package: got %d of %d bytes", f.Size, res.ContentLength)
	}
	return f, nil
}

// ImportReport is what a user import did, row by row.
type ImportReport struct {
	Created int         `json:"created"`
	Updated int         `json:"updated"`
	Refused int         `json:"refused"`
	Rows    []ImportRow `json:"rows"`
}

// ImportRow is the outcome of one row; Field and Message say why it was refused.
type ImportRow struct {
	Row      int    `json:"row"`
	Username string `json:"username"`
	Result   string `json:"result"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

// ImportUsers creates or updates users from a CSV file; a dry run changes nothing.
func (c *Client) ImportUsers(ctx context.Context, csv io.Reader, dryRun bool) (*ImportReport, error) {
	res, err := c.do(ctx, http.MethodPost, "/users/import?dry_run="+strconv.FormatBool(dryRun), "text/csv", csv)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var r ImportReport
	if err := json.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(&r); err != nil {
		return nil, fmt.Errorf("the portal's import report is not what this client understands: %w", err)
	}
	return &r, nil
}

// SendRequest names who gets a provisioning message: users, or a group.
type SendRequest struct {
	UserIDs []string `json:"user_ids,omitempty"`
	GroupID string   `json:"group_id,omitempty"`
}

// SendResult lists the messages queued and the users skipped, with why.
type SendResult struct {
	Queued []struct {
		UserID    string `json:"user_id"`
		MessageID string `json:"message_id"`
		To        string `json:"to"`
	} `json:"queued"`
	Skipped []struct {
		UserID string `json:"user_id"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

// SendSMS queues a personalised provisioning message to each user.
func (c *Client) SendSMS(ctx context.Context, req SendRequest) (*SendResult, error) {
	var r SendResult
	if err := c.call(ctx, http.MethodPost, "/provisioning/sms", req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// all pages through a list endpoint.
func all[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var out []T
	for {
		q.Set("limit", "500")
		q.Set("offset", strconv.Itoa(len(out)))
		var page portal.Page[T]
		if err := c.call(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) == 0 || len(out) >= page.Total {
			return out, nil
		}
	}
}

// Devices lists every device, only those in status when it is not empty.
func (c *Client) Devices(ctx context.Context, status string) ([]portal.Device, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	return all[portal.Device](ctx, c, "/devices", q)
}

// Users lists every user whose username contains name (all when empty).
func (c *Client) Users(ctx context.Context, name string) ([]portal.User, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	return all[portal.User](ctx, c, "/users", q)
}

// User finds a user by username, in any case.
func (c *Client) User(ctx context.Context, username string) (*portal.User, error) {
	users, err := c.Users(ctx, username)
	if err != nil {
		return nil, err
	}
	for i := range users {
		if strings.EqualFold(users[i].Username, username) {
			return &users[i], nil
		}
	}
	return nil, &Error{Status: http.StatusNotFound, Code: portal.CodeNotFound, Message: fmt.Sprintf("no user is named %q", username)}
}

// Group finds a group by name, in any case.
func (c *Client) Group(ctx context.Context, name string) (*portal.Group, error) {
	groups, err := all[portal.Group](ctx, c, "/groups", url.Values{"name": {name}})
	if err != nil {
		return nil, err
	}
	for i := range groups {
		if strings.EqualFold(groups[i].Name, name) {
			return &groups[i], nil
		}
	}
	return nil, &Error{Status: http.StatusNotFound, Code: portal.CodeNotFound, Message: fmt.Sprintf("no group is named %q", name)}
}
