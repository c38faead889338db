package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"
)

const (
	defaultTwilioTimeout = 15 * time.Second
	// findLimit bounds how many messages to one number Find reads, newest
	// first; a provisioning message being reconciled is recent.
	findLimit = 500
	// trialPrefix is what Twilio puts before the body on a trial account.
	trialPrefix = "Sent from your Twilio trial account - "
)

// TwilioSender sends through Twilio's Messages API with twilio-go.
type TwilioSender struct {
	cfg       Config
	target    *url.URL          // Config.APIURL parsed; nil for Twilio itself
	transport http.RoundTripper // shared, so connections are reused
}

var _ Sender = (*TwilioSender)(nil)

// NewTwilioSender checks c and returns a sender for its account.
func NewTwilioSender(c Config) (*TwilioSender, error) {
	if !c.Twilio() {
		return nil, errors.New("sms: TWILIO_ACCOUNT_SID is not set")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	s := &TwilioSender{cfg: c, transport: http.DefaultTransport.(*http.Transport).Clone()}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil {
			return nil, fmt.Errorf("sms: TWILIO_API_URL: %w", err)
		}
		s.target = u
	}
	if s.cfg.Timeout <= 0 {
		s.cfg.Timeout = defaultTwilioTimeout
	}
	return s, nil
}

// Send creates a Twilio Message. From is sent as MessagingServiceSid when it
// names a Messaging Service ("MG...").
func (s *TwilioSender) Send(ctx context.Context, to, body string) (Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	api, call := s.api(ctx)

	p := &twilioapi.CreateMessageParams{}
	p.SetTo(to)
	p.SetBody(body)
	if isMessagingService(s.cfg.From) {
		p.SetMessagingServiceSid(s.cfg.From)
	} else {
		p.SetFrom(s.cfg.From)
	}
	if s.cfg.StatusCallback != "" {
		p.SetStatusCallback(s.cfg.StatusCallback)
	}
	m, err := api.CreateMessage(p)
	if err != nil {
		return Receipt{}, call.sendError(ctx, err)
	}
	if m.Sid == nil || *m.Sid == "" {
		// Accepted or not, we cannot tell: reconcile before trying again.
		return Receipt{}, &SendError{Message: "Twilio answered without a message SID"}
	}
	return Receipt{SID: *m.Sid, Status: deref(m.Status)}, nil
}

// Find lists the messages sent to the number, newest first, and reports the
// latest with this body. A message Twilio marked failed or canceled never
// left Twilio, so it does not count: sending again is no duplicate.
func (s *TwilioSender) Find(ctx context.Context, to, body string) (Receipt, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	api, call := s.api(ctx)

	p := &twilioapi.ListMessageParams{}
	p.SetTo(to)
	p.SetPageSize(100)
	p.SetLimit(findLimit)
	msgs, err := api.ListMessage(p)
	if err != nil {
		return Receipt{}, false, call.sendError(ctx, err)
	}
	for _, m := range msgs {
		status := deref(m.Status)
		switch {
		case m.Sid == nil, !sameBody(deref(m.Body), body):
		case m.Direction != nil && !strings.HasPrefix(*m.Direction, "outbound"):
		case status == "failed" || status == "canceled":
		default:
			return Receipt{SID: *m.Sid, Status: status}, true, nil
		}
	}
	return Receipt{}, false, nil
}

func sameBody(remote, body string) bool {
	return remote == body || strings.TrimPrefix(remote, trialPrefix) == body
}

// isMessagingService tells a Messaging Service SID ("MG" and 32 hex digits)
// from a phone number or an alphanumeric sender ID (at most 11 characters,
// which may well start with "MG").
func isMessagingService(from string) bool {
	return len(from) > 11 && strings.HasPrefix(from, "MG") && alphanumeric(from)
}

// api builds a twilio-go client for one call. Its transport carries the
// call's context (twilio-go sends every request with context.Background),
// aims requests at Config.APIURL, and keeps the HTTP status, Retry-After
// and Twilio error code, which twilio-go's own error may lack.
func (s *TwilioSender) api(ctx context.Context) (*twilioapi.ApiService, *callTransport) {
	t := &callTransport{base: s.transport, target: s.target, ctx: ctx}
	c := &client.Client{
		Credentials: client.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport:     t,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	// With Client set, twilio-go takes the account from it alone; without
	// this the path becomes /Accounts//Messages.json.
	c.SetAccountSid(s.cfg.AccountSID)
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	// twilio-go reads TWILIO_EDGE and TWILIO_REGION from the environment;
	// Config is the only source here.
	rc.SetEdge("")
	rc.SetRegion("")
	return rc.Api, t
}

// answer is what the transport saw of the last HTTP response.
type answer struct {
	status     int
	code       int
	message    string
	retryAfter time.Duration
}

type callTransport struct {
	base   http.RoundTripper
	target *url.URL
	ctx    context.Context

	mu   sync.Mutex
	last answer
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	if t.target != nil {
		r.URL.Scheme = t.target.Scheme
		r.URL.Host = t.target.Host
		r.URL.Path = strings.TrimRight(t.target.Path, "/") + r.URL.Path
		r.URL.RawPath = ""
		r.Host = t.target.Host
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		// twilio-go's error names api.twilio.com; say where it really went.
		t.record(answer{message: fmt.Sprintf("%s %s: %v", r.Method, r.URL.Redacted(), err)})
		return nil, err
	}
	a := answer{status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		a.code, a.message = twilioErrorBody(body)
		if a.message == "" {
			a.message = http.StatusText(resp.StatusCode)
		}
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	t.record(a)
	return resp, nil
}

func (t *callTransport) record(a answer) {
	t.mu.Lock()
	t.last = a
	t.mu.Unlock()
}

// sendError classifies err, twilio-go's error for the call, with what the
// transport saw.
func (t *callTransport) sendError(ctx context.Context, err error) *SendError {
	t.mu.Lock()
	a := t.last
	t.mu.Unlock()

	se := &SendError{HTTPStatus: a.status, Code: a.code, Message: a.message, RetryAfter: a.retryAfter}
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		if se.Code == 0 {
			se.Code = rest.Code
		}
		if se.Message == "" {
			se.Message = rest.Message
		}
		if se.HTTPStatus == 0 && rest.Status >= 400 { // refused before sending, e.g. bad credentials
			se.HTTPStatus = rest.Status
		}
	}
	switch {
	case se.HTTPStatus == 0 || se.HTTPStatus < 400:
		// No answer, or an answer we could not read: the message may have
		// been accepted.
		se.HTTPStatus = 0
		if a.status != 0 || se.Message == "" {
			se.Message = err.Error()
		}
		if ctx.Err() != nil {
			se.Message = "request to Twilio stopped: " + ctx.Err().Error()
		}
	case se.Code == TwilioInvalidTo || se.Code == TwilioUnsubscribed:
		se.Permanent = true
	case se.HTTPStatus == http.StatusTooManyRequests || se.HTTPStatus >= 500:
	default:
		se.Permanent = true
	}
	return se
}

// twilioErrorBody reads Twilio's JSON error: {"code", "message", "status", ...}.
func twilioErrorBody(body []byte) (code int, message string) {
	var e struct {
		Code    json.Number `json:"code"`
		Message string      `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return 0, snippet(body)
	}
	n, _ := strconv.Atoi(e.Code.String())
	return n, e.Message
}

func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	if strings.HasPrefix(s, "<") { // an HTML error page says nothing useful
		return ""
	}
	return s
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date, capped at
// an hour.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
