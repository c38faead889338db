// Package smstest is a local stand-in for Twilio's Messages API, for tests:
// the real twilio-go client talks to it over loopback.
package smstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Credentials the stand-in accepts.
const (
	AccountSID = "AC0123456789abcdef0123456789abcdef"
	AuthToken  = "0123456789abcdef0123456789abcdef"
	From       = "+15005550006"
)

// Message is one message the stand-in accepted.
type Message struct {
	SID, To, From, Body, StatusCallback string
}

// Twilio speaks the part of the Messages API the portal uses, with HTTP
// basic auth checked.
type Twilio struct {
	*httptest.Server
	mu   sync.Mutex
	sent []Message
}

// NewTwilio starts a stand-in, stopped when the test ends.
func NewTwilio(t testing.TB) *Twilio {
	f := &Twilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	user, pass, ok := r.BasicAuth()
	if !ok || user != AccountSID || pass != AuthToken || r.URL.Path != "/2010-04-01/Accounts/"+AccountSID+"/Messages.json" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code":20003,"message":"Authenticate","status":401}`)
		return
	}
	if r.Method == http.MethodGet {
		fmt.Fprint(w, `{"messages":[],"next_page_uri":null}`)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" || r.PostForm.Get("Body") == "" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":21604,"message":"A 'To' and 'Body' are required","status":400}`)
		return
	}
	f.mu.Lock()
	m := Message{SID: fmt.Sprintf("SM%032d", len(f.sent)+1), To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		Body: r.PostForm.Get("Body"), StatusCallback: r.PostForm.Get("StatusCallback")}
	f.sent = append(f.sent, m)
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": m.SID, "status": "queued", "to": m.To, "body": m.Body})
}

// Messages returns what was accepted so far.
func (f *Twilio) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.sent...)
}

// Signature signs a status callback as Twilio documents it: HMAC-SHA1 over
// the URL followed by the sorted form parameters, base64.
func Signature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
