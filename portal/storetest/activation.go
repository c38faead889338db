package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"provportal/portal"
)

func setPassword(t *testing.T, s portal.Store, userID string, ttl time.Duration) *portal.ActivationPassword {
	t.Helper()
	p := &portal.ActivationPassword{UserID: userID, PRS: []byte("derived-prs-" + userID), Salt: []byte("salt"), KDFParams: "m=65536,t=3,p=1", ExpiresAt: time.Now().Add(ttl)}
	if err := s.SetActivationPassword(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

var activationCases = []storeCase{
	{"set_replaces_and_keeps_only_the_derived_secret", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice")
		first := setPassword(t, s, u.ID, time.Hour)
		second := setPassword(t, s, u.ID, 2*time.Hour)
		got, err := s.ActivationPassword(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != second.ID || got.ID == first.ID || !bytes.Equal(got.PRS, second.PRS) || got.State(time.Now()) != portal.ActivationActive {
			t.Errorf("after replacing: %+v, want the second password, active", got)
		}
		page, _ := s.Audit(ctx, portal.AuditFilter{Kind: "user", ObjectID: u.ID})
		for _, e := range page.Items {
			if bytes.Contains(e.After, []byte("derived-prs")) || bytes.Contains(e.Before, []byte("derived-prs")) {
				t.Errorf("audit entry %s holds the derived secret", e.Action)
			}
		}
		if err := s.SetActivationPassword(ctx, &portal.ActivationPassword{UserID: "nobody", PRS: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}); portal.CodeOf(err) != portal.CodeNotFound {
			t.Errorf("password for an unknown user: %v, want not_found", err)
		}
	}},
	{"fifth_failure_kills_the_password", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "bob")
		p := setPassword(t, s, u.ID, time.Hour)
		for i := 1; i <= portal.MaxActivationFailures; i++ {
			got, ok, err := s.BeginActivationAttempt(ctx, p.ID, time.Now())
			if err != nil || !ok || got.Failures != i {
				t.Fatalf("attempt %d: %+v ok=%v %v", i, got, ok, err)
			}
			got, err = s.FailActivationAttempt(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := portal.ActivationActive
			if i == portal.MaxActivationFailures {
				want = portal.ActivationTooManyAttempts
			}
			if st := got.State(time.Now()); st != want {
				t.Errorf("after failure %d: state %s, want %s", i, st, want)
			}
		}
		if _, ok, _ := s.BeginActivationAttempt(ctx, p.ID, time.Now()); ok {
			t.Error("a sixth attempt was allowed")
		}
		page, _ := s.Audit(ctx, portal.AuditFilter{Kind: "user", ObjectID: u.ID, ListOptions: portal.ListOptions{Limit: 100}})
		seen := map[string]int{}
		for _, e := range page.Items {
			seen[e.Action]++
		}
		if seen["activation_attempt"] != 6 || seen["activation_failed"] != 4 || seen["activation_password_locked"] != 1 {
			t.Errorf("audit actions %v, want 6 attempts, 4 failures and the lock", seen)
		}
		if won, _ := s.ConsumeActivationPassword(ctx, p.ID, time.Now()); won {
			t.Error("a password out of attempts was consumed")
		}
	}},
	{"abandoned_attempts_count", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "carl")
		p := setPassword(t, s, u.ID, time.Hour)
		for range portal.MaxActivationFailures {
			if _, ok, _ := s.BeginActivationAttempt(ctx, p.ID, time.Now()); !ok {
				t.Fatal("attempt refused early")
			}
		}
		got, ok, err := s.BeginActivationAttempt(ctx, p.ID, time.Now())
		if err != nil || ok || got.State(time.Now()) != portal.ActivationTooManyAttempts {
			t.Errorf("after five unconfirmed attempts: %+v ok=%v %v; want dead, too many attempts", got, ok, err)
		}
	}},
	{"expired_password_refused", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "dora")
		p := setPassword(t, s, u.ID, time.Second)
		later := time.Now().Add(2 * time.Second)
		got, ok, err := s.BeginActivationAttempt(ctx, p.ID, later)
		if err != nil || ok || got.State(later) != portal.ActivationExpired {
			t.Errorf("expired: %+v ok=%v %v", got, ok, err)
		}
		if won, _ := s.ConsumeActivationPassword(ctx, p.ID, later); won {
			t.Error("an expired password was consumed")
		}
	}},
	{"racing_devices_exactly_one_wins", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "erin")
		p := setPassword(t, s, u.ID, time.Hour)
		var wg sync.WaitGroup
		wins := make(chan bool, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won, err := s.ConsumeActivationPassword(ctx, p.ID, time.Now())
				if err != nil {
					t.Error(err)
				}
				wins <- won
			}()
		}
		wg.Wait()
		close(wins)
		n := 0
		for w := range wins {
			if w {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d devices consumed one password, want exactly 1", n)
		}
		got, _ := s.ActivationPassword(ctx, u.ID)
		if got.State(time.Now()) != portal.ActivationUsed {
			t.Errorf("state after use = %s, want used", got.State(time.Now()))
		}
	}},
	{"user_by_email_ignores_case", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := &portal.User{Username: "fay", Email: "Fay@Example.com"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByEmail(ctx, "fay@example.COM")
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByEmail = %+v, %v", got, err)
		}
		mustUser(t, s, "noemail")
		if _, err := s.UserByEmail(ctx, ""); !portal.IsNotFound(err) {
			t.Errorf("empty e-mail matched a user without one: %v", err)
		}
	}},
	{"sessions_and_timeline", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "gus")
		d := &portal.Device{UserID: u.ID, Platform: "linux-amd64", Status: "activating"}
		if err := s.RegisterDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		sess := &portal.ActivationSession{UserID: u.ID, DeviceID: d.ID, PasswordID: "p1", Step: "started", ExpiresAt: time.Now().Add(time.Minute)}
		if err := s.CreateActivationSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateActivationSession(ctx, sess.ID, "confirmed", []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ActivationSession(ctx, sess.ID)
		if err != nil || got.Step != "confirmed" || !bytes.Equal(got.State, []byte{1, 2, 3}) || got.DeviceID != d.ID {
			t.Errorf("session = %+v, %v", got, err)
		}
		for _, ev := range []string{"request_received", "key_generated", "key_accepted"} {
			if err := s.AddDeviceEvent(ctx, d.ID, "activating", ev, map[string]any{"n": ev}); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := s.DeviceEvents(ctx, d.ID)
		if err != nil || len(evs) != 3 || evs[0].Event != "request_received" || evs[2].Event != "key_accepted" || evs[1].Detail["n"] != "key_generated" {
			t.Errorf("timeline = %+v, %v", evs, err)
		}
	}},
}
