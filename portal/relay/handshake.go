package relay

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/yamux"
)

// A portal's handshake, after the relay's 101 answer carried the challenge:
//
//	portal -> relay   portalProof, one JSON line
//	relay  -> portal  handshakeAnswer, one JSON line
//
// then both sides run yamux over the connection; the relay opens the streams.

// proofContext keeps a portal's signature over a challenge from meaning
// anything anywhere else its key signs (manifests, activation).
const proofContext = "provportal relay: portal holds alias\x00"

// challengeSize is how many random bytes a portal signs.
const challengeSize = 32

// proofMessage is what a portal signs: the context, the alias and the
// relay's challenge, so a proof is good for one alias and one connection.
func proofMessage(alias string, challenge []byte) []byte {
	m := make([]byte, 0, len(proofContext)+len(alias)+1+len(challenge))
	m = append(m, proofContext...)
	m = append(m, alias...)
	m = append(m, 0)
	return append(m, challenge...)
}

// portalProof is the portal's answer to the challenge.
type portalProof struct {
	PublicKey string `json:"public_key"` // Ed25519, base64url
	Signature string `json:"signature"`  // over proofMessage, base64url
}

// handshakeAnswer accepts the portal or says why not.
type handshakeAnswer struct {
	Status string   `json:"status,omitempty"` // "connected"
	Error  *Refusal `json:"error,omitempty"`
}

// Refusal is the relay turning a portal away; Message is for people, and the
// portal logs it as it is.
type Refusal struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r *Refusal) Error() string { return r.Message }

// Stable refusal codes.
const (
	CodeAliasBound   = "alias_bound"   // the alias belongs to another portal key
	CodeBadProof     = "bad_proof"     // the signature does not verify
	CodeRelayFailure = "relay_failure" // the relay could not record the binding
)

var b64 = base64.RawURLEncoding

// maxLine bounds a handshake line.
const maxLine = 4 << 10

// readLine reads one JSON line into v.
func readLine(br *bufio.Reader, v any) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("handshake line longer than %d bytes", maxLine)
		}
		return err
	}
	return json.Unmarshal(line, v)
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// Session settings both ends share. A stream's window bounds what the relay
// holds for a slow device; 1 MiB keeps a download near line rate across a
// continent (window / round trip) while a thousand open streams stay within
// a few hundred MiB at worst.
const streamWindow = 1 << 20

func yamuxConfig(log *slog.Logger) *yamux.Config {
	c := yamux.DefaultConfig()
	c.KeepAliveInterval = 15 * time.Second
	c.MaxStreamWindowSize = streamWindow
	c.StreamOpenTimeout = 30 * time.Second
	c.LogOutput = nil
	c.Logger = yamuxLogger{log}
	return c
}

// yamuxLogger sends yamux's own messages to the structured log.
type yamuxLogger struct{ log *slog.Logger }

func (l yamuxLogger) Print(v ...any) { l.log.Debug(fmt.Sprint(v...), "component", "yamux") }
func (l yamuxLogger) Printf(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "component", "yamux")
}
func (l yamuxLogger) Println(v ...any) { l.log.Debug(fmt.Sprint(v...), "component", "yamux") }
