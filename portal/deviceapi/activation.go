package deviceapi

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/packages"
	"provportal/packages/activation"
	"provportal/portal"
	"provportal/portal/organizer"
	"provportal/portal/web"
)

// Device statuses an activation moves through, in order.
const (
	StatusActivating          = "activating"
	StatusVerifyingEncryption = "verifying_encryption"
	StatusWaitingForServices  = "waiting_for_services"
	StatusServicesReceived    = "services_received"
	StatusITPolicyRejected    = "it_policy_rejected"
)

// Steps of an activation session.
const (
	stepStarted   = "started"
	stepExchanged = "exchanged"
	stepPolicy    = "policy_sent"
	stepServices  = "services_sent"
	stepInstalled = "installed"
	stepSyncing   = "syncing"
	stepSynced    = "synchronised"
	stepStopped   = "stopped"
)

// activationSessionTTL bounds an activation from its request to the end of
// its slow synchronisation.
const activationSessionTTL = time.Hour

// syncPageSize is how many organizer items one sealed sync page carries.
const syncPageSize = 50

var b64 = base64.RawURLEncoding

// exchangeState is what the portal keeps between the exchange and the
// confirmation: enough to derive the keys again, and nothing that reveals
// the password.
type exchangeState struct {
	SID        []byte `json:"sid"`
	DeviceKey  []byte `json:"device_key"`
	ISK        []byte `json:"isk,omitempty"`
	Transcript []byte `json:"transcript,omitempty"`
	Channel    []byte `json:"channel,omitempty"`
	// The last sealed request and the reply to it, so a device that lost
	// the reply (a cut connection) can send the same request again and get
	// the same reply, instead of being refused as a replay.
	LastSeq    uint64                  `json:"last_seq,omitempty"`
	LastDigest []byte                  `json:"last_digest,omitempty"`
	LastReply  *packages.SealedMessage `json:"last_reply,omitempty"`
	// CollaborationKey is the device's collaboration key, derived at the key
	// confirmation (the ISK is not kept past it) and sealed for storage,
	// until the services step gives the device its token and the key is
	// kept on the device.
	CollaborationKey []byte `json:"collaboration_key,omitempty"`
}

func (a *API) registerActivation(g *echo.Group) {
	g.POST("/activation/start", a.activationStart)
	g.POST("/activation/exchange", a.activationExchange)
	g.POST("/activation/confirm", a.activationConfirm)
	g.POST("/activation/message", a.activationMessage)
}

// fail records why a device's activation stopped, for the admin, and
// returns the error the device sees.
func (a *API) fail(ctx context.Context, deviceID, code string, err *portal.Error) error {
	msg := err.Msg
	if rerr := a.store.ReportDevice(ctx, deviceID, "failed", 0, nil, &portal.DeviceError{Code: code, Message: msg}); rerr != nil {
		return rerr
	}
	if rerr := a.store.AddDeviceEvent(ctx, deviceID, "failed", code, map[string]any{"message": msg}); rerr != nil {
		return rerr
	}
	return err
}

// passwordError explains a password that cannot be used.
func passwordError(state string) (string, *portal.Error) {
	switch state {
	case portal.ActivationExpired:
		return portal.FailActivationPasswordExpired, portal.Errorf(portal.CodeActivationPasswordExpired, "the activation password has expired; ask your administrator for a new activation password")
	case portal.ActivationUsed:
		return portal.FailActivationPasswordUsed, portal.Errorf(portal.CodeActivationPasswordUsed, "the activation password was already used; ask your administrator for a new activation password")
	case portal.ActivationTooManyAttempts:
		return portal.FailTooManyAttempts, portal.Errorf(portal.CodeTooManyAttempts, "too many failed attempts: the activation password no longer works; ask your administrator for a new activation password")
	}
	return portal.FailNoActivationPassword, portal.Errorf(portal.CodeNoActivationPassword, "no activation is pending for this e-mail address; ask your administrator for an activation password")
}

