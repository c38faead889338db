package gormstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"provportal/portal"
	"provportal/sms"
	"provportal/sms/smstest"
)

// queueSome stores n messages to distinct numbers through the store's own
// invitation path, as the admin API does.
func queueSome(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	u := portal.User{Username: "queue-user"}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		inv := portal.Invitation{UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
		msg := portal.SMSMessage{To: fmt.Sprintf("+1415555%04d", i), Body: fmt.Sprintf("message %d", i)}
		if err := s.CreateInvitation(ctx, &inv, fmt.Sprintf("hash-%d", i), &msg); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSendersRaceOverOneQueue runs two senders, as two portal processes
// would, over one database with the real twilio-go client: every message
// reaches Twilio exactly once.
func TestSendersRaceOverOneQueue(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cfg := b.cfg(t)
			first := openStore(t, cfg)
			if _, err := first.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			second := openStore(t, cfg) // a second process's connection pool
			const n = 40
			queueSome(t, first, n)

			tw := smstest.NewTwilio(t)
			sender, err := sms.NewTwilioSender(sms.Config{AccountSID: smstest.AccountSID, AuthToken: smstest.AuthToken, From: smstest.From, APIURL: tw.URL})
			if err != nil {
				t.Fatal(err)
			}
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			var wg sync.WaitGroup
			for _, q := range []*Store{first, second} {
				w := &sms.Worker{Queue: q, Sender: sender, Log: quiet, Batch: 3}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						sent, err := w.RunOnce(context.Background())
						if err != nil {
							t.Errorf("RunOnce: %v", err)
							return
						}
						if sent == 0 {
							return
						}
					}
				}()
			}
			wg.Wait()

			seen := map[string]int{}
			for _, m := range tw.Messages() {
				seen[m.Body]++
			}
			if len(seen) != n {
				t.Errorf("Twilio got %d distinct messages, want %d", len(seen), n)
			}
			for body, k := range seen {
				if k != 1 {
					t.Errorf("%q sent %d times", body, k)
				}
			}
			page, err := first.SMSMessages(context.Background(), portal.SMSFilter{Status: portal.SMSSent, ListOptions: portal.ListOptions{Limit: 100}})
			if err != nil || page.Total != n {
				t.Errorf("sent messages in the outbox = %d (%v), want %d", page.Total, err, n)
			}
		})
	}
}

// TestExpiredLeaseIsReclaimedOnce: a message whose sender died mid-send is
// claimed again after its lease, flagged so the next sender checks Twilio
// first; a live lease keeps others away.
func TestExpiredLeaseIsReclaimedOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, b.cfg(t))
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			queueSome(t, s, 1)
			ctx := context.Background()
			now := time.Now()
			got, err := s.Claim(ctx, now, 10, time.Minute)
			if err != nil || len(got) != 1 || got[0].PreviouslyClaimed || got[0].Attempts != 1 {
				t.Fatalf("first claim = %+v, %v", got, err)
			}
			if again, _ := s.Claim(ctx, now.Add(30*time.Second), 10, time.Minute); len(again) != 0 {
				t.Errorf("a leased message was claimed again: %+v", again)
			}
			later, err := s.Claim(ctx, now.Add(2*time.Minute), 10, time.Minute)
			if err != nil || len(later) != 1 || !later[0].PreviouslyClaimed || later[0].Attempts != 2 {
				t.Fatalf("claim after the lease ran out = %+v, %v; want it flagged as previously claimed", later, err)
			}
			if err := s.MarkRetry(ctx, later[0].ID, now.Add(time.Hour), "http_429", "slow down"); err != nil {
				t.Fatal(err)
			}
			if due, _ := s.Claim(ctx, now.Add(10*time.Minute), 10, time.Minute); len(due) != 0 {
				t.Errorf("a message due in an hour was claimed: %+v", due)
			}
			if err := s.MarkFailed(ctx, later[0].ID, "21610", "unsubscribed", true); err != nil {
				t.Fatal(err)
			}
			u, err := s.UserByUsername(ctx, "queue-user")
			if err != nil || !u.SMSOptedOut {
				t.Errorf("after an opt-out the user is %+v, %v; want sms_opted_out", u, err)
			}
		})
	}
}
