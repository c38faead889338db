package bootloader

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"provportal/packages"
	"provportal/packages/activation"
)

// ChatOptions is what OpenChat needs. The portal, the route to it and the
// device token come from device.json, which a logon or an activation wrote.
type ChatOptions struct {
	// InstallDir holds device.json; empty: the installed client's own folder.
	InstallDir string
	// Executable is this bootloader's file, to find the default install dir; empty: os.Executable().
	Executable string
	// Password is the user's messaging password.
	Password string
	// Resource is the messaging resource to bind; empty: the portal names one after the device.
	Resource string
	// StatusInterval is how often a status heartbeat goes to the portal; 0: as the portal says.
	StatusInterval time.Duration
	// HTTPClient reaches the portal; nil: a client for the route in device.json.
	HTTPClient *http.Client
	// Notify, when set, hears about cuts and reconnections, in words for a person.
	Notify func(string)
}

// ChatRefused is the portal turning a logon or a resume away: Code is one of
// not_permitted, server_busy, failed, bad_credentials, session_ended, ...
type ChatRefused struct {
	Code    string
	Message string
	// Reason, for session_ended, is why the session ended: evicted, ended_by_admin, grace_expired, ...
	Reason string
}

func (e *ChatRefused) Error() string { return "collaboration refused (" + e.Code + "): " + e.Message }

// ChatEnded is the portal ending the session: Code is evicted,
// ended_by_admin, grace_expired, server_closed, replaced, shutdown, ...
type ChatEnded struct {
	Code    string
	Message string
}

func (e *ChatEnded) Error() string {
	return "collaboration session ended (" + e.Code + "): " + e.Message
}

// ErrChatAway is a send while the connection to the portal is cut: the
// session waits for the device, which is reconnecting.
var ErrChatAway = errors.New("not connected to the portal right now; reconnecting")

// errNoChallenge is a portal that gave no logon challenge to seal the
// messaging password to: an activated device does not log on there.
var errNoChallenge = errors.New("collaboration: the portal sent no logon challenge, so the messaging password cannot be sealed; is the portal up to date?")

// errLoggedOff ends the session's loop after a logoff.
var errLoggedOff = errors.New("logged off")

const (
	chatDialTimeout  = 30 * time.Second
	chatWriteTimeout = 15 * time.Second
	// chatRetryMax is the longest wait between two reconnection attempts.
	chatRetryMax = 5 * time.Second
)

// Chat is this device's collaboration session through its portal: it
// reconnects after a cut and resumes the same session within the grace
// window, so the portal keeps the messaging logon; after the window it logs
// on afresh.
type Chat struct {
	o      ChatOptions
	url    string
	header http.Header
	hc     *http.Client
	// deviceID and key seal the messaging password on an enterprise-activated
	// device; key is nil on any other.
	deviceID string
	key      []byte

	frames chan packages.ChatFrame
	done   chan struct{}

	mu         sync.Mutex
	ws         *websocket.Conn // nil while cut
	sessionID  string
	resume     string
	jid        string
	grace      time.Duration
	interval   time.Duration
	loggingOff bool
	err        error
}

// OpenChat logs on to the messaging server through the portal and returns
// the session once the portal has accepted it; a refusal is a *ChatRefused.
func OpenChat(ctx context.Context, o ChatOptions) (*Chat, error) {
	if o.Password == "" {
		return nil, errors.New("no messaging password")
	}
	c, err := newChat(o)
	if err != nil {
		return nil, err
	}
	ws, accepted, err := c.dial(ctx, packages.ChatFrame{Type: packages.ChatLogon, Password: o.Password, Resource: o.Resource})
	if err != nil {
		return nil, err
	}
	c.took(ws, accepted)
	go c.run(ws)
	go c.heartbeat()
	return c, nil
}

