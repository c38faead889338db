package sms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const testTo = "+14155550132"

func TestTwilioSendFromNumber(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, testFrom)

	r, err := s.Send(context.Background(), testTo, "hello")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(r.SID, "SM") || r.Status != "queued" {
		t.Errorf("receipt = %+v, want an SM sid with status queued", r)
	}
	form := f.lastPost()
	for k, want := range map[string]string{"To": testTo, "From": testFrom, "Body": "hello", "MessagingServiceSid": ""} {
		if got := form.Get(k); got != want {
			t.Errorf("form %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := form["StatusCallback"]; ok {
		t.Errorf("StatusCallback sent although not configured")
	}
}

func TestTwilioSendMessagingService(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, testService)

	r, err := s.Send(context.Background(), testTo, "hello")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Status != "accepted" {
		t.Errorf("status = %q, want accepted", r.Status)
	}
	form := f.lastPost()
	if got := form.Get("MessagingServiceSid"); got != testService {
		t.Errorf("MessagingServiceSid = %q, want %q", got, testService)
	}
	if _, ok := form["From"]; ok {
		t.Errorf("From = %q sent with a messaging service", form.Get("From"))
	}
}

func TestTwilioSendShortMGSenderIDIsFrom(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, "MGroup")
	if _, err := s.Send(context.Background(), testTo, "hello"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := f.lastPost().Get("From"); got != "MGroup" {
		t.Errorf("From = %q, want the alphanumeric sender ID MGroup", got)
	}
}

func TestTwilioSendStatusCallback(t *testing.T) {
	f := newFakeTwilio(t)
	s, err := NewTwilioSender(Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom,
		APIURL: f.url(), StatusCallback: "https://portal.example.com/twilio/status"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), testTo, "hello"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := f.lastPost().Get("StatusCallback"); got != "https://portal.example.com/twilio/status" {
		t.Errorf("StatusCallback = %q", got)
	}
}

func TestTwilioSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*fakeTwilio)
		token     string
		status    int
		code      int
		errorCode string
		permanent bool
		optedOut  bool
		retry     time.Duration
	}{
		{name: "invalid_to", setup: func(f *fakeTwilio) { f.failStatus, f.failCode = 400, TwilioInvalidTo },
			status: 400, code: 21211, errorCode: "21211", permanent: true},
		{name: "unsubscribed", setup: func(f *fakeTwilio) { f.failStatus, f.failCode = 400, TwilioUnsubscribed },
			status: 400, code: 21610, errorCode: "21610", permanent: true, optedOut: true},
		{name: "too_many_requests", setup: func(f *fakeTwilio) { f.fail429, f.retryAfter = 1, "7" },
			status: 429, code: 20429, errorCode: "20429", retry: 7 * time.Second},
		{name: "server_error", setup: func(f *fakeTwilio) { f.failStatus, f.failCode = 500, 20500 },
			status: 500, code: 20500, errorCode: "20500"},
		{name: "bad_gateway_html", setup: func(f *fakeTwilio) { f.failStatus, f.failHTML = 502, true },
			status: 502, errorCode: "http_502"},
		{name: "wrong_auth_token", token: "ffffffffffffffffffffffffffffffff",
			status: 401, code: 20003, errorCode: "20003", permanent: true},
		{name: "connection_dropped", setup: func(f *fakeTwilio) { f.dropAfterCreate = 1 },
			errorCode: CodeNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			token := testAuthToken
			if tt.token != "" {
				token = tt.token
			}
			s, err := NewTwilioSender(Config{AccountSID: testAccountSID, AuthToken: token, From: testFrom, APIURL: f.url()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), testTo, "hello")
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v (%T), want *SendError", err, err)
			}
			if se.HTTPStatus != tt.status || se.Code != tt.code || se.ErrorCode() != tt.errorCode {
				t.Errorf("got status %d code %d (%q), want %d %d (%q)", se.HTTPStatus, se.Code, se.ErrorCode(), tt.status, tt.code, tt.errorCode)
			}
			if se.Permanent != tt.permanent || se.OptedOut() != tt.optedOut {
				t.Errorf("got permanent %v opted out %v, want %v %v", se.Permanent, se.OptedOut(), tt.permanent, tt.optedOut)
			}
			if se.RetryAfter != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", se.RetryAfter, tt.retry)
			}
			if se.Message == "" {
				t.Errorf("SendError has no message: %v", se)
			}
			t.Logf("%v", se)
		})
	}
}

func TestTwilioSendNoServer(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, testFrom)
	f.srv.Close()
	_, err := s.Send(context.Background(), testTo, "hello")
	var se *SendError
	if !errors.As(err, &se) || se.Permanent || se.ErrorCode() != CodeNetwork || se.HTTPStatus != 0 {
		t.Fatalf("Send to a closed server = %#v, want a transient network SendError", err)
	}
}

