package collab

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"provportal/portal"
	"provportal/portal/auth"
)

// Store is what the service reads and records.
type Store interface {
	CollaborationSettings(ctx context.Context) (portal.CollaborationSettings, error)
	MayCollaborate(ctx context.Context, userID string) (bool, error)
	Device(ctx context.Context, id string) (*portal.Device, error)
	User(ctx context.Context, id string) (*portal.User, error)
	AddDeviceEvent(ctx context.Context, deviceID, stage, event string, detail map[string]any) error
	DeviceCollaborationKey(ctx context.Context, deviceID string) ([]byte, error)
}

// Config is what the service needs.
type Config struct {
	Store Store
	// Tokens checks device tokens (auth.NewDeviceTokens).
	Tokens *auth.Tokens
	// DeviceKeys opens enterprise-activated devices' stored collaboration keys.
	DeviceKeys *DeviceKeys
	// TLSConfig is used for STARTTLS to the messaging server; nil verifies
	// its certificate against the domain with the system roots.
	TLSConfig *tls.Config
	// Metrics registers the service's counters; nil registers nothing.
	Metrics prometheus.Registerer
	Log     *slog.Logger
}

// Service holds the live collaboration sessions of this portal process.
type Service struct {
	store   Store
	tokens  *auth.Tokens
	keys    *DeviceKeys
	tls     *tls.Config
	log     *slog.Logger
	metrics *metrics
	dial    dialFunc
	now     func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
	// reserved counts logons admitted but still logging on to the messaging server.
	reserved int
	// ended remembers why recent sessions ended, for a device that comes
	// back to resume one.
	ended map[string]endedSession
	// closed is set at shutdown: no more logons.
	closed bool
}

// endedSession is what a device learns when it tries to resume a session that ended.
type endedSession struct {
	deviceID string
	reason   string
	message  string
	at       time.Time
}

// endedMemory is how long the reason a session ended is kept for its device.
const endedMemory = 30 * time.Minute

// New makes the service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("collaboration: no store")
	case cfg.Tokens == nil:
		return nil, errors.New("collaboration: no device token checker")
	case cfg.DeviceKeys == nil:
		return nil, errors.New("collaboration: no device keys")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{
		store: cfg.Store, tokens: cfg.Tokens, keys: cfg.DeviceKeys, tls: cfg.TLSConfig, log: log,
		metrics: newMetrics(cfg.Metrics), dial: dialXMPP, now: time.Now,
		sessions: map[string]*session{}, ended: map[string]endedSession{},
	}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portal_collaboration_sessions", Help: "Live collaboration sessions held by this portal process.",
		}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.sessions))
		}))
	}
	return s, nil
}

// Register mounts the service on the device API's group (at /device/v1).
func (s *Service) Register(g *echo.Group) {
	g.GET("/collaboration", s.connect)
}

