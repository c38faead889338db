package sms

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

const testLease = time.Minute

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestWorker(q Queue, s Sender, clk *clock) *Worker {
	return &Worker{
		Queue: q, Sender: s, Log: quietLog(), Now: clk.Now, Lease: testLease,
		Backoff: func(int) time.Duration { return time.Second },
	}
}

func runOnce(t *testing.T, w *Worker) int {
	t.Helper()
	sent, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return sent
}

func TestWorkerRetriesAfter429ThenSent(t *testing.T) {
	f := newFakeTwilio(t)
	f.fail429 = 1
	clk := newClock()
	q := NewMemQueue()
	q.Add("m1", testTo, "body 1", clk.Now())
	w := newTestWorker(q, f.sender(t, testFrom), clk)

	if sent := runOnce(t, w); sent != 0 {
		t.Fatalf("first run sent %d, want 0 (429)", sent)
	}
	m := q.Get("m1")
	if m.State != StateQueued || m.ErrorCode != "20429" || !m.NextAttemptAt.Equal(clk.Now().Add(time.Second)) {
		t.Fatalf("after 429: state %s code %q next %v; want queued, 20429, now+1s", m.State, m.ErrorCode, m.NextAttemptAt)
	}
	if sent := runOnce(t, w); sent != 0 || f.postCount() != 1 {
		t.Fatalf("a run before the backoff ended sent %d (%d POSTs), want nothing", sent, f.postCount())
	}

	clk.Advance(time.Second)
	if sent := runOnce(t, w); sent != 1 {
		t.Fatalf("second run sent %d, want 1", sent)
	}
	m = q.Get("m1")
	if m.State != StateSent || m.Attempts != 2 || m.SID == "" || m.receipt.Status != "queued" {
		t.Errorf("got state %s attempts %d sid %q receipt %+v; want sent after 2 attempts", m.State, m.Attempts, m.SID, m.receipt)
	}
	if n := f.postCount(); n != 2 {
		t.Errorf("server saw %d POSTs, want 2", n)
	}
	if n := f.bodies()["body 1"]; n != 1 {
		t.Errorf("server created the message %d times, want 1", n)
	}
}

func TestWorkerRetryAfterBeatsBackoff(t *testing.T) {
	f := newFakeTwilio(t)
	f.fail429, f.retryAfter = 1, "30"
	clk := newClock()
	q := NewMemQueue()
	q.Add("m1", testTo, "body", clk.Now())
	runOnce(t, newTestWorker(q, f.sender(t, testFrom), clk))
	if got, want := q.Get("m1").NextAttemptAt, clk.Now().Add(30*time.Second); !got.Equal(want) {
		t.Errorf("next attempt %v, want %v (Retry-After 30 over a 1s backoff)", got, want)
	}
}

func TestWorkerPermanentErrors(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		state    string
		optedOut bool
	}{
		{"invalid_to_number", TwilioInvalidTo, StateFailed, false},
		{"unsubscribed_recipient", TwilioUnsubscribed, StateOptedOut, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			f.failStatus, f.failCode = 400, tt.code
			clk := newClock()
			q := NewMemQueue()
			q.Add("m1", testTo, "body", clk.Now())
			w := newTestWorker(q, f.sender(t, testFrom), clk)

			runOnce(t, w)
			m := q.Get("m1")
			if m.State != tt.state || m.ErrorCode != fmt.Sprint(tt.code) || m.optedOut != tt.optedOut || m.ErrorMessage == "" {
				t.Errorf("got state %s code %q opted out %v message %q; want %s %d %v",
					m.State, m.ErrorCode, m.optedOut, m.ErrorMessage, tt.state, tt.code, tt.optedOut)
			}
			clk.Advance(24 * time.Hour)
			runOnce(t, w)
			if n := f.postCount(); n != 1 {
				t.Errorf("server saw %d POSTs, want 1: a permanent error is not retried", n)
			}
		})
	}
}

func TestWorkerServerErrorUntilOutOfAttempts(t *testing.T) {
	f := newFakeTwilio(t)
	f.failStatus, f.failCode = 500, 20500
	clk := newClock()
	q := NewMemQueue()
	q.Add("m1", testTo, "body", clk.Now())
	w := newTestWorker(q, f.sender(t, testFrom), clk)
	w.MaxAttempts = 4

	for range 10 {
		runOnce(t, w)
		clk.Advance(time.Hour)
	}
	m := q.Get("m1")
	if m.State != StateFailed || m.ErrorCode != "20500" || m.Attempts != 4 || m.optedOut {
		t.Errorf("got state %s code %q attempts %d; want failed, 20500, 4", m.State, m.ErrorCode, m.Attempts)
	}
	if n := f.postCount(); n != 4 {
		t.Errorf("server saw %d POSTs, want MaxAttempts = 4", n)
	}
}

