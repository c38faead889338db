package collab

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/xmpp"
)

// maxQueued bounds what is kept for a device while it is away; beyond it
// the oldest is dropped.
const maxQueued = 256

// session is one device's logon to the messaging server: the messaging
// connection, and the device's WebSocket while it is connected.
type session struct {
	svc         *Service
	id          string
	resumeToken string
	userID      string
	username    string
	deviceID    string
	deviceName  string
	since       time.Time
	conn        messenger

	mu         sync.Mutex
	lastStatus time.Time
	link       *deviceLink // nil while the device is away
	graceTimer *time.Timer
	graceUntil time.Time
	queued     []packages.ChatFrame
	dropped    int // frames dropped from a full queue since the device left
	ended      bool
}

func (sess *session) lastStatusAt() time.Time {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.lastStatus
}

// status records a heartbeat: the device is in coverage.
func (sess *session) status() {
	sess.mu.Lock()
	sess.lastStatus = sess.svc.now()
	sess.mu.Unlock()
}

// view is the session as the admin API shows it.
func (sess *session) view(now time.Time, idle time.Duration) portal.CollaborationSession {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	v := portal.CollaborationSession{ID: sess.id, UserID: sess.userID, Username: sess.username, DeviceID: sess.deviceID,
		DeviceName: sess.deviceName, JID: sess.conn.JID(), Since: sess.since, LastStatusAt: sess.lastStatus,
		State: portal.SessionActive, InCoverage: sess.link != nil}
	switch {
	case sess.link == nil:
		v.State = portal.SessionAway
		until := sess.graceUntil
		v.GraceUntil = &until
	case idle > 0 && now.Sub(sess.lastStatus) >= idle:
		v.State = portal.SessionIdle
	}
	return v
}

// attach makes link the device's connection, replacing any other, and
// hands it what was queued while the device was away. It reports false if
// the session has ended meanwhile.
func (sess *session) attach(link *deviceLink, accepted packages.ChatFrame) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.ended {
		return false
	}
	if old := sess.link; old != nil {
		old.finish(packages.ChatFrame{Type: packages.ChatEnded, Code: packages.ChatReplaced,
			Message: "this session was taken up by another connection from this device"}, websocket.StatusPolicyViolation)
	}
	if sess.graceTimer != nil {
		sess.graceTimer.Stop()
		sess.graceTimer = nil
	}
	sess.link = link
	sess.lastStatus = sess.svc.now()
	link.send(accepted)
	if sess.dropped > 0 {
		link.send(packages.ChatFrame{Type: packages.ChatError, Code: packages.ChatDropped,
			Message: "messages and presence arrived faster than they could be kept while this device was away; the oldest were dropped"})
		sess.dropped = 0
	}
	for _, f := range sess.queued {
		link.send(f)
	}
	sess.queued = nil
	return true
}

// detach is the device's connection going away without a logoff: the
// session waits for the device for the grace window. A link that is no
// longer the session's changes nothing.
func (sess *session) detach(link *deviceLink, grace time.Duration) {
	sess.mu.Lock()
	if sess.ended || sess.link != link {
		sess.mu.Unlock()
		return
	}
	sess.link = nil
	if grace <= 0 {
		sess.mu.Unlock()
		sess.end(portal.EndLogoff, "the device disconnected and there is no grace window")
		return
	}
	sess.graceUntil = sess.svc.now().Add(grace)
	sess.graceTimer = time.AfterFunc(grace, func() {
		sess.mu.Lock()
		away := sess.link == nil
		sess.mu.Unlock()
		if away {
			sess.end(portal.EndGraceExpired, "the device did not come back within the grace window")
		}
	})
	sess.mu.Unlock()
	sess.svc.log.Info("collaboration: device away", "session", sess.id, "device", sess.deviceID, "grace", grace)
}