func (a *API) activationStart(c echo.Context) error {
	ctx := c.Request().Context()
	var req packages.ActivationStart
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	if addr, err := mail.ParseAddress(req.Email); err != nil || addr.Address != req.Email {
		return portal.Invalid("email", "must be an e-mail address")
	}
	deviceKey, err := b64.DecodeString(req.DeviceKey)
	if err != nil || len(deviceKey) != ed25519.PublicKeySize {
		return portal.Invalid("device_key", "must be a base64url Ed25519 public key")
	}
	if !portal.Platform(req.Device.Platform).Valid() && !platformRE.MatchString(req.Device.Platform) {
		return portal.Invalid("device.platform", "%q is not a platform", req.Device.Platform)
	}
	u, err := a.store.UserByEmail(ctx, req.Email)
	if portal.IsNotFound(err) {
		_, perr := passwordError("")
		return perr // nothing to record: no user to show it on
	}
	if err != nil {
		return err
	}
	d := portal.Device{ID: req.Device.ID, UserID: u.ID, Name: req.Device.Name, Platform: req.Device.Platform,
		OSVersion: req.Device.OSVersion, Status: StatusActivating}
	if err := a.store.RegisterDevice(ctx, &d); err != nil {
		return err
	}
	if err := a.store.ReportDevice(ctx, d.ID, StatusActivating, 0, nil, nil); err != nil {
		return err
	}
	if err := a.store.AddDeviceEvent(ctx, d.ID, StatusActivating, "request_received",
		map[string]any{"platform": d.Platform, "name": d.Name, "os_version": d.OSVersion, "routing": req.Routing}); err != nil {
		return err
	}
	p, err := a.store.ActivationPassword(ctx, u.ID)
	if portal.IsNotFound(err) {
		code, perr := passwordError("")
		return a.fail(ctx, d.ID, code, perr)
	}
	if err != nil {
		return err
	}
	if st := p.State(a.now()); st != portal.ActivationActive {
		code, perr := passwordError(st)
		return a.fail(ctx, d.ID, code, perr)
	}
	sid := make([]byte, 16)
	if _, err := rand.Read(sid); err != nil {
		return err
	}
	state, _ := json.Marshal(exchangeState{SID: sid, DeviceKey: deviceKey})
	sess := portal.ActivationSession{UserID: u.ID, DeviceID: d.ID, PasswordID: p.ID, Step: stepStarted, State: state,
		ExpiresAt: a.now().Add(activationSessionTTL)}
	if err := a.store.CreateActivationSession(ctx, &sess); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, packages.ActivationStarted{SessionID: sess.ID, Salt: b64.EncodeToString(p.Salt),
		KDFParams: p.KDFParams, PortalKey: b64.EncodeToString(a.key.Public().(ed25519.PublicKey)), SID: b64.EncodeToString(sid)})
}

// session loads a live activation session at the expected step.
func (a *API) session(ctx context.Context, id string, steps ...string) (*portal.ActivationSession, *exchangeState, error) {
	sess, err := a.store.ActivationSession(ctx, id)
	if err != nil {
		return nil, nil, portal.Errorf(portal.CodeNotFound, "no such activation; start again")
	}
	if !a.now().Before(sess.ExpiresAt) {
		return nil, nil, portal.Errorf(portal.CodeNotFound, "this activation took too long and was abandoned; start again")
	}
	ok := false
	for _, s := range steps {
		ok = ok || sess.Step == s
	}
	if !ok {
		return nil, nil, portal.Errorf(portal.CodeConflict, "this activation is at step %s; start again", sess.Step)
	}
	var st exchangeState
	if err := json.Unmarshal(sess.State, &st); err != nil {
		return nil, nil, fmt.Errorf("activation session %s: %w", id, err)
	}
	return sess, &st, nil
}