func TestWorkerReconcilesPreviouslyClaimed(t *testing.T) {
	ctx := context.Background()
	crash := func(q *MemQueue, clk *clock) {
		// A worker claims the message and dies before recording anything.
		if msgs, _ := q.Claim(ctx, clk.Now(), 10, testLease); len(msgs) != 1 {
			t.Fatalf("claimed %d, want 1", len(msgs))
		}
		clk.Advance(testLease)
	}

	t.Run("already_at_twilio", func(t *testing.T) {
		f := newFakeTwilio(t)
		clk := newClock()
		q := NewMemQueue()
		q.Add("m1", testTo, "body", clk.Now())
		sid := f.add(testTo, "body", "sent") // the dead worker's send went through
		crash(q, clk)

		if sent := runOnce(t, newTestWorker(q, f.sender(t, testFrom), clk)); sent != 1 {
			t.Fatalf("sent = %d, want 1 (reconciled)", sent)
		}
		m := q.Get("m1")
		if m.State != StateSent || m.SID != sid || !m.PreviouslyClaimed {
			t.Errorf("got state %s sid %q previously claimed %v; want sent with %s", m.State, m.SID, m.PreviouslyClaimed, sid)
		}
		if n := f.postCount(); n != 0 {
			t.Errorf("server saw %d POSTs, want 0: the message was already sent", n)
		}
		if n := f.bodies()["body"]; n != 1 {
			t.Errorf("server holds the message %d times, want 1", n)
		}
	})

	t.Run("not_at_twilio", func(t *testing.T) {
		f := newFakeTwilio(t)
		clk := newClock()
		q := NewMemQueue()
		q.Add("m1", testTo, "body", clk.Now())
		crash(q, clk)

		runOnce(t, newTestWorker(q, f.sender(t, testFrom), clk))
		if m := q.Get("m1"); m.State != StateSent || f.postCount() != 1 {
			t.Errorf("got state %s after %d POSTs; want sent after 1", m.State, f.postCount())
		}
	})

	t.Run("twilio_unreachable", func(t *testing.T) {
		f := newFakeTwilio(t)
		clk := newClock()
		q := NewMemQueue()
		q.Add("m1", testTo, "body", clk.Now())
		crash(q, clk)
		s, err := NewTwilioSender(Config{AccountSID: testAccountSID, AuthToken: "ffffffffffffffffffffffffffffffff", From: testFrom, APIURL: f.url()})
		if err != nil {
			t.Fatal(err)
		}

		runOnce(t, newTestWorker(q, s, clk))
		if m := q.Get("m1"); m.State != StateQueued || m.ErrorCode != CodeUnreconciled || f.postCount() != 0 {
			t.Errorf("got state %s code %q after %d POSTs; want queued, %s, no POST", m.State, m.ErrorCode, f.postCount(), CodeUnreconciled)
		}
	})
}

func TestWorkerReconcilesAfterLostAnswer(t *testing.T) {
	f := newFakeTwilio(t)
	f.dropAfterCreate = 1 // Twilio takes the message; its answer never arrives
	clk := newClock()
	q := NewMemQueue()
	q.Add("m1", testTo, "body", clk.Now())
	w := newTestWorker(q, f.sender(t, testFrom), clk)

	runOnce(t, w)
	if m := q.Get("m1"); m.State != StateQueued || m.ErrorCode != CodeNetwork {
		t.Fatalf("got state %s code %q, want queued with %s", m.State, m.ErrorCode, CodeNetwork)
	}
	clk.Advance(time.Second)
	if sent := runOnce(t, w); sent != 1 {
		t.Fatalf("sent = %d, want 1 (reconciled)", sent)
	}
	if n := f.postCount(); n != 1 {
		t.Errorf("server saw %d POSTs, want 1: the second attempt must find the first", n)
	}
	if m := q.Get("m1"); m.State != StateSent || m.SID == "" {
		t.Errorf("got state %s sid %q, want sent with Twilio's sid", m.State, m.SID)
	}
}

