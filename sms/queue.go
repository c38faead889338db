package sms

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Message states in the send queue.
const (
	StateQueued      = "queued"      // waiting for a worker, maybe until NextAttemptAt
	StateSending     = "sending"     // leased by a worker
	StateSent        = "sent"        // the provider accepted it
	StateDelivered   = "delivered"   // the handset received it
	StateUndelivered = "undelivered" // the carrier could not deliver it
	StateFailed      = "failed"      // refused, or out of attempts
	StateOptedOut    = "opted_out"   // the recipient unsubscribed
)

// Message is one queued SMS as the worker sees it.
type Message struct {
	ID, To, Body string
	// Attempts counts claims, this one included: Claim increments it.
	Attempts int
	State    string
	SID      string
	// ErrorCode and ErrorMessage are from the last attempt (MarkRetry).
	// Claim must return them: the worker reconciles before sending again
	// after CodeNetwork or CodeUnreconciled.
	ErrorCode, ErrorMessage string
	NextAttemptAt           time.Time
	// PreviouslyClaimed: this claim takes over one whose lease expired, so
	// the message may have been sent just before a crash.
	PreviouslyClaimed bool
}

// Queue is the durable send queue, kept by the portal's storage.
type Queue interface {
	// Claim takes up to n messages due at now (queued with NextAttemptAt at
	// or before now, or sending with an expired lease) and leases them for
	// lease, so no other process takes them meanwhile. It moves them to
	// StateSending, increments Attempts, and sets PreviouslyClaimed on those
	// whose lease had expired.
	Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Message, error)
	// MarkSent records that the provider accepted the message (StateSent).
	MarkSent(ctx context.Context, id string, r Receipt) error
	// MarkRetry puts the message back (StateQueued) until next.
	MarkRetry(ctx context.Context, id string, next time.Time, code, msg string) error
	// MarkFailed ends the message: StateOptedOut when optedOut, else
	// StateFailed.
	MarkFailed(ctx context.Context, id string, code, msg string, optedOut bool) error
}

// Worker defaults.
const (
	DefaultMaxAttempts = 8
	DefaultBatch       = 10
	DefaultLease       = 2 * time.Minute
	DefaultInterval    = 5 * time.Second
)

// markTimeout bounds recording an outcome, which goes on after shutdown
// began: a message that went out must be recorded as sent.
const markTimeout = 10 * time.Second

// Worker takes messages from Queue and sends them with Sender. Any number of
// workers, in any number of processes, can share one Queue: the lease keeps
// them apart and Sender.Find covers a worker that died mid-send.
type Worker struct {
	Queue  Queue
	Sender Sender
	Log    *slog.Logger // nil: slog.Default()
	// MaxAttempts ends a message after this many attempts; default 8.
	MaxAttempts int
	// Backoff is the wait after the attempt-th attempt failed for a
	// transient reason; default DefaultBackoff. A longer Retry-After from
	// the provider wins.
	Backoff func(attempt int) time.Duration
	Now     func() time.Time // default time.Now
	// Batch is how many messages one claim takes; default 10. They are sent
	// one after another, so Twilio's rate limit is met with fewer 429s.
	Batch int
	// Lease is how long a claim holds its messages; default 2 minutes. A
	// batch stops sending at three quarters of it so that no message is
	// still being sent when another worker may take it.
	Lease time.Duration
	// Interval is how often Run looks for due messages; default 5 seconds.
	Interval time.Duration

	wakeOnce sync.Once
	wake     chan struct{}
}

// DefaultBackoff waits 2s·2^(attempt-1), capped at 10 minutes, with ±20 %
// jitter so that messages that failed together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	const base, ceiling = 2 * time.Second, 10 * time.Minute
	d := ceiling
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 {
		d = min(base<<(attempt-1), ceiling)
	}
	jittered := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(jittered, ceiling)
}

// Notify wakes Run: a message was queued. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wakeup() <- struct{}{}:
	default:
	}
}

