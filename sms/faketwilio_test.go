package sms

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "0123456789abcdef0123456789abcdef"
	testFrom       = "+15005550006"
	testService    = "MG0123456789abcdef0123456789abcdef"
)

// fakeTwilio speaks the part of Twilio's Messages API the sender uses:
// POST and GET /2010-04-01/Accounts/{sid}/Messages.json with basic auth,
// answering in Twilio's JSON shapes.
type fakeTwilio struct {
	srv *httptest.Server

	mu       sync.Mutex
	messages []fakeMessage // oldest first
	posts    []url.Values  // every POST form, refused ones included
	gets     int

	// fail429 refuses the next POSTs with 429 Too Many Requests.
	fail429    int
	retryAfter string // Retry-After on a 429
	// failStatus and failCode refuse every POST with a Twilio error.
	failStatus, failCode int
	failHTML             bool // refuse with an HTML page instead of JSON
	// dropAfterCreate creates the next messages, then drops the connection
	// without answering, as a crash or network cut between Twilio accepting
	// a message and us hearing about it would.
	dropAfterCreate int
}

type fakeMessage struct {
	SID, To, From, Service, Body, Status string
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) url() string { return f.srv.URL }

// sender returns a real TwilioSender aimed at the fake.
func (f *fakeTwilio) sender(t *testing.T, from string) *TwilioSender {
	t.Helper()
	s, err := NewTwilioSender(Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: from, APIURL: f.url()})
	if err != nil {
		t.Fatalf("NewTwilioSender: %v", err)
	}
	return s
}

// add stores a message as if it had been sent earlier.
func (f *fakeTwilio) add(to, body, status string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := fakeMessage{SID: newSID("SM"), To: to, From: testFrom, Body: body, Status: status}
	f.messages = append(f.messages, m)
	return m.SID
}

func (f *fakeTwilio) postCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.posts)
}

func (f *fakeTwilio) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

func (f *fakeTwilio) lastPost() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.posts) == 0 {
		return nil
	}
	return f.posts[len(f.posts)-1]
}

// bodies counts the messages created, by body.
func (f *fakeTwilio) bodies() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, m := range f.messages {
		n[m.Body]++
	}
	return n
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	want := "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"
	if r.URL.Path != want {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testAccountSID || pass != testAuthToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authentication Error - invalid username")
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.create(w, r)
	case http.MethodGet:
		f.list(w, r)
	default:
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

func (f *fakeTwilio) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		twilioError(w, http.StatusUnsupportedMediaType, 0, "want a form, got "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 0, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append(f.posts, r.PostForm)
	form := r.PostForm
	switch {
	case f.fail429 > 0:
		f.fail429--
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		twilioError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return
	case f.failHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.failStatus)
		fmt.Fprint(w, "<html><body>Bad Gateway</body></html>")
		return
	case f.failStatus != 0:
		twilioError(w, f.failStatus, f.failCode, twilioMessages[f.failCode])
		return
	case form.Get("To") == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case form.Get("Body") == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case (form.Get("From") == "") == (form.Get("MessagingServiceSid") == ""):
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number or MessagingServiceSid is required.")
		return
	}
	m := fakeMessage{SID: newSID("SM"), To: form.Get("To"), From: form.Get("From"),
		Service: form.Get("MessagingServiceSid"), Body: form.Get("Body"), Status: "queued"}
	if m.Service != "" {
		m.Status = "accepted"
	}
	f.messages = append(f.messages, m)
	if f.dropAfterCreate > 0 {
		f.dropAfterCreate--
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	writeJSON(w, http.StatusCreated, messageJSON(m))
}

func (f *fakeTwilio) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, _ := strconv.Atoi(q.Get("PageSize"))
	if size <= 0 {
		size = 50
	}
	page, _ := strconv.Atoi(q.Get("Page"))

	f.mu.Lock()
	f.gets++
	var match []fakeMessage
	for i := len(f.messages) - 1; i >= 0; i-- { // newest first, as Twilio lists
		if to := q.Get("To"); to == "" || f.messages[i].To == to {
			match = append(match, f.messages[i])
		}
	}
	f.mu.Unlock()

	start := min(page*size, len(match))
	end := min(start+size, len(match))
	out := make([]map[string]any, 0, end-start)
	for _, m := range match[start:end] {
		out = append(out, messageJSON(m))
	}
	base := "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"
	pageURI := func(p int) string {
		v := url.Values{"To": {q.Get("To")}, "PageSize": {strconv.Itoa(size)}, "Page": {strconv.Itoa(p)},
			"PageToken": {"PA" + strconv.Itoa(p)}}
		return base + "?" + v.Encode()
	}
	var next any
	if end < len(match) {
		next = pageURI(page + 1)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"messages": out, "page": page, "page_size": size, "start": start, "end": max(end-1, 0),
		"first_page_uri": pageURI(0), "next_page_uri": next, "previous_page_uri": nil, "uri": pageURI(page),
	})
}

var twilioMessages = map[int]string{
	TwilioInvalidTo:    "The 'To' number +1555 is not a valid phone number.",
	TwilioUnsubscribed: "Attempt to send to unsubscribed recipient",
	20500:              "An internal server error has occurred",
}

func messageJSON(m fakeMessage) map[string]any {
	j := map[string]any{
		"sid": m.SID, "account_sid": testAccountSID, "to": m.To, "from": nil, "body": m.Body,
		"status": m.Status, "direction": "outbound-api", "num_segments": "1", "api_version": "2010-04-01",
		"uri":          "/2010-04-01/Accounts/" + testAccountSID + "/Messages/" + m.SID + ".json",
		"date_created": "Thu, 01 Jan 2026 00:00:00 +0000", "error_code": nil, "error_message": nil,
	}
	if m.From != "" {
		j["from"] = m.From
	}
	if m.Service != "" {
		j["messaging_service_sid"] = m.Service
	}
	return j
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func newSID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
