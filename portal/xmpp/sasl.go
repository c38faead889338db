package xmpp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/xdg-go/scram"
)

// SASL mechanisms, in order of preference. The -PLUS variants with channel
// binding are left out: servers differ in which binding types they accept.
const (
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA1   = "SCRAM-SHA-1"
	Plain       = "PLAIN"
)

// saslConversation is one authentication exchange: Step answers each server
// message (the first with ""), and Valid says, at the end, whether the
// server proved it knows the credentials too.
type saslConversation interface {
	Step(challenge string) (response string, err error)
	Valid() bool
}

// startSASL picks the best mechanism the server offers: SCRAM when it can,
// PLAIN only over TLS, where the password is protected.
func (n *negotiation) startSASL(offered []string) (string, saslConversation, error) {
	scramHashes := map[string]scram.HashGeneratorFcn{ScramSHA256: scram.SHA256, ScramSHA1: scram.SHA1}
	for _, mech := range []string{ScramSHA256, ScramSHA1} {
		if !slices.Contains(offered, mech) {
			continue
		}
		client, err := scramHashes[mech].NewClient(n.cfg.Username, n.cfg.Password, "")
		if err != nil {
			return "", nil, fmt.Errorf("xmpp: %s: %w", mech, err)
		}
		return mech, client.NewConversation(), nil
	}
	if n.secure && slices.Contains(offered, Plain) {
		return Plain, &plainConversation{username: n.cfg.Username, password: n.cfg.Password}, nil
	}
	return "", nil, fmt.Errorf("xmpp: no usable SASL mechanism among %q", offered)
}

// authenticate runs SASL (RFC 6120 §6).
func (n *negotiation) authenticate(offered []string) error {
	mech, conv, err := n.startSASL(offered)
	if err != nil {
		return err
	}
	response, err := conv.Step("")
	if err != nil {
		return fmt.Errorf("xmpp: %s: %w", mech, err)
	}
	err = n.send("<auth xmlns='" + nsSASL + "' mechanism='" + mech + "'>" + encodeSASL(response) + "</auth>")
	if err != nil {
		return err
	}

	for {
		start, err := next(n.dec)
		if err != nil {
			return err
		}
		var reply struct {
			Data     string    `xml:",chardata"`
			Children []element `xml:",any"`
		}
		if err := n.dec.DecodeElement(&reply, &start); err != nil {
			return fmt.Errorf("xmpp: %s: %w", mech, err)
		}
		if start.Name.Space != nsSASL {
			return fmt.Errorf("xmpp: %s: unexpected <%s/>", mech, start.Name.Local)
		}
		switch start.Name.Local {
		case "failure":
			condition, text := errorCondition(reply.Children)
			return &SASLError{Mechanism: mech, Condition: condition, Text: text}

		case "challenge":
			challenge, err := decodeSASL(reply.Data)
			if err == nil {
				response, err = conv.Step(challenge)
			}
			if err != nil {
				// Tell the server we give up, but report our own reason.
				n.send("<abort xmlns='" + nsSASL + "'/>")
				return fmt.Errorf("xmpp: %s: %w", mech, err)
			}
			if err := n.send("<response xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString([]byte(response)) + "</response>"); err != nil {
				return err
			}

		case "success":
			// SCRAM servers put their proof in the success data; check it,
			// or a server that does not know the password could pose as ours.
			data, err := decodeSASL(reply.Data)
			if err == nil && data != "" {
				_, err = conv.Step(data)
			}
			if err != nil {
				return fmt.Errorf("xmpp: %s: server final message: %w", mech, err)
			}
			if !conv.Valid() {
				return fmt.Errorf("xmpp: %s: the server did not prove it knows the credentials", mech)
			}
			n.mechanism = mech
			return nil

		default:
			return fmt.Errorf("xmpp: %s: unexpected <%s/>", mech, start.Name.Local)
		}
	}
}

// encodeSASL encodes an initial response, where "=" stands for an empty one
// as opposed to none (RFC 6120 §6.4.2).
func encodeSASL(s string) string {
	if s == "" {
		return "="
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func decodeSASL(s string) (string, error) {
	if s == "" || s == "=" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", errors.New("server data is not valid base64")
	}
	return string(b), nil
}

// plainConversation is SASL PLAIN (RFC 4616): the password itself, once.
type plainConversation struct {
	username, password string
}

func (p *plainConversation) Step(string) (string, error) {
	return "\x00" + p.username + "\x00" + p.password, nil
}

func (p *plainConversation) Valid() bool { return true }