func newChat(o ChatOptions) (*Chat, error) {
	dir := o.InstallDir
	if dir == "" {
		exe := o.Executable
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		var err error
		if dir, err = DefaultInstallDir(exe); err != nil {
			return nil, err
		}
	}
	id, err := readIdentity(dir)
	if err != nil {
		return nil, err
	}
	if id.DeviceToken == "" || id.DeviceID == "" {
		return nil, fmt.Errorf("this device has not logged on to a portal from %s yet: run the bootloader first", dir)
	}
	base, hc, err := chatRoute(id)
	if err != nil {
		return nil, err
	}
	if o.HTTPClient != nil {
		hc = o.HTTPClient
	}
	ws := *base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	ws.Path = strings.TrimRight(ws.Path, "/") + packages.CollaborationRoute
	h := http.Header{}
	h.Set("Authorization", "Bearer "+id.DeviceToken)
	return &Chat{o: o, url: ws.String(), header: h, hc: hc, deviceID: id.DeviceID, key: id.CollaborationKey,
		frames: make(chan packages.ChatFrame, 256), done: make(chan struct{})}, nil
}

// chatRoute is the portal's URL and the HTTP client that reaches it, as
// device.json says: directly, or by alias through a relay (TLS to the portal
// inside, pinned to its key). An unsealed messaging password goes over plain
// HTTP only to this machine; a device with a collaboration key seals it, and
// may reach its portal over plain HTTP.
func chatRoute(id identity) (*url.URL, *http.Client, error) {
	if id.Alias != "" {
		relay, err := parseAddress("relay", id.Relay)
		if err != nil {
			return nil, nil, err
		}
		return &url.URL{Scheme: "https", Host: packages.RelayPortalHost}, newRelayRoute(relay, id.Alias, id.Fingerprint).client(), nil
	}
	u, err := url.Parse(id.PortalURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("device.json names no usable portal (%q): run the bootloader again", id.PortalURL)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) && len(id.CollaborationKey) == 0 {
		return nil, nil, fmt.Errorf("the portal %s is reached over plain HTTP: the messaging password is sent only over HTTPS", u.Redacted())
	}
	return u, newHTTPClient(), nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// dial opens the WebSocket, sends the first frame and reads the portal's answer.
func (c *Chat) dial(ctx context.Context, first packages.ChatFrame) (*websocket.Conn, packages.ChatFrame, error) {
	ctx, cancel := context.WithTimeout(ctx, chatDialTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{
		HTTPClient: c.hc, HTTPHeader: c.header, Subprotocols: []string{packages.CollaborationProtocol},
		CompressionMode: websocket.CompressionNoContextTakeover, CompressionThreshold: 256,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, packages.ChatFrame{}, readServerError(resp)
		}
		return nil, packages.ChatFrame{}, fmt.Errorf("cannot reach the portal's collaboration service: %w", err)
	}
	ws.SetReadLimit(1 << 20)
	if first.Type == packages.ChatLogon && c.key != nil {
		if first, err = c.seal(first, resp.Header); err != nil {
			ws.CloseNow()
			return nil, packages.ChatFrame{}, err
		}
	}
	if err := wsjson.Write(ctx, ws, first); err != nil {
		ws.CloseNow()
		return nil, packages.ChatFrame{}, fmt.Errorf("collaboration: %w", err)
	}
	var answer packages.ChatFrame
	if err := wsjson.Read(ctx, ws, &answer); err != nil {
		ws.CloseNow()
		return nil, packages.ChatFrame{}, fmt.Errorf("collaboration: the portal closed the connection before answering: %w", err)
	}
	switch answer.Type {
	case packages.ChatAccepted:
		return ws, answer, nil
	case packages.ChatRefused:
		ws.Close(websocket.StatusNormalClosure, "")
		return nil, packages.ChatFrame{}, &ChatRefused{Code: answer.Code, Message: answer.Message, Reason: answer.Reason}
	}
	ws.CloseNow()
	return nil, packages.ChatFrame{}, fmt.Errorf("collaboration: the portal answered %q, not accepted or refused", answer.Type)
}

// seal replaces the password of a logon with the credentials sealed with
// the device's collaboration key, bound to the challenge of this connection.
func (c *Chat) seal(logon packages.ChatFrame, h http.Header) (packages.ChatFrame, error) {
	challenge, err := base64.RawURLEncoding.DecodeString(h.Get(packages.CollaborationChallengeHeader))
	if err != nil || len(challenge) != activation.LogonChallengeSize {
		return logon, errNoChallenge
	}
	creds, err := json.Marshal(packages.ChatCredentials{Password: logon.Password})
	if err != nil {
		return logon, err
	}
	logon.Sealed, err = activation.SealLogon(c.key, c.deviceID, challenge, creds)
	clear(creds)
	if err != nil {
		return logon, fmt.Errorf("collaboration: seal the messaging password: %w", err)
	}
	logon.Password = ""
	return logon, nil
}

// took makes ws the session's connection after the portal accepted it.
func (c *Chat) took(ws *websocket.Conn, accepted packages.ChatFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws, c.sessionID, c.resume, c.jid = ws, accepted.SessionID, accepted.ResumeToken, accepted.JID
	c.grace, _ = time.ParseDuration(accepted.GraceWindow)
	if accepted.GraceWindow == "0" {
		c.grace = 0
	}
	c.interval = c.o.StatusInterval
	if c.interval <= 0 {
		if c.interval, _ = time.ParseDuration(accepted.StatusInterval); c.interval <= 0 {
			c.interval = time.Minute
		}
	}
	c.emit(accepted)
}

// emit hands a frame to the reader of Frames, dropping it if nobody keeps up.
func (c *Chat) emit(f packages.ChatFrame) {
	select {
	case c.frames <- f:
	default:
	}
}

// Frames delivers what the portal sends: accepted (again after each
// resume), message, presence and error frames, and last the ended frame,
// if the portal ended the session. It is closed when the session is over;
// Err then says why.
func (c *Chat) Frames() <-chan packages.ChatFrame { return c.frames }

// Done is closed when the session is over.
func (c *Chat) Done() <-chan struct{} { return c.done }

// Err is why the session is over: nil after a logoff, a *ChatEnded when
// the portal ended it, or what kept this device from coming back.
func (c *Chat) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(c.err, errLoggedOff) {
		return nil
	}
	return c.err
}

