package server

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

	"provportal/sms"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "0123456789abcdef0123456789abcdef"
	twilioFrom  = "+15005550006"
)

type sentSMS struct{ To, From, Body, StatusCallback string }

// fakeTwilio is a local server that speaks the part of Twilio's Messages API
// the portal uses, with basic auth checked; the real twilio-go client talks to it.
type fakeTwilio struct {
	*httptest.Server
	mu   sync.Mutex
	sent []sentSMS
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user, pass, ok := r.BasicAuth()
		if !ok || user != twilioSID || pass != twilioToken || r.URL.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"messages":[],"next_page_uri":null}`)
			return
		}
		r.ParseForm()
		f.mu.Lock()
		f.sent = append(f.sent, sentSMS{r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body"), r.PostForm.Get("StatusCallback")})
		n := len(f.sent)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued", "to": r.PostForm.Get("To"), "body": r.PostForm.Get("Body")})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) messages() []sentSMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentSMS(nil), f.sent...)
}

func withTwilio(f *fakeTwilio) option {
	return func(c *Config) {
		c.SMS = sms.Config{AccountSID: twilioSID, AuthToken: twilioToken, From: twilioFrom, APIURL: f.URL}
	}
}

// twilioSignature signs a callback as Twilio documents it: HMAC-SHA1 over the
// URL followed by the sorted form parameters, base64.
func twilioSignature(token, fullURL string, form url.Values) string {
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
