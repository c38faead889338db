package bootloader

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"provportal/packages"
	"provportal/packages/activation"
)

// Enterprise activation routes (see packages/activation_wire.go).
const (
	routeActivationStart    = "/device/v1/activation/start"
	routeActivationExchange = "/device/v1/activation/exchange"
	routeActivationConfirm  = "/device/v1/activation/confirm"
	routeActivationMessage  = "/device/v1/activation/message"
)

var b64 = base64.RawURLEncoding

// activationSession is an activation after its keys are confirmed.
type activationSession struct {
	pc        *portalClient
	id        string
	channel   *activation.Channel
	portalKey ed25519.PublicKey
	// keys stay for the collaboration key, which needs the device ID the
	// portal gives only with the services.
	keys *activation.Keys
}

// refused words a portal's refusal of an activation step for a person.
func refused(err error) error {
	var se *ServerError
	if errors.As(err, &se) && se.Message != "" {
		return errors.New("activation refused: " + se.Message)
	}
	return err
}

// activate runs the key exchange with the activation password and returns
// the sealed session, the portal's key now proven by the exchange, and the
// IT policy the portal sent.
func activate(ctx context.Context, c *config, pc *portalClient, out io.Writer, deviceID string) (*activationSession, *packages.Policy, error) {
	devicePub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	var started packages.ActivationStarted
	err = pc.call(ctx, http.MethodPost, routeActivationStart, packages.ActivationStart{
		Email: c.email, Device: deviceInfo(deviceID), Routing: c.routing(),
		DeviceKey: b64.EncodeToString(devicePub),
	}, &started)
	if err != nil {
		return nil, nil, refused(err)
	}
	portalKey, err := b64.DecodeString(started.PortalKey)
	if err != nil || len(portalKey) != ed25519.PublicKeySize {
		return nil, nil, errors.New("activation: the portal sent a malformed key")
	}
	fp := packages.Fingerprint(portalKey)
	if c.fingerprint != "" && fp != c.fingerprint {
		return nil, nil, fmt.Errorf("activation: the portal's key %s is not the pinned %s", fp, c.fingerprint)
	}
	var params activation.Argon2Params
	if err := json.Unmarshal([]byte(started.KDFParams), &params); err != nil || params.Validate() != nil {
		return nil, nil, errors.New("activation: the portal sent unusable key derivation parameters")
	}
	salt, err1 := b64.DecodeString(started.Salt)
	sid, err2 := b64.DecodeString(started.SID)
	if err1 != nil || err2 != nil || len(sid) == 0 {
		return nil, nil, errors.New("activation: the portal's answer is malformed")
	}
	fmt.Fprintln(out, "Deriving the key from the activation password...")
	prs := activation.PRS(c.activationPassword, salt, params)
	party, ya, err := activation.Start(prs, packages.ActivationChannelID(fp, c.email), sid, devicePub)
	if err != nil {
		return nil, nil, err
	}
	var exchanged packages.ActivationExchanged
	if err := pc.call(ctx, http.MethodPost, routeActivationExchange, packages.ActivationExchange{SessionID: started.SessionID, Share: b64.EncodeToString(ya)}, &exchanged); err != nil {
		return nil, nil, refused(err)
	}
	yb, err1 := b64.DecodeString(exchanged.Share)
	tb, err2 := b64.DecodeString(exchanged.Confirm)
	if err1 != nil || err2 != nil {
		return nil, nil, errors.New("activation: the portal's answer is malformed")
	}
	isk, err := party.Finish(yb, portalKey)
	if err != nil {
		return nil, nil, fmt.Errorf("activation: %w", err)
	}
	keys, err := activation.DeriveKeys(isk, sid, activation.Transcript(ya, devicePub, yb, portalKey))
	if err != nil {
		return nil, nil, err
	}
	// The tag goes to the portal even when the portal's tag is wrong, so the
	// portal records the failed attempt and tells the administrator why.
	portalProved := keys.VerifyResponder(tb)
	var sealed packages.SealedMessage
	err = pc.call(ctx, http.MethodPost, routeActivationConfirm, packages.ActivationConfirm{SessionID: started.SessionID, Confirm: b64.EncodeToString(keys.ConfirmInitiator())}, &sealed)
	if err != nil {
		return nil, nil, refused(err)
	}
	if !portalProved {
		return nil, nil, errors.New("activation: the portal could not prove it knows the activation password; not trusting it")
	}
	ch, err := activation.NewChannel(keys, activation.Initiator)
	if err != nil {
		return nil, nil, err
	}
	s := &activationSession{pc: pc, id: started.SessionID, channel: ch, portalKey: portalKey, keys: keys}
	msg, err := s.open(sealed)
	if err != nil {
		return nil, nil, err
	}
	if msg.Type != packages.MsgITPolicy || msg.Policy == nil {
		return nil, nil, fmt.Errorf("activation: expected the IT policy, got %q", msg.Type)
	}
	fmt.Fprintln(out, "Activation password accepted; encryption verified.")
	return s, msg.Policy, nil
}