// deliver hands a frame from the messaging server to the device, or keeps
// it while the device is away. A device too slow to take it is treated as
// gone: its session waits for it to come back.
func (sess *session) deliver(f packages.ChatFrame) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.ended {
		return
	}
	if sess.link != nil {
		if sess.link.send(f) {
			return
		}
		sess.link.finish(packages.ChatFrame{}, websocket.StatusTryAgainLater)
	}
	if len(sess.queued) >= maxQueued {
		sess.queued = sess.queued[1:]
		sess.dropped++
	}
	sess.queued = append(sess.queued, f)
}

// end logs the session off the messaging server and tells the device why, once.
func (sess *session) end(reason, msg string) {
	sess.mu.Lock()
	if sess.ended {
		sess.mu.Unlock()
		return
	}
	sess.ended = true
	link := sess.link
	sess.link = nil
	if sess.graceTimer != nil {
		sess.graceTimer.Stop()
	}
	sess.mu.Unlock()

	sess.svc.remove(sess, reason, msg)
	if link != nil {
		status := websocket.StatusNormalClosure
		if reason != portal.EndLogoff {
			status = websocket.StatusPolicyViolation
		}
		link.finish(packages.ChatFrame{Type: packages.ChatEnded, Code: reason, Message: msg}, status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if reason != portal.EndServerClosed {
		// Say goodbye as a client does, so contacts see the user go offline.
		_ = sess.conn.SendPresence(ctx, xmpp.Presence{Type: xmpp.PresenceUnavailable})
	}
	sess.conn.Close()
	event, detail := portal.EventCollaborationEnded, map[string]any{"session_id": sess.id, "reason": reason, "message": msg}
	if reason == portal.EndEvicted {
		event = portal.EventCollaborationEvicted
		sess.svc.metrics.evictions.Inc()
	}
	// An administrator's end is recorded with the administrator's name by the store.
	if reason != portal.EndByAdmin {
		sess.svc.event(sess.deviceID, event, detail)
	}
	sess.svc.log.Info("collaboration: session ended", "session", sess.id, "device", sess.deviceID, "reason", reason)
}

// pump relays what the messaging server sends until the connection ends.
func (sess *session) pump() {
	self := sess.conn.JID()
	for ev := range sess.conn.Events() {
		if p, ok := ev.(xmpp.Presence); ok && p.From == self {
			continue // the server's echo of the session's own presence
		}
		if f, ok := frameOf(ev); ok {
			sess.deliver(f)
		}
	}
	sess.end(portal.EndServerClosed, "the messaging server closed the connection; log on again")
}

// keepalive pings the messaging server every so often, so a connection
// that died quietly (a server restarted, a firewall's idle timeout) ends the
// session instead of swallowing messages. A timer, not a goroutine, waits
// between pings.
func (sess *session) keepalive(every time.Duration) {
	time.AfterFunc(every, func() {
		sess.mu.Lock()
		ended := sess.ended
		sess.mu.Unlock()
		if ended {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := sess.conn.Ping(ctx)
		cancel()
		if err != nil {
			sess.svc.log.Warn("collaboration: messaging server did not answer a ping", "session", sess.id, "err", err)
			sess.end(portal.EndServerClosed, "the messaging server stopped answering; log on again")
			return
		}
		sess.keepalive(every)
	})
}

// frameOf turns what the messaging server sent into a frame for the device.
func frameOf(ev xmpp.Event) (packages.ChatFrame, bool) {
	switch e := ev.(type) {
	case xmpp.Message:
		if e.Error != nil || e.Type == "error" {
			f := packages.ChatFrame{Type: packages.ChatError, Code: packages.ChatNotDelivered, From: e.From, ID: e.ID,
				Message: "the message to " + e.From + " was not delivered"}
			if e.Error != nil {
				f.Message += ": " + e.Error.Error()
			}
			return f, true
		}
		if e.Body == "" {
			return packages.ChatFrame{}, false // chat states and receipts carry no text
		}
		return packages.ChatFrame{Type: packages.ChatMessage, From: e.From, To: e.To, ID: e.ID, Body: e.Body}, true
	case xmpp.Presence:
		return packages.ChatFrame{Type: packages.ChatPresence, From: e.From, To: e.To, PresenceType: e.Type, Show: e.Show, Status: e.Status}, true
	}
	return packages.ChatFrame{}, false
}
