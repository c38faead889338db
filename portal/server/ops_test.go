package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/gormstore"
)

func TestHealthAndMetrics(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		st := open(t)
		e := newPortal(t, st)
		var health map[string]string
		e.call("GET", "/healthz", "", nil).want(http.StatusOK).decode(&health)
		if health["status"] != "ok" {
			t.Errorf("healthz = %v", health)
		}
		e.as("GET", "/api/v1/users", nil).want(http.StatusOK)
		m := e.call("GET", "/metrics", "", nil).want(http.StatusOK)
		for _, want := range []string{
			`portal_http_requests_total{code="200",method="GET",route="/api/v1/users"} 1`,
			`portal_http_request_duration_seconds_bucket`,
			`go_goroutines`,
		} {
			if !strings.Contains(string(m.Body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		st.Close()
		e.call("GET", "/healthz", "", nil).wantError(http.StatusServiceUnavailable, portal.CodeUnavailable)
	})
}

func TestBootstrapCreatesFirstAdminOnce(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		st := open(t)
		ctx := context.Background()
		user, pw, err := Bootstrap(ctx, st, cheapHash)
		if err != nil || user != "admin" || len(pw) < 16 {
			t.Fatalf("Bootstrap = %q, %d-char password, %v; want admin with a long password", user, len(pw), err)
		}
		a, err := st.AdminByUsername(ctx, "admin")
		if err != nil || a.Role != portal.RoleAdmin {
			t.Fatalf("bootstrapped admin = %+v, %v", a, err)
		}
		if ok, _ := auth.VerifyPassword(a.PasswordHash, pw); !ok || strings.Contains(a.PasswordHash, pw) {
			t.Errorf("stored hash does not verify the printed password, or holds it in clear")
		}
		if user, pw, err := Bootstrap(ctx, st, cheapHash); user != "" || pw != "" || err != nil {
			t.Errorf("second Bootstrap = %q, %q, %v; want nothing created", user, pw, err)
		}
	})
}

// slowBody hands out its bytes only when told to, holding a request in flight.
type slowBody struct {
	first, rest []byte
	release     chan struct{}
	sentFirst   chan struct{}
	state       int
}

func (b *slowBody) Read(p []byte) (int, error) {
	switch b.state {
	case 0:
		b.state = 1
		close(b.sentFirst)
		return copy(p, b.first), nil
	case 1:
		<-b.release
		b.state = 2
		return copy(p, b.rest), nil
	}
	return 0, io.EOF
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		st := open(t)
		e := newPortal(t, st) // for its token and an app
		app := e.as("POST", "/api/v1/apps", map[string]string{"name": "notes", "version": "1"}).want(http.StatusCreated).id()

		cfg := e.cfg
		srv, err := New(context.Background(), cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()

		body := &slowBody{first: []byte("first half, "), rest: []byte("second half"), release: make(chan struct{}), sentFirst: make(chan struct{})}
		req, _ := http.NewRequest("PUT", "http://"+ln.Addr().String()+"/api/v1/apps/"+app+"/artifacts/linux-amd64", body)
		req.Header.Set("Authorization", "Bearer "+e.Token)
		req.ContentLength = int64(len(body.first) + len(body.rest))
		answered := make(chan *http.Response, 1)
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("in-flight upload: %v", err)
				close(answered)
				return
			}
			answered <- res
		}()
		<-body.sentFirst
		time.Sleep(100 * time.Millisecond) // let the server start reading the body
		stop()                             // as SIGTERM does

		// New connections are refused once shutdown has begun.
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatal("the listener still accepts connections after shutdown began")
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(body.release)
		res := <-answered
		if res == nil {
			t.FailNow()
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Errorf("in-flight upload answered %d, want 201", res.StatusCode)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		var got portal.App
		e.as("GET", "/api/v1/apps/"+app, nil).want(http.StatusOK).decode(&got)
		if len(got.Artifacts) != 1 || got.Artifacts[0].Size != int64(len("first half, second half")) {
			t.Errorf("artifact after shutdown = %+v, want the whole upload", got.Artifacts)
		}
	})
}
