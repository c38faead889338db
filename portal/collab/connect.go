package collab

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"provportal/packages"
	"provportal/packages/activation"
	"provportal/portal"
	"provportal/portal/xmpp"
)

const (
	// firstFrameTimeout bounds how long a device may take to say logon or resume.
	firstFrameTimeout = 30 * time.Second
	// logonTimeout bounds the logon at the messaging server.
	logonTimeout = 30 * time.Second
	// sendTimeout bounds handing one stanza to the messaging server.
	sendTimeout = 15 * time.Second
	// maxFrame is the largest frame a device may send.
	maxFrame = 64 << 10
	// maxBody is the longest message text relayed.
	maxBody = 32 << 10
	// pingEvery is how often an idle messaging connection is checked.
	pingEvery = 5 * time.Minute
)

// connect serves one device's WebSocket from logon or resume to close.
func (s *Service) connect(c echo.Context) error {
	d, err := s.authenticate(c)
	if err != nil {
		return err
	}
	// A sealed logon is bound to this connection's challenge, so a recorded
	// one does not open on another.
	challenge := activation.NewLogonChallenge()
	c.Response().Header().Set(packages.CollaborationChallengeHeader, base64.RawURLEncoding.EncodeToString(challenge))
	ws, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{
		Subprotocols: []string{packages.CollaborationProtocol},
		// Chat frames are small and far apart: a compressor per message from
		// a pool costs less memory than one kept per connection.
		CompressionMode:      websocket.CompressionNoContextTakeover,
		CompressionThreshold: 256,
	})
	if err != nil {
		return nil // Accept has answered the request
	}
	defer ws.CloseNow()
	if ws.Subprotocol() != packages.CollaborationProtocol {
		ws.Close(websocket.StatusPolicyViolation, "speak "+packages.CollaborationProtocol)
		return nil
	}
	ws.SetReadLimit(maxFrame)
	// The WebSocket outlives the request's handler chain but not the server.
	ctx := context.WithoutCancel(c.Request().Context())

	first, err := readFirst(ctx, ws)
	if err != nil {
		return nil
	}
	link := newLink(ws)
	var sess *session
	switch first.Type {
	case packages.ChatLogon:
		sess = s.logon(ctx, d, first, challenge, link)
	case packages.ChatResume:
		sess = s.resume(d, first, link)
	default:
		s.refuseLink(link, d.ID, refuse(portal.CodeMalformed, "the first frame must be a logon or a resume, not %q", first.Type))
	}
	if sess == nil {
		s.drain(ctx, link)
		return nil
	}
	s.serve(ctx, sess, link)
	return nil
}

// authenticate checks the device token and that its device still exists
// for its user, before the WebSocket is accepted.
func (s *Service) authenticate(c echo.Context) (*portal.Device, error) {
	token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, portal.Errorf(portal.CodeUnauthenticated, "send the device token: Authorization: Bearer TOKEN")
	}
	claims, err := s.tokens.Parse(strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	d, err := s.store.Device(c.Request().Context(), claims.Subject)
	if portal.IsNotFound(err) || (err == nil && d.UserID != claims.UserID) {
		return nil, portal.Errorf(portal.CodeUnauthenticated, "this device is no longer registered; run the bootloader to log on again")
	}
	return d, err
}

func readFirst(ctx context.Context, ws *websocket.Conn) (packages.ChatFrame, error) {
	ctx, cancel := context.WithTimeout(ctx, firstFrameTimeout)
	defer cancel()
	var f packages.ChatFrame
	err := wsjson.Read(ctx, ws, &f)
	return f, err
}

// refuseLink tells the device why it is turned away, records it on the
// device's timeline and counts it, then closes the WebSocket.
func (s *Service) refuseLink(link *deviceLink, deviceID string, r *refusal) {
	s.metrics.refusals.WithLabelValues(string(r.code)).Inc()
	s.event(deviceID, portal.EventCollaborationRefused, map[string]any{"code": string(r.code), "message": r.msg})
	s.log.Info("collaboration: refused", "device", deviceID, "code", r.code, "reason", r.msg)
	status := websocket.StatusPolicyViolation
	if r.code == portal.CodeServerBusy || r.code == portal.CodeFailed {
		status = websocket.StatusTryAgainLater
	}
	link.finish(packages.ChatFrame{Type: packages.ChatRefused, Code: string(r.code), Message: r.msg, Reason: r.reason}, status)
}

