package sms

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemQueue is a Queue in memory, for this package's tests only: the real
// queue lives in the database and is tested there. Its leasing follows the
// Queue contract, so two workers over one MemQueue never hold one message
// at the same time.
type MemQueue struct {
	mu    sync.Mutex
	order []string
	msgs  map[string]*memMessage
}

type memMessage struct {
	Message
	leaseUntil time.Time
	receipt    Receipt
	optedOut   bool
	marksSent  int
}

func NewMemQueue() *MemQueue { return &MemQueue{msgs: map[string]*memMessage{}} }

var _ Queue = (*MemQueue)(nil)

// Add queues a message due at due.
func (q *MemQueue) Add(id, to, body string, due time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.order = append(q.order, id)
	q.msgs[id] = &memMessage{Message: Message{ID: id, To: to, Body: body, State: StateQueued, NextAttemptAt: due}}
}

// Get returns a copy of the message and what the queue recorded about it.
func (q *MemQueue) Get(id string) memMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return *q.msgs[id]
}

func (q *MemQueue) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Message
	for _, id := range q.order {
		if len(out) == n {
			break
		}
		m := q.msgs[id]
		queued := m.State == StateQueued && !m.NextAttemptAt.After(now)
		expired := m.State == StateSending && !m.leaseUntil.After(now)
		if !queued && !expired {
			continue
		}
		m.PreviouslyClaimed = expired
		m.State = StateSending
		m.leaseUntil = now.Add(lease)
		m.Attempts++
		out = append(out, m.Message)
	}
	return out, nil
}

func (q *MemQueue) MarkSent(ctx context.Context, id string, r Receipt) error {
	return q.update(id, func(m *memMessage) {
		m.State, m.SID, m.receipt = StateSent, r.SID, r
		m.ErrorCode, m.ErrorMessage = "", ""
		m.marksSent++
	})
}

func (q *MemQueue) MarkRetry(ctx context.Context, id string, next time.Time, code, msg string) error {
	return q.update(id, func(m *memMessage) {
		m.State, m.NextAttemptAt, m.ErrorCode, m.ErrorMessage = StateQueued, next, code, msg
	})
}

func (q *MemQueue) MarkFailed(ctx context.Context, id string, code, msg string, optedOut bool) error {
	return q.update(id, func(m *memMessage) {
		m.State, m.ErrorCode, m.ErrorMessage, m.optedOut = StateFailed, code, msg, optedOut
		if optedOut {
			m.State = StateOptedOut
		}
	})
}

// update changes a leased message; marking one not leased is a worker bug.
func (q *MemQueue) update(id string, f func(*memMessage)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.msgs[id]
	if !ok {
		return fmt.Errorf("memqueue: no message %s", id)
	}
	if m.State != StateSending {
		return fmt.Errorf("memqueue: message %s is %s, not sending", id, m.State)
	}
	f(m)
	m.leaseUntil = time.Time{}
	return nil
}

// pending counts messages not yet in a final state.
func (q *MemQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.msgs {
		if m.State == StateQueued || m.State == StateSending {
			n++
		}
	}
	return n
}

// clock is a settable Now for workers, so tests never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