func TestWorkersRaceSendEachOnce(t *testing.T) {
	f := newFakeTwilio(t)
	f.fail429 = 5
	q := NewMemQueue()
	const n = 60
	for i := range n {
		q.Add(fmt.Sprintf("m%02d", i), testTo, fmt.Sprintf("body %02d", i), time.Now())
	}
	s := f.sender(t, testFrom)
	var wg sync.WaitGroup
	for range 2 {
		w := &Worker{Queue: q, Sender: s, Log: quietLog(), Batch: 4, Lease: time.Minute,
			Backoff: func(int) time.Duration { return time.Millisecond }}
		wg.Go(func() {
			for q.pending() > 0 {
				if _, err := w.RunOnce(context.Background()); err != nil {
					t.Errorf("RunOnce: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	bodies := f.bodies()
	for i := range n {
		id, body := fmt.Sprintf("m%02d", i), fmt.Sprintf("body %02d", i)
		if bodies[body] != 1 {
			t.Errorf("server created %q %d times, want 1", body, bodies[body])
		}
		if m := q.Get(id); m.State != StateSent || m.marksSent != 1 {
			t.Errorf("%s: state %s marked sent %d times, want sent once", id, m.State, m.marksSent)
		}
	}
	if got := f.postCount(); got != n+5 {
		t.Errorf("server saw %d POSTs, want %d (each message once, plus 5 refused)", got, n+5)
	}
}

func TestWorkerRunWakesOnNotify(t *testing.T) {
	f := newFakeTwilio(t)
	q := NewMemQueue()
	w := &Worker{Queue: q, Sender: f.sender(t, testFrom), Log: quietLog(), Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	q.Add("m1", testTo, "body", time.Now())
	w.Notify()
	deadline := time.Now().Add(10 * time.Second)
	for q.Get("m1").State != StateSent {
		if time.Now().After(deadline) {
			t.Fatalf("message not sent after Notify: %+v", q.Get("m1").Message)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after ctx ends", err)
	}
}

func TestWorkerNotifyNeverBlocks(t *testing.T) {
	var w Worker
	for range 3 {
		w.Notify()
	}
}

// shutdownSender stops the worker while a send is in flight.
type shutdownSender struct {
	stop    context.CancelFunc
	succeed bool
}

func (s *shutdownSender) Send(ctx context.Context, to, body string) (Receipt, error) {
	s.stop()
	if s.succeed {
		return Receipt{SID: "SMdone", Status: "queued"}, nil
	}
	<-ctx.Done()
	return Receipt{}, &SendError{Message: ctx.Err().Error()}
}

func (s *shutdownSender) Find(context.Context, string, string) (Receipt, bool, error) {
	return Receipt{}, false, nil
}

func TestWorkerShutdownMidSend(t *testing.T) {
	t.Run("outcome_unknown_stays_leased", func(t *testing.T) {
		clk := newClock()
		q := NewMemQueue()
		q.Add("m1", testTo, "body", clk.Now())
		ctx, cancel := context.WithCancel(context.Background())
		w := newTestWorker(q, &shutdownSender{stop: cancel}, clk)
		w.RunOnce(ctx)
		if m := q.Get("m1"); m.State != StateSending || m.Attempts != 1 {
			t.Errorf("got state %s attempts %d; want sending, left for reconciliation", m.State, m.Attempts)
		}
	})
	t.Run("sent_is_recorded", func(t *testing.T) {
		clk := newClock()
		q := NewMemQueue()
		q.Add("m1", testTo, "body", clk.Now())
		ctx, cancel := context.WithCancel(context.Background())
		w := newTestWorker(q, &shutdownSender{stop: cancel, succeed: true}, clk)
		w.RunOnce(ctx)
		if m := q.Get("m1"); m.State != StateSent || m.SID != "SMdone" {
			t.Errorf("got state %s sid %q; want sent: it went out before shutdown", m.State, m.SID)
		}
	})
}

func TestWorkerWithOutbox(t *testing.T) {
	clk := newClock()
	q := NewMemQueue()
	q.Add("m1", testTo, "body", clk.Now())
	runOnce(t, newTestWorker(q, &OutboxSender{Log: quietLog()}, clk))
	if m := q.Get("m1"); m.State != StateSent || m.receipt.Status != "stored" {
		t.Errorf("got state %s receipt %+v; want sent, stored", m.State, m.receipt)
	}
}

func TestWorkerNeedsQueueAndSender(t *testing.T) {
	if _, err := (&Worker{}).RunOnce(context.Background()); err == nil {
		t.Error("RunOnce without Queue and Sender succeeded")
	}
	if err := (&Worker{}).Run(context.Background()); err == nil {
		t.Error("Run without Queue and Sender succeeded")
	}
}

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{1, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{2, 3200 * time.Millisecond, 4800 * time.Millisecond},
		{6, 51200 * time.Millisecond, 76800 * time.Millisecond},
		{10, 8 * time.Minute, 10 * time.Minute},
		{64, 8 * time.Minute, 10 * time.Minute},
	}
	for _, tt := range tests {
		for range 50 {
			if got := DefaultBackoff(tt.attempt); got < tt.min || got > tt.max {
				t.Fatalf("DefaultBackoff(%d) = %v, want within [%v, %v]", tt.attempt, got, tt.min, tt.max)
			}
		}
	}
}