func (w *Worker) wakeup() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Run sends due messages until ctx is done, waking every Interval and on
// Notify. A full batch is followed at once by the next. Queue errors are
// logged and retried at the next wake-up. It returns nil when ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	if w.Queue == nil || w.Sender == nil {
		return errors.New("sms: worker needs a Queue and a Sender")
	}
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	wake := w.wakeup()
	for {
		claimed, _, err := w.runBatch(ctx)
		if err != nil && ctx.Err() == nil {
			w.log().ErrorContext(ctx, "sms worker", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && claimed >= w.batch() {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
		}
	}
}

// RunOnce claims one batch and processes it. sent counts the messages
// recorded as sent, reconciled ones included. Queue errors are joined in
// err; send errors are not errors here, they are recorded on the message.
func (w *Worker) RunOnce(ctx context.Context) (sent int, err error) {
	if w.Queue == nil || w.Sender == nil {
		return 0, errors.New("sms: worker needs a Queue and a Sender")
	}
	_, sent, err = w.runBatch(ctx)
	return sent, err
}

func (w *Worker) runBatch(ctx context.Context) (claimed, sent int, err error) {
	msgs, err := w.Queue.Claim(ctx, w.now(), w.batch(), w.lease())
	if err != nil {
		return 0, 0, err
	}
	// Real time, not Now: the lease runs out by the clock other workers see.
	sendCtx, cancel := context.WithTimeout(ctx, w.lease()*3/4)
	defer cancel()
	var errs []error
	for i, m := range msgs {
		if sendCtx.Err() != nil {
			// Left leased: they come back as PreviouslyClaimed and are
			// reconciled, which costs a lookup, never a duplicate.
			if ctx.Err() == nil {
				w.log().WarnContext(ctx, "sms batch out of time", "left", len(msgs)-i)
			}
			break
		}
		ok, err := w.process(ctx, sendCtx, m)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return len(msgs), sent, errors.Join(errs...)
}

// process sends one claimed message and records the outcome. ok is true when
// the message was recorded as sent; err is a queue error. When ctx (the
// worker's life) ends mid-send, the outcome is unknown and nothing is
// recorded: the lease runs out and the next claim reconciles.
func (w *Worker) process(ctx, sendCtx context.Context, m Message) (ok bool, err error) {
	log := w.log().With("sms_id", m.ID, "attempt", m.Attempts)
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()

	if m.PreviouslyClaimed || m.ErrorCode == CodeNetwork || m.ErrorCode == CodeUnreconciled {
		r, found, err := w.Sender.Find(sendCtx, m.To, m.Body)
		if ctx.Err() != nil {
			return false, nil
		}
		if err != nil {
			se := asSendError(err)
			log.WarnContext(ctx, "sms reconcile failed", "err", se)
			return false, w.retry(markCtx, log, m, &SendError{
				HTTPStatus: se.HTTPStatus, Message: "reconcile: " + se.Message, RetryAfter: se.RetryAfter,
			}, CodeUnreconciled)
		}
		if found {
			log.InfoContext(ctx, "sms already sent; not sending again", "sid", r.SID)
			return w.markSent(markCtx, m, r)
		}
	}

	r, err := w.Sender.Send(sendCtx, m.To, m.Body)
	if err == nil {
		log.InfoContext(ctx, "sms sent", "sid", r.SID, "status", r.Status)
		return w.markSent(markCtx, m, r)
	}
	if ctx.Err() != nil {
		return false, nil
	}
	se := asSendError(err)
	if se.Permanent {
		log.WarnContext(ctx, "sms failed", "code", se.ErrorCode(), "err", se)
		return false, w.Queue.MarkFailed(markCtx, m.ID, se.ErrorCode(), se.Message, se.OptedOut())
	}
	return false, w.retry(markCtx, log, m, se, se.ErrorCode())
}

func (w *Worker) markSent(ctx context.Context, m Message, r Receipt) (bool, error) {
	if err := w.Queue.MarkSent(ctx, m.ID, r); err != nil {
		return false, err
	}
	return true, nil
}

// retry schedules another attempt after a transient failure, or ends the
// message when it has had its attempts.
func (w *Worker) retry(ctx context.Context, log *slog.Logger, m Message, se *SendError, code string) error {
	if m.Attempts >= w.maxAttempts() {
		log.WarnContext(ctx, "sms failed: out of attempts", "code", code, "err", se)
		return w.Queue.MarkFailed(ctx, m.ID, code, se.Message, false)
	}
	backoff := w.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	next := w.now().Add(max(backoff(m.Attempts), se.RetryAfter))
	log.InfoContext(ctx, "sms retry", "code", code, "next", next, "err", se)
	return w.Queue.MarkRetry(ctx, m.ID, next, code, se.Message)
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return DefaultBatch
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}
