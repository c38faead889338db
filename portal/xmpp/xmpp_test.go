package xmpp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"provportal/portal/xmpp"
	"provportal/portal/xmpp/prosodytest"
)

// timeout is generous: it only stops a broken test from hanging.
const timeout = 30 * time.Second

func TestLogon(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "alice", "secret")

	cfg := srv.Client("alice", "secret")
	cfg.Resource = "laptop"
	alice := dial(t, cfg)

	if !alice.Secure() {
		t.Error("Secure() = false, want true after STARTTLS")
	}
	if got := alice.Mechanism(); got != xmpp.ScramSHA256 && got != xmpp.ScramSHA1 {
		t.Errorf("Mechanism() = %q, want SCRAM", got)
	}
	if got, want := alice.JID(), "alice@example.test/laptop"; got != want {
		t.Errorf("JID() = %q, want %q", got, want)
	}
	if got, want := srv.Logins(t, "alice"), 1; got != want {
		t.Errorf("logins seen by the server = %d, want %d", got, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := alice.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestLogonRefused(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "alice", "secret")

	tests := []struct {
		name               string
		username, password string
	}{
		{"wrong_password", "alice", "not-the-secret"},
		{"unknown_user", "mallory", "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c, err := xmpp.Dial(ctx, srv.Client(tt.username, tt.password))
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want ErrBadCredentials")
			}
			if !errors.Is(err, xmpp.ErrBadCredentials) {
				t.Errorf("Dial: %v, want ErrBadCredentials", err)
			}
			if errors.Is(err, xmpp.ErrServerUnavailable) {
				t.Errorf("Dial: %v also matches ErrServerUnavailable", err)
			}
			if got := srv.Logins(t, tt.username); got != 0 {
				t.Errorf("logins seen by the server = %d, want 0", got)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "alice", "secret")
	srv.AddUser(t, "bob", "hunter2")
	alice := dial(t, srv.Client("alice", "secret"))
	bob := dial(t, srv.Client("bob", "hunter2"))

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body := "Is the printer on floor 2 provisioned? <yes> & \"no\""
	id, err := alice.Send(ctx, xmpp.Message{To: "bob@example.test", Body: body})
	if err != nil {
		t.Fatalf("alice Send: %v", err)
	}

	got := waitFor(t, bob, func(m xmpp.Message) bool { return true })
	want := xmpp.Message{ID: id, From: alice.JID(), To: "bob@example.test", Type: "chat", Body: body}
	if got.ID != want.ID || got.From != want.From || got.To != want.To || got.Type != want.Type || got.Body != want.Body || got.Error != nil {
		t.Errorf("bob received %+v, want %+v", got, want)
	}

	if _, err := bob.Send(ctx, xmpp.Message{To: got.From, Body: "Yes, since Monday."}); err != nil {
		t.Fatalf("bob Send: %v", err)
	}
	reply := waitFor(t, alice, func(m xmpp.Message) bool { return true })
	if reply.From != bob.JID() || reply.Body != "Yes, since Monday." {
		t.Errorf("alice received %+v, want %q from %s", reply, "Yes, since Monday.", bob.JID())
	}
}

func TestPresence(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "alice", "secret")
	srv.AddUser(t, "bob", "hunter2")
	alice := dial(t, srv.Client("alice", "secret"))
	bob := dial(t, srv.Client("bob", "hunter2"))

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fromBob := func(p xmpp.Presence) bool { return p.From == bob.JID() }

	// Directed presence needs no subscription, so no roster set-up.
	err := bob.SendPresence(ctx, xmpp.Presence{To: alice.JID(), Show: xmpp.ShowAway, Status: "in a meeting"})
	if err != nil {
		t.Fatalf("SendPresence: %v", err)
	}
	got := waitFor(t, alice, fromBob)
	if got.Type != "" || got.Show != xmpp.ShowAway || got.Status != "in a meeting" {
		t.Errorf("alice saw %+v, want available, away, %q", got, "in a meeting")
	}

	if err := bob.SendPresence(ctx, xmpp.Presence{To: alice.JID(), Type: xmpp.PresenceUnavailable}); err != nil {
		t.Fatalf("SendPresence: %v", err)
	}
	if got := waitFor(t, alice, fromBob); got.Type != xmpp.PresenceUnavailable {
		t.Errorf("alice saw %+v, want unavailable", got)
	}
}

func TestConnectionLimit(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{MaxConnections: 2})
	srv.AddUser(t, "alice", "secret")
	srv.AddUser(t, "bob", "hunter2")
	srv.AddUser(t, "carol", "s3cret")
	alice := dial(t, srv.Client("alice", "secret"))
	dial(t, srv.Client("bob", "hunter2"))

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := xmpp.Dial(ctx, srv.Client("carol", "s3cret"))
	if err == nil {
		c.Close()
		t.Fatal("Dial over the connection limit succeeded")
	}
	if !errors.Is(err, xmpp.ErrServerUnavailable) {
		t.Fatalf("Dial over the connection limit: %v, want ErrServerUnavailable", err)
	}
	if errors.Is(err, xmpp.ErrBadCredentials) {
		t.Errorf("Dial: %v also matches ErrBadCredentials", err)
	}
	if got := srv.Logins(t, "carol"); got != 0 {
		t.Errorf("carol's logins = %d, want 0", got)
	}

	// Having turned one away, Prosody stops accepting for a second at a
	// time while full, leaving the next ones queued without a word.
	short, cancelShort := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelShort()
	if c, err := xmpp.Dial(short, srv.Client("carol", "s3cret")); err == nil {
		c.Close()
		t.Error("second Dial over the connection limit succeeded")
	} else if !errors.Is(err, xmpp.ErrServerUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Dial over the connection limit: %v, want ErrServerUnavailable and DeadlineExceeded", err)
	}

	// With a connection freed, carol gets in: it was the limit that
	// stopped her. She may need a few tries, as a client would: Prosody
	// takes up the queue once a second, and the connection given up above
	// may still be in it, taking the free place until it is found dead.
	alice.Close()
	for {
		carol, err := xmpp.Dial(ctx, srv.Client("carol", "s3cret"))
		if err == nil {
			carol.Close()
			break
		}
		if !errors.Is(err, xmpp.ErrServerUnavailable) || ctx.Err() != nil {
			t.Fatalf("Dial with a place free: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := srv.Logins(t, "carol"); got != 1 {
		t.Errorf("carol's logins = %d, want 1", got)
	}
}

func TestClose(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "alice", "secret")
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	alice, err := xmpp.Dial(ctx, srv.Client("alice", "secret"))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if err := alice.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for range alice.Events() {
		// Close has returned, so the channel must already be closed; if
		// it were not, this loop would hang until the test times out.
	}
	if err := alice.Err(); err != nil {
		t.Errorf("Err() after Close = %v, want nil", err)
	}
	if _, err := alice.Send(ctx, xmpp.Message{To: "bob@example.test", Body: "hi"}); !errors.Is(err, xmpp.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := alice.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Goroutines of the standard library may take a moment to wind down.
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerShutdown(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "alice", "secret")
	alice := dial(t, srv.Client("alice", "secret"))

	srv.Stop()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for open := true; open; {
		select {
		case _, open = <-alice.Events():
		case <-timer.C:
			t.Fatal("Events not closed after the server stopped")
		}
	}
	// Prosody says system-shutdown, except when its shutdown outruns the
	// write and the connection just ends.
	var se *xmpp.StreamError
	t.Logf("Err() = %v", alice.Err())
	switch err := alice.Err(); {
	case errors.As(err, &se) && se.Condition == "system-shutdown":
	case errors.Is(err, io.ErrUnexpectedEOF):
	default:
		t.Errorf("Err() = %v, want a system-shutdown stream error or io.ErrUnexpectedEOF", err)
	}
	if _, err := alice.Send(context.Background(), xmpp.Message{To: "bob@example.test", Body: "hi"}); !errors.Is(err, xmpp.ErrClosed) {
		t.Errorf("Send after the server stopped: %v, want ErrClosed", err)
	}
}

func TestPlaintext(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{NoTLS: true})
	srv.AddUser(t, "alice", "secret")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cfg := srv.Client("alice", "secret")
	cfg.AllowPlaintext = false
	if c, err := xmpp.Dial(ctx, cfg); !errors.Is(err, xmpp.ErrTLSRequired) {
		if c != nil {
			c.Close()
		}
		t.Errorf("Dial without STARTTLS: %v, want ErrTLSRequired", err)
	}

	cfg.AllowPlaintext = true
	alice := dial(t, cfg)
	if alice.Secure() {
		t.Error("Secure() = true without TLS")
	}
	if got := alice.Mechanism(); !strings.HasPrefix(got, "SCRAM-") {
		t.Errorf("Mechanism() = %q, want SCRAM: PLAIN is for TLS only", got)
	}
}

func TestDialFailures(t *testing.T) {
	t.Run("connection_refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close() // nothing listens there any more

		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err = xmpp.Dial(ctx, xmpp.Config{Host: "127.0.0.1", Port: port, Domain: "example.test", Username: "alice", Password: "secret"})
		if !errors.Is(err, xmpp.ErrServerUnavailable) {
			t.Errorf("Dial: %v, want ErrServerUnavailable", err)
		}
	})

	// A server that accepts and then says nothing: only the context ends Dial.
	t.Run("cancelled", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err = xmpp.Dial(ctx, xmpp.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Domain: "example.test", Username: "alice", Password: "secret"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dial: %v, want context.Canceled", err)
		}
		if errors.Is(err, xmpp.ErrServerUnavailable) {
			t.Errorf("Dial: %v matches ErrServerUnavailable, but it was the caller who gave up", err)
		}
	})
}

// dial logs on, or fails the test, and closes the connection at the end.
func dial(t *testing.T, cfg xmpp.Config) *xmpp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := xmpp.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial as %s: %v", cfg.Username, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor returns the first event of type E that match accepts, skipping
// others, such as the server echoing the user's own presence.
func waitFor[E xmpp.Event](t *testing.T, c *xmpp.Conn, match func(E) bool) E {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				var zero E
				t.Fatalf("%s: connection ended while waiting for a %T: %v", c.JID(), zero, c.Err())
			}
			if e, ok := ev.(E); ok && match(e) {
				return e
			}
		case <-timer.C:
			var zero E
			t.Fatalf("%s: no matching %T within %v", c.JID(), zero, timeout)
		}
	}
}