// Sessions lists the live sessions as an administrator sees them, oldest first.
func (s *Service) Sessions(ctx context.Context) ([]portal.CollaborationSession, error) {
	settings, err := s.store.CollaborationSettings(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	live := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		live = append(live, sess)
	}
	s.mu.Unlock()
	now := s.now()
	out := make([]portal.CollaborationSession, 0, len(live))
	for _, sess := range live {
		out = append(out, sess.view(now, time.Duration(settings.IdleTimeout)))
	}
	slices.SortFunc(out, func(a, b portal.CollaborationSession) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// EndSession ends a live session at an administrator's request and tells its device.
func (s *Service) EndSession(ctx context.Context, id string) (portal.CollaborationSession, error) {
	settings, err := s.store.CollaborationSettings(ctx)
	if err != nil {
		return portal.CollaborationSession{}, err
	}
	s.mu.Lock()
	sess := s.sessions[id]
	s.mu.Unlock()
	if sess == nil {
		return portal.CollaborationSession{}, portal.Errorf(portal.CodeNotFound, "collaboration session %s not found", id)
	}
	v := sess.view(s.now(), time.Duration(settings.IdleTimeout))
	sess.end(portal.EndByAdmin, "an administrator ended this session")
	return v, nil
}

// Shutdown ends every session, telling each device the portal is stopping.
// The HTTP server does not wait for WebSockets, so the portal calls this as
// it shuts down.
func (s *Service) Shutdown() {
	s.mu.Lock()
	s.closed = true
	live := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		live = append(live, sess)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sess := range live {
		wg.Go(func() { sess.end(portal.EndShutdown, "the portal is restarting; log on again in a moment") })
	}
	wg.Wait()
}

// refusal is a logon the service turns away, with the code the device sees.
type refusal struct {
	code portal.Code
	msg  string
	// reason, for a session_ended refusal, is why the session ended.
	reason string
}

func (r *refusal) Error() string { return string(r.code) + ": " + r.msg }

func refuse(code portal.Code, format string, args ...any) *refusal {
	return &refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

// admission is a logon let past the permission, the cap and the server's
// limit: it holds a reserved slot until it becomes a session or is released.
type admission struct {
	settings portal.CollaborationSettings
	evicted  []*session
}

// admit applies the permission, the session cap and the messaging server's
// limit, in that order. When the cap is reached and an idle timeout is set,
// it takes the sessions that sent no status within it out of the count,
// oldest status first, as many as the new logon needs, for the caller to
// end. Sessions of the same device do not count: the new logon replaces them.
func (s *Service) admit(ctx context.Context, userID, deviceID string) (*admission, error) {
	settings, err := s.store.CollaborationSettings(ctx)
	if err != nil {
		return nil, err
	}
	may, err := s.store.MayCollaborate(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !may {
		return nil, refuse(portal.CodeNotPermitted, "you may not use collaboration; ask your administrator to allow it for you or one of your groups")
	}
	if !settings.Server.Configured() {
		return nil, refuse(portal.CodeFailed, "no messaging server is configured on the portal; ask your administrator")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, refuse(portal.CodeFailed, "the portal is restarting; log on again in a moment")
	}
	s.forgetOldEnds(now)
	var counted []*session
	for _, sess := range s.sessions {
		if sess.deviceID != deviceID {
			counted = append(counted, sess)
		}
	}
	live := len(counted) + s.reserved
	a := &admission{settings: settings}
	switch max := settings.MaxSessions; {
	case max > 0 && live >= max:
		idle := time.Duration(settings.IdleTimeout)
		if idle <= 0 {
			return nil, refuse(portal.CodeServerBusy, "server busy: all %d collaboration sessions are in use; try again later", max)
		}
		var candidates []*session
		lastStatus := map[*session]time.Time{}
		for _, sess := range counted {
			if at := sess.lastStatusAt(); now.Sub(at) >= idle {
				candidates = append(candidates, sess)
				lastStatus[sess] = at
			}
		}
		need := live - max + 1
		if len(candidates) < need {
			return nil, refuse(portal.CodeServerBusy, "server busy: all %d collaboration sessions are in use and none is idle; try again later", max)
		}
		slices.SortFunc(candidates, func(a, b *session) int { return lastStatus[a].Compare(lastStatus[b]) })
		a.evicted = candidates[:need]
		for _, sess := range a.evicted {
			delete(s.sessions, sess.id)
		}
	case max == 0 && settings.Server.MaxConnections > 0 && live >= settings.Server.MaxConnections:
		return nil, refuse(portal.CodeFailed, "failed: the messaging server takes at most %d connections and all are in use; try again later",
			settings.Server.MaxConnections)
	}
	s.reserved++
	return a, nil
}

// release gives back an admission's slot.
func (s *Service) release() {
	s.mu.Lock()
	s.reserved--
	s.mu.Unlock()
}

// add makes an admitted logon a live session, in place of its slot, and
// returns the sessions of the same device it replaces.
func (s *Service) add(sess *session) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved--
	var replaced []*session
	for id, other := range s.sessions {
		if other.deviceID == sess.deviceID {
			replaced = append(replaced, other)
			delete(s.sessions, id)
		}
	}
	s.sessions[sess.id] = sess
	return replaced
}

// remove forgets a session that ended, remembering why for its device.
func (s *Service) remove(sess *session, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
	s.ended[sess.id] = endedSession{deviceID: sess.deviceID, reason: reason, message: msg, at: s.now()}
}

func (s *Service) forgetOldEnds(now time.Time) {
	for id, e := range s.ended {
		if now.Sub(e.at) > endedMemory {
			delete(s.ended, id)
		}
	}
}

// lookup finds the live session a device resumes, or why it ended.
func (s *Service) lookup(id string) (*session, *endedSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[id]; sess != nil {
		return sess, nil
	}
	if e, ok := s.ended[id]; ok {
		return nil, &e
	}
	return nil, nil
}

// event records a step on the device's timeline; a failure to record it
// does not stop the session.
func (s *Service) event(deviceID, event string, detail map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.AddDeviceEvent(ctx, deviceID, portal.StageCollaboration, event, detail); err != nil {
		s.log.Warn("collaboration: record timeline event", "device", deviceID, "event", event, "err", err)
	}
}

var resourceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// localpart is the user's name at the messaging server: the portal username,
// up to an @ if it is an e-mail address, in lower case.
func localpart(username string) string {
	name, _, _ := strings.Cut(username, "@")
	return strings.ToLower(name)
}