func TestTwilioSendHonoursContext(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, testFrom)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, testTo, "hello")
	var se *SendError
	if !errors.As(err, &se) || se.Permanent || !strings.Contains(se.Message, "canceled") {
		t.Fatalf("Send with a canceled context = %v, want a transient SendError saying canceled", err)
	}
	if n := f.postCount(); n != 0 {
		t.Errorf("server saw %d POSTs after the context was canceled, want 0", n)
	}
}

func TestTwilioFind(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, testFrom)
	ctx := context.Background()

	sid := f.add(testTo, "your link https://p.example/p/abc", "delivered")
	f.add(testTo, "another message", "sent")
	f.add("+14155550199", "your link https://p.example/p/abc", "sent")
	failed := "your link https://p.example/p/failed"
	f.add(testTo, failed, "failed")
	f.add(testTo, trialPrefix+"trial body", "sent")

	r, found, err := s.Find(ctx, testTo, "your link https://p.example/p/abc")
	if err != nil || !found || r.SID != sid || r.Status != "delivered" {
		t.Errorf("Find = %+v, %v, %v; want %s delivered", r, found, err, sid)
	}
	if _, found, err := s.Find(ctx, testTo, "never sent"); err != nil || found {
		t.Errorf("Find(never sent) = %v, %v; want not found", found, err)
	}
	if _, found, _ := s.Find(ctx, testTo, failed); found {
		t.Errorf("Find found a message Twilio failed; sending again is no duplicate")
	}
	if _, found, _ := s.Find(ctx, testTo, "trial body"); !found {
		t.Errorf("Find missed a body with Twilio's trial-account prefix")
	}
	if n := f.postCount(); n != 0 {
		t.Errorf("Find sent %d messages", n)
	}
}

func TestTwilioFindFollowsPages(t *testing.T) {
	f := newFakeTwilio(t)
	s := f.sender(t, testFrom)
	sid := f.add(testTo, "the oldest", "sent")
	for i := range 230 {
		f.add(testTo, fmt.Sprintf("message %d", i), "sent")
	}
	r, found, err := s.Find(context.Background(), testTo, "the oldest")
	if err != nil || !found || r.SID != sid {
		t.Fatalf("Find = %+v, %v, %v; want %s from the third page", r, found, err, sid)
	}
	if n := f.getCount(); n != 3 {
		t.Errorf("Find made %d GETs, want 3 pages of 100", n)
	}
}

func TestTwilioFindError(t *testing.T) {
	f := newFakeTwilio(t)
	s, err := NewTwilioSender(Config{AccountSID: testAccountSID, AuthToken: "ffffffffffffffffffffffffffffffff", From: testFrom, APIURL: f.url()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Find(context.Background(), testTo, "x")
	var se *SendError
	if !errors.As(err, &se) || se.HTTPStatus != 401 || se.Code != 20003 {
		t.Fatalf("Find with a wrong token = %v, want a 401 SendError with code 20003", err)
	}
}

func TestAPIURLWithPathPrefix(t *testing.T) {
	f := newFakeTwilio(t)
	s, err := NewTwilioSender(Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom, APIURL: f.url() + "/prefix/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), testTo, "hello")
	var se *SendError
	if !errors.As(err, &se) || se.HTTPStatus != 404 {
		t.Fatalf("Send = %v, want the fake's 404 for /prefix/2010-04-01/...", err)
	}
	if !strings.Contains(se.Message, "/prefix/2010-04-01/Accounts/"+testAccountSID+"/Messages.json") {
		t.Errorf("path not prefixed: %s", se.Message)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"outbox", Config{}, false},
		{"twilio", Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}, false},
		{"twilio_api_url", Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom, APIURL: "http://127.0.0.1:9"}, false},
		{"token_without_account", Config{AuthToken: testAuthToken}, true},
		{"no_token", Config{AccountSID: testAccountSID, From: testFrom}, true},
		{"no_from", Config{AccountSID: testAccountSID, AuthToken: testAuthToken}, true},
		{"token_with_symbols", Config{AccountSID: testAccountSID, AuthToken: "abc-def", From: testFrom}, true},
		{"relative_api_url", Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom, APIURL: "127.0.0.1:9"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewSenderChoosesOutboxOrTwilio(t *testing.T) {
	s, err := NewSender(Config{}, nil)
	if _, ok := s.(*OutboxSender); err != nil || !ok {
		t.Errorf("NewSender(empty) = %T, %v; want *OutboxSender", s, err)
	}
	s, err = NewSender(Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}, nil)
	if _, ok := s.(*TwilioSender); err != nil || !ok {
		t.Errorf("NewSender(twilio) = %T, %v; want *TwilioSender", s, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"12", 12 * time.Second}, {"-5", 0}, {"junk", 0}, {"999999", time.Hour},
		{now.Add(90 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 90 * time.Second},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
