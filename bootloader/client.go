package bootloader

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"provportal/packages"
)

// Device API routes, under the portal's URL (see packages/device.go).
const (
	routeLogon    = "/device/v1/logon"
	routeKey      = "/device/v1/key"
	routeManifest = "/device/v1/manifest"
	routeStatus   = "/device/v1/status"
)

const (
	callTimeout     = 60 * time.Second // one API call (not a download)
	maxManifestSize = 8 << 20
	maxErrorBody    = 64 << 10
)

// ServerError is a refusal from the portal: {"error":{"code","message"}}.
type ServerError struct {
	Status  int    // HTTP status
	Code    string // the portal's stable code; empty when the body had none
	Message string
}

func (e *ServerError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// transient says whether asking again later may succeed.
func (e *ServerError) transient() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// ErrBadCredentials is the portal refusing the username or password.
var ErrBadCredentials = errors.New("logon refused: username or password is incorrect")

// portalClient speaks the device API.
type portalClient struct {
	base  *url.URL
	http  *http.Client
	token string // the device token, once logged on
}

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = callTimeout
	t.TLSHandshakeTimeout = 15 * time.Second
	// No overall Timeout: downloads may take long; a stalled one is cut by
	// the download's own watchdog.
	return &http.Client{Transport: t}
}

func (p *portalClient) url(route string) string {
	u := *p.base
	u.Path = strings.TrimRight(u.Path, "/") + route
	return u.String()
}

// resolve turns an app's URL from the manifest into an absolute one.
func (p *portalClient) resolve(ref string) (*url.URL, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return nil, err
	}
	base := *p.base
	base.Path = strings.TrimRight(base.Path, "/") + "/"
	u := base.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http(s)", u.Scheme)
	}
	return u, nil
}

// sameOrigin says whether the device token may be sent to u.
func (p *portalClient) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, p.base.Scheme) && strings.EqualFold(u.Host, p.base.Host)
}

// call sends in as JSON (if not nil) and decodes a 2xx answer into out (if not nil).
func (p *portalClient) call(ctx context.Context, method, route string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.url(route), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	p.authorize(req)
	resp, err := p.http.Do(req)
	if err != nil {
		return unreachable(p.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return readServerError(resp)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxManifestSize)).Decode(out); err != nil {
		return fmt.Errorf("the portal's answer to %s %s is not what this bootloader understands: %w", method, route, err)
	}
	return nil
}

func (p *portalClient) authorize(req *http.Request) {
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
}

// unreachable words a transport error for a person.
func unreachable(base *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var re *relayError
	if errors.Is(err, context.Canceled) || errors.As(err, &re) {
		return err // a relay's message names what failed already
	}
	return fmt.Errorf("cannot reach the portal at %s: %w", base.Redacted(), err)
}

func readServerError(resp *http.Response) *ServerError {
	e := &ServerError{Status: resp.StatusCode}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if json.Unmarshal(b, &body) == nil {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	}
	return e
}

// logon exchanges the user's password for a device token.
func (p *portalClient) logon(ctx context.Context, req packages.LogonRequest) (*packages.LogonResponse, error) {
	var resp packages.LogonResponse
	err := p.call(ctx, http.MethodPost, routeLogon, req, &resp)
	var se *ServerError
	switch {
	case errors.As(err, &se) && badCredentials(se):
		return nil, ErrBadCredentials
	case se != nil:
		return nil, fmt.Errorf("logon refused: %w", se)
	case err != nil:
		return nil, err
	case resp.Token == "" || resp.DeviceID == "":
		return nil, errors.New("logon: the portal answered without a device token or device ID")
	}
	p.token = resp.Token
	return &resp, nil
}

func badCredentials(e *ServerError) bool {
	if e.Code == "bad_credentials" {
		return true
	}
	return e.Status == http.StatusUnauthorized && (e.Code == "" || e.Code == "unauthenticated")
}

// key fetches the portal's signing key for trust on first use, checking that
// the fingerprint it states is the key's.
func (p *portalClient) key(ctx context.Context) (string, error) {
	var k packages.KeyResponse
	if err := p.call(ctx, http.MethodGet, routeKey, nil, &k); err != nil {
		var re *relayError
		if errors.As(err, &re) {
			return "", err // it says which relay or alias failed
		}
		return "", fmt.Errorf("fetch the portal's key: %w", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.PublicKey, "="))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return "", errors.New("fetch the portal's key: the portal sent a malformed key")
	}
	fp := packages.Fingerprint(ed25519.PublicKey(raw))
	if k.Fingerprint != "" && !strings.EqualFold(k.Fingerprint, fp) {
		return "", fmt.Errorf("fetch the portal's key: the portal says its fingerprint is %s but its key's is %s", k.Fingerprint, fp)
	}
	return fp, nil
}

// manifest fetches the signed manifest; nothing in it is used before it is verified.
func (p *portalClient) manifest(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url(routeManifest), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/jose")
	p.authorize(req)
	resp, err := p.http.Do(req)
	if err != nil {
		return "", unreachable(p.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", readServerError(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return "", unreachable(p.base, err)
	}
	if len(b) > maxManifestSize {
		return "", errors.New("the manifest is larger than 8 MiB")
	}
	return strings.TrimSpace(string(b)), nil
}

// report tells the portal how far the device is, retrying a few times when
// the portal is busy or out of reach.
func (p *portalClient) report(ctx context.Context, r packages.StatusReport, attempts int) error {
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if werr := sleep(ctx, backoff(i)); werr != nil {
				return werr
			}
		}
		err = p.call(ctx, http.MethodPost, routeStatus, r, nil)
		var se *ServerError
		if err == nil || (errors.As(err, &se) && !se.transient()) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// isTransient says whether a failed request is worth sending again: the
// portal busy or failing (5xx, 429), the network (resets, timeouts, a cut
// body), a stalled download. The caller checks its own context first.
func isTransient(err error) bool {
	var se *ServerError
	if errors.As(err, &se) {
		return se.transient()
	}
	if errors.Is(err, errStalled) {
		return true
	}
	var re *relayError
	if errors.As(err, &re) {
		return re.transient
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

const (
	retryBase = 200 * time.Millisecond
	retryMax  = 5 * time.Second
)

// backoff is the wait before the attempt'th retry: doubling, capped.
func backoff(attempt int) time.Duration {
	d := retryBase << (attempt - 1)
	if d > retryMax || d <= 0 {
		d = retryMax
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