// SessionID is the session's ID at the portal; it changes only when a fresh logon replaced an expired session.
func (c *Chat) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// JID is the messaging address the session is logged on as.
func (c *Chat) JID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jid
}

// Send sends a message to a messaging address (a bare user name means one
// in the user's own domain).
func (c *Chat) Send(ctx context.Context, to, body string) error {
	return c.write(ctx, packages.ChatFrame{Type: packages.ChatMessage, To: to, Body: body})
}

// SetPresence tells the user's contacts how available they are: show is
// empty (online), away, chat, dnd or xa.
func (c *Chat) SetPresence(ctx context.Context, show, status string) error {
	return c.write(ctx, packages.ChatFrame{Type: packages.ChatPresence, Show: show, Status: status})
}

// SendFrame sends any frame a device may send: message, presence or status.
func (c *Chat) SendFrame(ctx context.Context, f packages.ChatFrame) error { return c.write(ctx, f) }

func (c *Chat) write(ctx context.Context, f packages.ChatFrame) error {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	select {
	case <-c.done:
		if err := c.Err(); err != nil {
			return err
		}
		return errLoggedOff
	default:
	}
	if ws == nil {
		return ErrChatAway
	}
	ctx, cancel := context.WithTimeout(ctx, chatWriteTimeout)
	defer cancel()
	if err := wsjson.Write(ctx, ws, f); err != nil {
		return ErrChatAway
	}
	return nil
}

// Logoff ends the session at the portal, which logs off the messaging server.
func (c *Chat) Logoff(ctx context.Context) error {
	c.mu.Lock()
	c.loggingOff = true
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		wctx, cancel := context.WithTimeout(ctx, chatWriteTimeout)
		err := wsjson.Write(wctx, ws, packages.ChatFrame{Type: packages.ChatLogoff})
		cancel()
		if err == nil {
			select {
			case <-c.done: // the portal closes once the session is over
			case <-time.After(chatWriteTimeout):
				ws.CloseNow()
			case <-ctx.Done():
				ws.CloseNow()
			}
		} else {
			ws.CloseNow()
		}
	}
	c.finish(errLoggedOff)
	return nil
}

// Close drops the connection without a logoff: the portal keeps the
// session for its grace window.
func (c *Chat) Close() {
	c.mu.Lock()
	c.loggingOff = true
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		ws.CloseNow()
	}
	c.finish(errLoggedOff)
}

func (c *Chat) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	c.err = err
	c.ws = nil
	close(c.done)
}