// drain reads until the device acknowledges the close, so the refusal reaches it.
func (s *Service) drain(ctx context.Context, link *deviceLink) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if _, _, err := link.ws.Read(ctx); err != nil {
			break
		}
	}
	link.wait()
}

// logon admits a new session and logs on to the messaging server as the
// device's user, or refuses.
func (s *Service) logon(ctx context.Context, d *portal.Device, f packages.ChatFrame, challenge []byte, link *deviceLink) *session {
	fail := func(err error) *session {
		var r *refusal
		if !errors.As(err, &r) {
			s.log.Error("collaboration: logon", "device", d.ID, "err", err)
			r = refuse(portal.CodeInternal, "the portal could not take the logon; try again later")
		}
		s.refuseLink(link, d.ID, r)
		return nil
	}
	password, err := s.password(ctx, d.ID, f, challenge)
	if err != nil {
		return fail(err)
	}
	resource := f.Resource
	if resource == "" {
		resource = "portal-" + d.ID
	}
	if !resourceRE.MatchString(resource) {
		return fail(refuse(portal.CodeInvalid, "resource: must be 1 to 64 letters, digits or . _ -"))
	}
	u, err := s.store.User(ctx, d.UserID)
	if err != nil {
		return fail(err)
	}
	a, err := s.admit(ctx, d.UserID, d.ID)
	if err != nil {
		return fail(err)
	}
	for _, old := range a.evicted {
		go old.end(portal.EndEvicted, fmt.Sprintf("evicted: this device sent no status for %s and another logon needed its session", a.settings.IdleTimeout))
	}
	lctx, cancel := context.WithTimeout(ctx, logonTimeout)
	conn, err := s.dial(lctx, xmpp.Config{Host: a.settings.Server.Host, Port: a.settings.Server.Port, Domain: a.settings.Server.Domain,
		Username: localpart(u.Username), Password: password, Resource: resource, TLSConfig: s.tls, AllowPlaintext: true})
	cancel()
	if err != nil {
		s.release()
		return fail(messagingRefusal(err))
	}
	now := s.now()
	sess := &session{svc: s, id: uuid.Must(uuid.NewV7()).String(), resumeToken: rand.Text(), userID: u.ID, username: u.Username,
		deviceID: d.ID, deviceName: d.Name, since: now, lastStatus: now, conn: conn}
	for _, old := range s.add(sess) {
		go old.end(packages.ChatReplaced, "this device logged on again")
	}
	// Available, as any client is once logged on, so messages to the user's
	// bare address reach this session.
	pctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = conn.SendPresence(pctx, xmpp.Presence{})
	cancel()
	if err != nil {
		s.log.Warn("collaboration: initial presence", "session", sess.id, "err", err)
	}
	go sess.pump()
	sess.keepalive(pingEvery)
	s.metrics.logons.Inc()
	s.event(d.ID, portal.EventCollaborationLogon, map[string]any{"session_id": sess.id, "jid": conn.JID()})
	s.log.Info("collaboration: logon", "session", sess.id, "device", d.ID, "jid", conn.JID())
	if !sess.attach(link, s.accepted(sess, a.settings, false)) {
		return nil
	}
	return sess
}