// collaborationKey is this device's collaboration key from the activation.
func (s *activationSession) collaborationKey(deviceID string) ([]byte, error) {
	k, err := s.keys.CollaborationKey(activation.Initiator, deviceID, packages.Fingerprint(s.portalKey))
	if err != nil {
		return nil, fmt.Errorf("activation: collaboration key: %w", err)
	}
	return k, nil
}

func (s *activationSession) open(m packages.SealedMessage) (*packages.ActivationPayload, error) {
	ct, err := base64.StdEncoding.DecodeString(m.CT)
	if err != nil {
		return nil, errors.New("activation: a sealed message from the portal is malformed")
	}
	plain, err := s.channel.Open(activation.Envelope{Seq: m.Seq, CT: ct}, []byte(s.id))
	if err != nil {
		return nil, fmt.Errorf("activation: a sealed message from the portal was refused: %w", err)
	}
	var p packages.ActivationPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("activation: a sealed message from the portal is not understood: %w", err)
	}
	return &p, nil
}

// send seals a message to the portal and opens its sealed answer.
func (s *activationSession) send(ctx context.Context, p packages.ActivationPayload) (*packages.ActivationPayload, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	env := s.channel.Seal(b, []byte(s.id))
	var answer packages.SealedMessage
	err = s.pc.call(ctx, http.MethodPost, routeActivationMessage, packages.SealedMessage{SessionID: s.id, Seq: env.Seq, CT: base64.StdEncoding.EncodeToString(env.CT)}, &answer)
	if err != nil {
		return nil, refused(err)
	}
	return s.open(answer)
}

// knownRules are the IT policy rules this bootloader can hand on to the
// device; a rule it does not know is one it cannot promise to enforce.
var knownRules = map[string]bool{
	"password_required": true, "password_min_length": true, "password_require_alphanumeric": true,
	"password_max_age_days": true, "max_failed_unlocks_before_wipe": true, "screen_lock_timeout_s": true,
	"camera_disabled": true, "bluetooth_disabled": true, "storage_encryption_required": true, "min_os_version": true,
}

var versionNumber = regexp.MustCompile(`\d+(\.\d+)*`)

// checkPolicy lists the rules this device cannot accept.
func checkPolicy(p *packages.Policy, osVersion string) []packages.RejectedRule {
	var out []packages.RejectedRule
	for name, v := range p.Rules {
		if !knownRules[name] {
			out = append(out, packages.RejectedRule{Rule: name, Reason: "this bootloader does not know the rule"})
			continue
		}
		if name != "min_os_version" {
			continue
		}
		want, _ := v.(string)
		have := versionNumber.FindString(osVersion)
		switch {
		case have == "":
			out = append(out, packages.RejectedRule{Rule: name, Reason: "the device's OS version cannot be determined"})
		case packages.CompareVersions(have, want) < 0:
			out = append(out, packages.RejectedRule{Rule: name, Reason: fmt.Sprintf("the device runs %s, older than %s", have, want)})
		}
	}
	return out
}