// run reads the session's frames, reconnecting after each cut, until the
// session is over.
func (c *Chat) run(ws *websocket.Conn) {
	defer close(c.frames)
	for {
		err := c.read(ws)
		c.mu.Lock()
		if c.ws == ws {
			c.ws = nil
		}
		loggingOff := c.loggingOff
		c.mu.Unlock()
		var ended *ChatEnded
		fresh := false
		switch {
		case loggingOff:
			c.finish(errLoggedOff)
			return
		case errors.As(err, &ended) && ended.Code == "shutdown":
			fresh = true // the portal restarted: its sessions are gone, not refused
		case errors.As(err, &ended):
			c.finish(ended)
			return
		}
		if ws = c.reconnect(fresh); ws == nil {
			return
		}
	}
}

// read passes frames on until the connection ends; an ended frame ends it
// with a *ChatEnded.
func (c *Chat) read(ws *websocket.Conn) error {
	for {
		var f packages.ChatFrame
		if err := wsjson.Read(context.Background(), ws, &f); err != nil {
			return err
		}
		c.emit(f)
		if f.Type == packages.ChatEnded {
			ws.Close(websocket.StatusNormalClosure, "")
			return &ChatEnded{Code: f.Code, Message: f.Message}
		}
	}
}

// reconnect comes back after a cut: it resumes the session while the grace
// window may still be open, and logs on afresh once it has closed (at once
// when fresh). It returns nil when the session is over for good.
func (c *Chat) reconnect(fresh bool) *websocket.Conn {
	c.mu.Lock()
	resumeBy := time.Now().Add(c.grace)
	c.mu.Unlock()
	if fresh {
		resumeBy = time.Time{}
	}
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		select {
		case <-c.done:
			return nil
		default:
		}
		c.mu.Lock()
		first := packages.ChatFrame{Type: packages.ChatResume, SessionID: c.sessionID, ResumeToken: c.resume}
		c.mu.Unlock()
		if time.Now().After(resumeBy) {
			first = packages.ChatFrame{Type: packages.ChatLogon, Password: c.o.Password, Resource: c.o.Resource}
		}
		c.notify(fmt.Sprintf("connection to the portal lost; %s (attempt %d)", map[bool]string{true: "resuming the session", false: "logging on again"}[first.Type == packages.ChatResume], attempt))
		ws, accepted, err := c.dial(context.Background(), first)
		var refused *ChatRefused
		switch {
		case err == nil:
			c.mu.Lock()
			gone := c.loggingOff
			c.mu.Unlock()
			if gone {
				ws.CloseNow()
				return nil
			}
			c.took(ws, accepted)
			c.notify(map[bool]string{true: "session resumed", false: "logged on again (a new session)"}[accepted.Resumed])
			return ws
		case errors.As(err, &refused) && refused.Code == packages.ChatSessionEnded && first.Type == packages.ChatResume && !endedForGood(refused.Reason):
			resumeBy = time.Time{} // the session is over: log on afresh at once
			continue
		case errors.As(err, &refused):
			c.emit(packages.ChatFrame{Type: packages.ChatRefused, Code: refused.Code, Message: refused.Message, Reason: refused.Reason})
			c.finish(refused)
			return nil
		case errors.Is(err, errNoChallenge):
			c.finish(err)
			return nil
		}
		var se *ServerError
		if errors.As(err, &se) && !se.transient() {
			c.finish(err)
			return nil
		}
		select {
		case <-c.done:
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, chatRetryMax)
	}
}

// endedForGood says whether the reason a session ended means this device
// should not simply log on again: an administrator ended it, it was evicted
// to make room for another, or the device logged on again elsewhere.
func endedForGood(reason string) bool {
	return reason == "evicted" || reason == "ended_by_admin" || reason == packages.ChatReplaced
}

func (c *Chat) notify(s string) {
	if c.o.Notify != nil {
		c.o.Notify(s)
	}
}

// heartbeat sends a status at the session's interval while connected, so
// the portal knows the device is in coverage.
func (c *Chat) heartbeat() {
	for {
		c.mu.Lock()
		every := c.interval
		c.mu.Unlock()
		select {
		case <-c.done:
			return
		case <-time.After(every):
		}
		_ = c.write(context.Background(), packages.ChatFrame{Type: packages.ChatStatus})
	}
}
