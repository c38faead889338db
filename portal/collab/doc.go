// Package collab is the collaboration service: an installed device logs on
// through the portal to the organisation's instant-messaging (XMPP) server,
// over a WebSocket at /device/v1/collaboration (see packages/collaboration_wire.go).
//
// On a logon the service applies, in this order, the user's permission
// (not_permitted), the session cap (evicting the sessions whose device sent
// no status within the idle timeout, oldest first, or server_busy), and,
// with no cap, the messaging server's own connection limit (failed); then it
// logs on to the messaging server as that user (bad_credentials, failed) and
// relays messages and presence both ways. An enterprise-activated device
// seals its messaging password with the collaboration key its activation
// left, bound to a challenge the portal sends with each WebSocket upgrade;
// the service opens it with the key it keeps for the device (sealed at rest
// by DeviceKeys) and refuses that device's plain password
// (credentials_not_sealed) or a seal that does not open
// (sealed_credentials_rejected). A device that drops its connection
// keeps its session, and its messaging connection, for the grace window: it
// resumes with the session's resume token, without a new logon at the
// messaging server, and receives what arrived meanwhile.
//
// Live sessions are held in the memory of the portal process the device is
// connected to: the cap counts that process's sessions, and a device must
// come back to the same process to resume.
package collab
