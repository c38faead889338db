package packages

// The collaboration service's wire types, shared by the portal and the
// bootloader. A device opens a WebSocket (permessage-deflate) to
//
//	GET /device/v1/collaboration   Authorization: Bearer DEVICE-TOKEN
//	                               Sec-WebSocket-Protocol: CollaborationProtocol
//
// and every frame after that is one JSON text message with a "type". The
// portal's answer to the upgrade carries a fresh logon challenge in the
// CollaborationChallengeHeader header. The device speaks first, with a logon
// or a resume; the portal answers accepted or refused (and closes). Then
// both sides send messages and presence; the device sends a status
// heartbeat at the interval the portal gave; the portal may end the session
// with ended (and close).
//
//	device → portal  logon {password[, resource]}      log on to the messaging server as the device's user
//	device → portal  logon {sealed[, resource]}        the same from an enterprise-activated device
//	device → portal  resume {session_id, resume_token} take up a session kept in its grace window
//	portal → device  accepted {session_id, resume_token, jid, ...}
//	portal → device  refused {code, message}           not_permitted, server_busy, failed, bad_credentials, ...
//	device → portal  message {to, body[, id]}           portal → device  message {from, body[, id]}
//	device → portal  presence {[to,] [presence_type,] [show,] [status]}
//	portal → device  presence {from, [presence_type,] [show,] [status]}
//	device → portal  status                             the heartbeat: the device is in coverage
//	device → portal  logoff                             end the session now
//	portal → device  ended {code, message}              evicted, ended_by_admin, server_closed, ...
//	portal → device  error {code, message}              a frame the portal did not take; the session goes on
//
// Closing the WebSocket without a logoff keeps the session for the grace
// window, with messages and presence that arrive meanwhile queued for the
// device.
//
// A device that was enterprise-activated holds a collaboration key from its
// activation (packages/activation: Keys.CollaborationKey) and never sends
// its password in a frame: its logon carries ChatCredentials as JSON sealed
// with activation.SealLogon, bound to the device ID and to the challenge of
// this connection, so a recorded logon opens on no other connection. The
// portal refuses a plain password from such a device (credentials_not_sealed)
// and a seal that does not open (sealed_credentials_rejected). A device that
// logged on with its directory credentials has no such key and sends its
// password in the frame, inside TLS.

// CollaborationRoute is the collaboration service's path under the portal's URL.
const CollaborationRoute = "/device/v1/collaboration"

// CollaborationProtocol is the WebSocket subprotocol of this version of the wire format.
const CollaborationProtocol = "provportal-collaboration.v1"

// CollaborationChallengeHeader is the header of the portal's answer to the
// WebSocket upgrade that carries the connection's logon challenge (base64url,
// activation.LogonChallengeSize bytes), to which a sealed logon is bound.
const CollaborationChallengeHeader = "Provportal-Logon-Challenge"

// ChatCredentials are the messaging credentials an enterprise-activated
// device seals into its logon frame.
type ChatCredentials struct {
	Password string `json:"password"`
}

// Frame types.
const (
	ChatLogon    = "logon"
	ChatResume   = "resume"
	ChatAccepted = "accepted"
	ChatRefused  = "refused"
	ChatMessage  = "message"
	ChatPresence = "presence"
	ChatStatus   = "status"
	ChatLogoff   = "logoff"
	ChatEnded    = "ended"
	ChatError    = "error"
)

// Codes of refused, ended and error frames besides the portal's refusal
// codes (not_permitted, server_busy, failed, bad_credentials,
// credentials_not_sealed, sealed_credentials_rejected) and the end
// reasons (evicted, ended_by_admin, grace_expired, server_closed, logoff,
// shutdown).
const (
	ChatSessionEnded = "session_ended" // refused: the session to resume is over; the message says why
	ChatReplaced     = "replaced"      // ended: this device logged on again, or resumed on another connection
	ChatDropped      = "dropped"       // error: frames were dropped while the device was away
	ChatNotDelivered = "not_delivered" // error: the messaging server bounced a message
	ChatNotSent      = "not_sent"      // error: the portal could not hand a frame to the messaging server
)

// ChatFrame is any frame of the collaboration wire format; Type says which fields matter.
type ChatFrame struct {
	Type string `json:"type"`

	// logon: the user's messaging password, and the XMPP resource to bind
	// (empty: the portal names one after the device).
	Password string `json:"password,omitempty"`
	Resource string `json:"resource,omitempty"`
	// Sealed replaces Password on an enterprise-activated device: its
	// ChatCredentials sealed with activation.SealLogon (base64 in JSON).
	Sealed []byte `json:"sealed,omitempty"`

	// resume, accepted
	SessionID   string `json:"session_id,omitempty"`
	ResumeToken string `json:"resume_token,omitempty"`

	// accepted
	JID string `json:"jid,omitempty"`
	// Resumed is true when the session was taken up again: no new logon at the messaging server.
	Resumed bool `json:"resumed,omitempty"`
	// StatusInterval is how often the device should send a status (a Go duration).
	StatusInterval string `json:"status_interval,omitempty"`
	// GraceWindow is how long the session waits for the device after a cut (a Go duration).
	GraceWindow string `json:"grace_window,omitempty"`

	// refused, ended, error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// Reason, in a session_ended refusal, is why the session ended: evicted, ended_by_admin, grace_expired, ...
	Reason string `json:"reason,omitempty"`

	// message, presence
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	ID   string `json:"id,omitempty"`
	Body string `json:"body,omitempty"`
	// PresenceType is empty for available, else "unavailable", "subscribe", "subscribed", ...
	PresenceType string `json:"presence_type,omitempty"`
	Show         string `json:"show,omitempty"` // away, chat, dnd, xa
	Status       string `json:"status,omitempty"`
}