func (a *API) activationExchange(c echo.Context) error {
	ctx := c.Request().Context()
	var req packages.ActivationExchange
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, st, err := a.session(ctx, req.SessionID, stepStarted)
	if err != nil {
		return err
	}
	share, err := b64.DecodeString(req.Share)
	if err != nil || len(share) != activation.ShareSize {
		return portal.Invalid("share", "must be a base64url CPace share of %d bytes", activation.ShareSize)
	}
	// Every exchange spends an attempt until it is confirmed.
	p, ok, err := a.store.BeginActivationAttempt(ctx, sess.PasswordID, a.now())
	if err != nil {
		return err
	}
	if !ok {
		code, perr := passwordError(p.State(a.now()))
		return a.fail(ctx, sess.DeviceID, code, perr)
	}
	u, err := a.store.User(ctx, sess.UserID)
	if err != nil {
		return err
	}
	portalKey := []byte(a.key.Public().(ed25519.PublicKey))
	yb, isk, err := activation.Respond(p.PRS, packages.ActivationChannelID(a.fp, u.Email), st.SID, portalKey, share, st.DeviceKey)
	if errors.Is(err, activation.ErrInvalidShare) {
		return portal.Invalid("share", "the CPace share is not a valid group element")
	}
	if err != nil {
		return err
	}
	st.ISK = isk
	st.Transcript = activation.Transcript(share, st.DeviceKey, yb, portalKey)
	keys, err := activation.DeriveKeys(st.ISK, st.SID, st.Transcript)
	if err != nil {
		return err
	}
	if err := a.save(ctx, sess.ID, stepExchanged, st); err != nil {
		return err
	}
	if err := a.stage(ctx, sess.DeviceID, StatusVerifyingEncryption, 0, "key_generated", nil); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, packages.ActivationExchanged{Share: b64.EncodeToString(yb), Confirm: b64.EncodeToString(keys.ConfirmResponder())})
}

func (a *API) save(ctx context.Context, id, step string, st *exchangeState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return a.store.UpdateActivationSession(ctx, id, step, b)
}

// stage moves the device to a status and records the event behind it.
func (a *API) stage(ctx context.Context, deviceID, status string, progress int, event string, detail map[string]any) error {
	if err := a.store.ReportDevice(ctx, deviceID, status, progress, nil, nil); err != nil {
		return err
	}
	return a.store.AddDeviceEvent(ctx, deviceID, status, event, detail)
}

func (a *API) activationConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	var req packages.ActivationConfirm
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, st, err := a.session(ctx, req.SessionID, stepExchanged)
	if err != nil {
		return err
	}
	tag, _ := b64.DecodeString(req.Confirm)
	keys, err := activation.DeriveKeys(st.ISK, st.SID, st.Transcript)
	if err != nil {
		return err
	}
	if !keys.VerifyInitiator(tag) {
		p, err := a.store.FailActivationAttempt(ctx, sess.PasswordID)
		if err != nil {
			return err
		}
		if err := a.save(ctx, sess.ID, stepStopped, &exchangeState{}); err != nil {
			return err
		}
		if p.State(a.now()) == portal.ActivationTooManyAttempts {
			code, perr := passwordError(portal.ActivationTooManyAttempts)
			return a.fail(ctx, sess.DeviceID, code, perr)
		}
		left := portal.MaxActivationFailures - p.Failures
		return a.fail(ctx, sess.DeviceID, portal.FailKeyConfirmation,
			portal.Errorf(portal.CodeActivationIncorrect, "activation password incorrect (%d attempts left)", left))
	}
	won, err := a.store.ConsumeActivationPassword(ctx, sess.PasswordID, a.now())
	if err != nil {
		return err
	}
	if !won {
		code, perr := passwordError(portal.ActivationUsed)
		return a.fail(ctx, sess.DeviceID, code, perr)
	}
	ch, err := activation.NewChannel(keys, activation.Responder)
	if err != nil {
		return err
	}
	collabKey, err := a.collaborationKey(keys, sess.DeviceID)
	if err != nil {
		return err
	}
	if err := a.store.AddDeviceEvent(ctx, sess.DeviceID, StatusVerifyingEncryption, "key_accepted", nil); err != nil {
		return err
	}
	u, err := a.store.User(ctx, sess.UserID)
	if err != nil {
		return err
	}
	as, err := a.store.AssignedTo(ctx, u.ID)
	if err != nil {
		return err
	}
	d, err := a.store.Device(ctx, sess.DeviceID)
	if err != nil {
		return err
	}
	policy := packages.Policy{Rules: portal.MergeRules(as.Policies).For(d.Platform), Sources: []string{}}
	for _, p := range as.Policies {
		policy.Sources = append(policy.Sources, p.Name)
	}
	out, err := a.seal(ch, sess.ID, packages.ActivationPayload{Type: packages.MsgITPolicy, Policy: &policy})
	if err != nil {
		return err
	}
	state, err := ch.MarshalState()
	if err != nil {
		return err
	}
	if err := a.save(ctx, sess.ID, stepPolicy, &exchangeState{Channel: state, CollaborationKey: collabKey}); err != nil {
		return err
	}
	if err := a.stage(ctx, sess.DeviceID, StatusWaitingForServices, 0, "policy_sent", map[string]any{"rules": len(policy.Rules), "sources": policy.Sources}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) seal(ch *activation.Channel, sessionID string, p packages.ActivationPayload) (packages.SealedMessage, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return packages.SealedMessage{}, err
	}
	env := ch.Seal(b, []byte(sessionID))
	return packages.SealedMessage{SessionID: sessionID, Seq: env.Seq, CT: base64.StdEncoding.EncodeToString(env.CT)}, nil
}