// password is the messaging password of a logon: opened from its seal for
// a device that holds a collaboration key from its enterprise activation,
// as sent for any other. A device with a key must seal; one without cannot.
func (s *Service) password(ctx context.Context, deviceID string, f packages.ChatFrame, challenge []byte) (string, error) {
	stored, err := s.store.DeviceCollaborationKey(ctx, deviceID)
	if err != nil {
		return "", err
	}
	switch {
	case stored == nil && f.Sealed != nil:
		return "", refuse(portal.CodeCredentialsSealRejected, "this portal holds no collaboration key for this device: activate it again")
	case stored == nil && f.Password == "":
		return "", refuse(portal.CodeBadCredentials, "the messaging password is required")
	case stored == nil:
		return f.Password, nil
	case f.Password != "":
		return "", refuse(portal.CodeCredentialsNotSealed, "this device was enterprise-activated: it must seal its messaging password with its activation key")
	case f.Sealed == nil:
		return "", refuse(portal.CodeBadCredentials, "the messaging password is required, sealed with the device's activation key")
	}
	key, err := s.keys.Open(deviceID, stored)
	if err != nil {
		// The portal's signing key is not the one the key was sealed under.
		s.log.Error("collaboration: stored device key", "device", deviceID, "err", err)
		return "", refuse(portal.CodeCredentialsSealRejected, "this portal cannot use the collaboration key it holds for this device: activate it again")
	}
	plain, err := activation.OpenLogon(key, deviceID, challenge, f.Sealed)
	clear(key)
	if err != nil {
		s.log.Info("collaboration: sealed credentials refused", "device", deviceID, "err", err)
		return "", refuse(portal.CodeCredentialsSealRejected, "the sealed messaging credentials did not open: sealed for another connection, altered, or with another activation's key")
	}
	var creds packages.ChatCredentials
	err = json.Unmarshal(plain, &creds)
	clear(plain)
	switch {
	case err != nil:
		return "", refuse(portal.CodeMalformed, "the sealed messaging credentials are not a JSON object")
	case creds.Password == "":
		return "", refuse(portal.CodeBadCredentials, "the messaging password is required")
	}
	return creds.Password, nil
}

// messagingRefusal words a failed logon at the messaging server for the device.
func messagingRefusal(err error) *refusal {
	var se *xmpp.SASLError
	switch {
	case errors.Is(err, xmpp.ErrBadCredentials):
		return refuse(portal.CodeBadCredentials, "the messaging server refused the username or password")
	case errors.As(err, &se):
		return refuse(portal.CodeFailed, "failed: the messaging server refused the logon (%s)", se.Condition)
	case errors.Is(err, xmpp.ErrServerUnavailable):
		return refuse(portal.CodeFailed, "failed: the messaging server is not taking connections (it may be at its connection limit); try again later")
	case errors.Is(err, xmpp.ErrTLSRequired):
		return refuse(portal.CodeFailed, "failed: the messaging server does not offer TLS; ask your administrator")
	case errors.Is(err, context.DeadlineExceeded):
		return refuse(portal.CodeFailed, "failed: the messaging server did not answer in time; try again later")
	}
	return refuse(portal.CodeFailed, "failed: cannot log on to the messaging server: %v", err)
}

// accepted is the frame that admits a device to its session.
func (s *Service) accepted(sess *session, settings portal.CollaborationSettings, resumed bool) packages.ChatFrame {
	return packages.ChatFrame{Type: packages.ChatAccepted, SessionID: sess.id, ResumeToken: sess.resumeToken,
		JID: sess.conn.JID(), Resumed: resumed, StatusInterval: statusInterval(settings).String(),
		GraceWindow: settings.GraceWindow.String()}
}

// statusInterval is how often a device should send a status: a third of the
// idle timeout, so one lost heartbeat does not make it idle.
func statusInterval(cs portal.CollaborationSettings) portal.Duration {
	idle := time.Duration(cs.IdleTimeout)
	if idle <= 0 {
		return portal.Duration(time.Minute)
	}
	return portal.Duration(min(max(idle/3, time.Second), time.Minute).Round(time.Second))
}

// resume takes up a session in its grace window (or still attached, when
// the device noticed the cut before the portal did).
func (s *Service) resume(d *portal.Device, f packages.ChatFrame, link *deviceLink) *session {
	sess, ended := s.lookup(f.SessionID)
	switch {
	case sess != nil && sess.deviceID == d.ID && subtle.ConstantTimeCompare([]byte(sess.resumeToken), []byte(f.ResumeToken)) == 1:
	case ended != nil && ended.deviceID == d.ID:
		r := refuse(packages.ChatSessionEnded, "%s", ended.message)
		r.reason = ended.reason
		s.refuseLink(link, d.ID, r)
		return nil
	default:
		s.refuseLink(link, d.ID, refuse(packages.ChatSessionEnded, "no such session on this portal; log on again"))
		return nil
	}
	settings, err := s.store.CollaborationSettings(context.Background())
	if err != nil {
		s.log.Error("collaboration: resume", "session", sess.id, "err", err)
		s.refuseLink(link, d.ID, refuse(portal.CodeInternal, "the portal could not take the resume; try again later"))
		return nil
	}
	if !sess.attach(link, s.accepted(sess, settings, true)) {
		s.refuseLink(link, d.ID, refuse(packages.ChatSessionEnded, "the session ended; log on again"))
		return nil
	}
	s.metrics.resumes.Inc()
	s.event(d.ID, portal.EventCollaborationResumed, map[string]any{"session_id": sess.id})
	s.log.Info("collaboration: resumed", "session", sess.id, "device", d.ID)
	return sess
}