// collaborationKey derives the device's collaboration key from the
// confirmed activation and seals it for storage; nil when this portal keeps
// no collaboration keys.
func (a *API) collaborationKey(keys *activation.Keys, deviceID string) ([]byte, error) {
	if a.collabKeys == nil {
		return nil, nil
	}
	k, err := keys.CollaborationKey(activation.Responder, deviceID, a.fp)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return a.collabKeys.Seal(deviceID, k)
}

// activationMessage takes every sealed step after the key confirmation.
func (a *API) activationMessage(c echo.Context) error {
	ctx := c.Request().Context()
	var req packages.SealedMessage
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	sess, st, err := a.session(ctx, req.SessionID, stepPolicy, stepServices, stepInstalled, stepSyncing, stepSynced)
	if err != nil {
		return err
	}
	ch, err := activation.RestoreChannel(st.Channel)
	if err != nil {
		return err
	}
	ct, err := base64.StdEncoding.DecodeString(req.CT)
	if err != nil {
		return portal.Errorf(portal.CodeSealedMessageRejected, "the sealed message is not base64")
	}
	digest := sha256.Sum256(ct)
	if st.LastReply != nil && req.Seq == st.LastSeq && hmac.Equal(digest[:], st.LastDigest) {
		return c.JSON(http.StatusOK, st.LastReply)
	}
	plain, err := ch.Open(activation.Envelope{Seq: req.Seq, CT: ct}, []byte(sess.ID))
	if err != nil {
		_ = a.store.AddDeviceEvent(ctx, sess.DeviceID, "failed", "sealed_message_rejected", map[string]any{"reason": err.Error()})
		return &portal.Error{Code: portal.CodeSealedMessageRejected, Msg: "the sealed message was replayed, reordered or altered", Err: err}
	}
	var in packages.ActivationPayload
	if err := json.Unmarshal(plain, &in); err != nil {
		return portal.Errorf(portal.CodeMalformed, "the sealed message is not a JSON object")
	}
	reply, step, err := a.step(ctx, sess, st, in)
	if err != nil {
		return err
	}
	out, err := a.seal(ch, sess.ID, reply)
	if err != nil {
		return err
	}
	state, err := ch.MarshalState()
	if err != nil {
		return err
	}
	if err := a.save(ctx, sess.ID, step, &exchangeState{Channel: state, LastSeq: req.Seq, LastDigest: digest[:], LastReply: &out}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// step acts on one sealed message from the device and returns the reply and the session's next step.
func (a *API) step(ctx context.Context, sess *portal.ActivationSession, st *exchangeState, in packages.ActivationPayload) (packages.ActivationPayload, string, error) {
	switch {
	case in.Type == packages.MsgPolicyResult && sess.Step == stepPolicy:
		if !in.Accepted {
			return a.policyRejected(ctx, sess, in.Rejected)
		}
		if err := a.store.AddDeviceEvent(ctx, sess.DeviceID, StatusWaitingForServices, "policy_accepted", nil); err != nil {
			return packages.ActivationPayload{}, "", err
		}
		return a.services(ctx, sess, st, in.CollaborationKey)
	case in.Type == packages.MsgInstalled && sess.Step == stepServices:
		if len(in.Installed) > 1000 {
			return packages.ActivationPayload{}, "", portal.Invalid("installed", "lists too many apps")
		}
		if err := a.store.ReportDevice(ctx, sess.DeviceID, packages.StatusActivationComplete, 100, in.Installed, nil); err != nil {
			return packages.ActivationPayload{}, "", err
		}
		if err := a.store.AddDeviceEvent(ctx, sess.DeviceID, packages.StatusActivationComplete, "activation_complete", map[string]any{"installed": in.Installed}); err != nil {
			return packages.ActivationPayload{}, "", err
		}
		return packages.ActivationPayload{Type: packages.MsgDone}, stepInstalled, nil
	case in.Type == packages.MsgSyncRequest && (sess.Step == stepInstalled || sess.Step == stepSyncing || sess.Step == stepSynced):
		return a.syncPage(ctx, sess, in.Cursor)
	case in.Type == packages.MsgBackup && (sess.Step == stepInstalled || sess.Step == stepSyncing || sess.Step == stepSynced):
		return a.backup(ctx, sess, in.Options)
	}
	return packages.ActivationPayload{}, "", portal.Errorf(portal.CodeConflict, "a %q message does not fit this activation's step (%s)", in.Type, sess.Step)
}

func (a *API) policyRejected(ctx context.Context, sess *portal.ActivationSession, rejected []packages.RejectedRule) (packages.ActivationPayload, string, error) {
	var parts []string
	for _, r := range rejected {
		if len(parts) < 20 {
			parts = append(parts, fmt.Sprintf("%.64s (%.200s)", r.Rule, r.Reason))
		}
	}
	msg := "IT policy rejected: the device cannot enforce " + strings.Join(parts, ", ")
	derr := &portal.DeviceError{Code: portal.FailITPolicyRejected, Message: msg}
	if err := a.store.ReportDevice(ctx, sess.DeviceID, StatusITPolicyRejected, 0, nil, derr); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	if err := a.store.AddDeviceEvent(ctx, sess.DeviceID, StatusITPolicyRejected, "policy_rejected", map[string]any{"rules": rejected}); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	return packages.ActivationPayload{Type: packages.MsgStop, Stop: &packages.StatusError{Code: portal.FailITPolicyRejected, Message: msg}}, stepStopped, nil
}

// services hands the device its service books, its signed package manifest
// and a device token to fetch the apps with. When the device said it keeps
// a collaboration key, the portal keeps its own from the key confirmation,
// and says so; otherwise the device has none from now on, and the portal
// forgets any an earlier activation left.
func (a *API) services(ctx context.Context, sess *portal.ActivationSession, st *exchangeState, deviceKeeps bool) (packages.ActivationPayload, string, error) {
	d, err := a.store.Device(ctx, sess.DeviceID)
	if err != nil {
		return packages.ActivationPayload{}, "", err
	}
	m, err := a.build(ctx, d)
	if err != nil {
		return packages.ActivationPayload{}, "", err
	}
	m.GeneratedAt = a.now().UTC().Truncate(time.Second)
	jws, err := packages.SignManifest(*m, a.key, a.manTTL)
	if err != nil {
		return packages.ActivationPayload{}, "", err
	}
	token, _, err := a.tokens.IssueDevice(d.ID, d.UserID)
	if err != nil {
		return packages.ActivationPayload{}, "", err
	}
	var collabKey []byte
	if deviceKeeps {
		collabKey = st.CollaborationKey
	}
	if err := a.store.SetDeviceCollaborationKey(ctx, d.ID, collabKey); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	if err := a.stage(ctx, d.ID, StatusServicesReceived, 0, "service_books_sent", map[string]any{"apps": len(m.Apps), "service_books": len(m.ServiceBooks),
		"collaboration_key": collabKey != nil}); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	return packages.ActivationPayload{Type: packages.MsgServices, ServiceBooks: m.ServiceBooks, Manifest: jws,
		DeviceToken: token, DeviceID: d.ID, CollaborationKey: collabKey != nil}, stepServices, nil
}

// syncCursor is where a slow synchronisation stands: the kind (an index in
// organizer.SyncOrder) and the last item ID delivered of it.
type syncCursor struct {
	kind  int
	after int64
}

func parseCursor(s string) (syncCursor, error) {
	if s == "" {
		return syncCursor{}, nil
	}
	var c syncCursor
	if _, err := fmt.Sscanf(s, "%d:%d", &c.kind, &c.after); err != nil || c.kind < 0 || c.kind >= len(organizer.SyncOrder) || c.after < 0 {
		return c, portal.Invalid("cursor", "is not a cursor this portal gave")
	}
	return c, nil
}

// syncPage delivers the next page of the user's organizer data, calendar
// first, and the progress of the whole synchronisation.
func (a *API) syncPage(ctx context.Context, sess *portal.ActivationSession, cursor string) (packages.ActivationPayload, string, error) {
	cur, err := parseCursor(cursor)
	if err != nil {
		return packages.ActivationPayload{}, "", err
	}
	if cursor == "" {
		if err := a.store.AddDeviceEvent(ctx, sess.DeviceID, "slow_sync", "slow_sync_started", nil); err != nil {
			return packages.ActivationPayload{}, "", err
		}
	}
	var items []packages.SyncItem
	for cur.kind < len(organizer.SyncOrder) && len(items) < syncPageSize {
		kind := string(organizer.SyncOrder[cur.kind])
		page, err := a.store.OrganizerItems(ctx, sess.UserID, kind, cur.after, syncPageSize-len(items))
		if err != nil {
			return packages.ActivationPayload{}, "", err
		}
		for _, it := range page {
			items = append(items, packages.SyncItem{Kind: it.Kind, UID: it.UID, Summary: it.Summary, Data: it.Data})
			cur.after = it.ID
		}
		if len(items) < syncPageSize {
			cur.kind, cur.after = cur.kind+1, 0
		}
	}
	progress, err := a.syncProgress(ctx, sess.UserID, cur)
	if err != nil {
		return packages.ActivationPayload{}, "", err
	}
	reply := packages.ActivationPayload{Type: packages.MsgSyncPage, Items: items, Progress: progress}
	if cur.kind < len(organizer.SyncOrder) {
		reply.Next = fmt.Sprintf("%d:%d", cur.kind, cur.after)
		return reply, stepSyncing, a.store.ReportDevice(ctx, sess.DeviceID, "slow_sync", progress, nil, nil)
	}
	reply.Progress = 100
	if err := a.stage(ctx, sess.DeviceID, "synchronised", 100, "slow_sync_complete", nil); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	return reply, stepSynced, nil
}

// syncProgress is the share of the user's items delivered before cur, in percent.
func (a *API) syncProgress(ctx context.Context, userID string, cur syncCursor) (int, error) {
	counts, err := a.store.CountOrganizerItems(ctx, userID)
	if err != nil {
		return 0, err
	}
	total, done := 0, 0
	for i, k := range organizer.SyncOrder {
		total += counts[string(k)]
		if i < cur.kind {
			done += counts[string(k)]
		}
	}
	if cur.kind < len(organizer.SyncOrder) && cur.after > 0 {
		n, err := a.store.CountOrganizerItemsUpTo(ctx, userID, string(organizer.SyncOrder[cur.kind]), cur.after)
		if err != nil {
			return 0, err
		}
		done += n
	}
	if total == 0 {
		return 100, nil
	}
	return done * 100 / total, nil
}

// backup keeps the device's options, which the user's next activation restores.
func (a *API) backup(ctx context.Context, sess *portal.ActivationSession, options []packages.SyncItem) (packages.ActivationPayload, string, error) {
	if len(options) > 1000 {
		return packages.ActivationPayload{}, "", portal.Invalid("options", "at most 1000 options")
	}
	items := make([]portal.OrganizerItem, 0, len(options))
	for _, o := range options {
		if o.UID == "" || len(o.UID) > 200 || len(o.Data) > 64<<10 || !json.Valid(o.Data) {
			return packages.ActivationPayload{}, "", portal.Invalid("options", "each option needs a uid and JSON data under 64 KiB")
		}
		items = append(items, portal.OrganizerItem{Kind: string(organizer.KindOptions), UID: o.UID, Summary: o.Summary, Data: o.Data})
	}
	if _, _, err := a.store.PutOrganizerItems(ctx, sess.UserID, items); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	if err := a.store.AddDeviceEvent(ctx, sess.DeviceID, "slow_sync", "options_backed_up", map[string]any{"options": len(items)}); err != nil {
		return packages.ActivationPayload{}, "", err
	}
	return packages.ActivationPayload{Type: packages.MsgDone}, sess.Step, nil
}