// serve relays the device's frames to the messaging server until the
// WebSocket closes; a close without a logoff starts the grace window.
//
// A device that sends nothing, not even a status, for three status
// intervals (and at least a minute) is taken to be out of coverage: its
// connection is dropped as if cut, rather than left to TCP to notice.
func (s *Service) serve(ctx context.Context, sess *session, link *deviceLink) {
	silence := time.Minute
	if settings, err := s.store.CollaborationSettings(ctx); err == nil {
		silence = max(3*time.Duration(statusInterval(settings)), silence)
	}
	for {
		var f packages.ChatFrame
		rctx, cancel := context.WithTimeout(ctx, silence)
		err := wsjson.Read(rctx, link.ws, &f)
		cancel()
		if err != nil {
			break
		}
		if f.Type == packages.ChatLogoff {
			sess.end(portal.EndLogoff, "logged off")
			s.drain(ctx, link)
			return
		}
		if errFrame, ok := s.relay(ctx, sess, f); !ok {
			link.send(errFrame)
		}
	}
	settings, err := s.store.CollaborationSettings(ctx)
	grace := time.Duration(settings.GraceWindow)
	if err != nil {
		s.log.Warn("collaboration: read the grace window", "err", err)
		grace = time.Duration(portal.DefaultCollaborationSettings().GraceWindow)
	}
	sess.detach(link, grace)
	link.finish(packages.ChatFrame{}, websocket.StatusGoingAway)
	link.wait()
}

// relay acts on one frame from the device; a refused frame answers an error frame.
func (s *Service) relay(ctx context.Context, sess *session, f packages.ChatFrame) (packages.ChatFrame, bool) {
	bad := func(code, format string, args ...any) (packages.ChatFrame, bool) {
		return packages.ChatFrame{Type: packages.ChatError, Code: code, ID: f.ID, Message: fmt.Sprintf(format, args...)}, false
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	switch f.Type {
	case packages.ChatStatus:
		sess.status()
		return packages.ChatFrame{}, true
	case packages.ChatMessage:
		to := s.address(sess, f.To)
		switch {
		case to == "" || strings.ContainsAny(to, " \t\r\n<>'\"&"):
			return bad(string(portal.CodeInvalid), "to: must be an address such as bob@example.com")
		case f.Body == "" || len(f.Body) > maxBody:
			return bad(string(portal.CodeInvalid), "body: must be 1 to %d bytes", maxBody)
		}
		if err := sess.conn.SendMessage(ctx, xmpp.Message{ID: f.ID, To: to, Body: f.Body}); err != nil {
			return bad(packages.ChatNotSent, "the message was not sent: %v", err)
		}
		return packages.ChatFrame{}, true
	case packages.ChatPresence:
		p := xmpp.Presence{To: s.address(sess, f.To), Type: f.PresenceType, Show: f.Show, Status: f.Status}
		if len(p.Status) > 1024 || strings.ContainsAny(p.To, " \t\r\n<>'\"&") {
			return bad(string(portal.CodeInvalid), "presence: status is at most 1024 bytes and to must be an address")
		}
		if err := sess.conn.SendPresence(ctx, p); err != nil {
			return bad(packages.ChatNotSent, "the presence was not sent: %v", err)
		}
		return packages.ChatFrame{}, true
	}
	return bad(string(portal.CodeMalformed), "a %q frame is not understood here", f.Type)
}

// address completes a bare user name with the session's messaging domain.
func (s *Service) address(sess *session, to string) string {
	to = strings.TrimSpace(to)
	if to == "" || strings.Contains(to, "@") {
		return to
	}
	jid := sess.conn.JID()
	_, domain, ok := strings.Cut(jid, "@")
	if !ok {
		return to
	}
	domain, _, _ = strings.Cut(domain, "/")
	return to + "@" + domain
}
