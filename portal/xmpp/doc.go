// Package xmpp is the small XMPP client (RFC 6120 and 6121) the collaboration
// service uses to log device users on to the organisation's instant-messaging
// server and relay their messages and presence.
//
// It covers what the service needs and no more: STARTTLS, SASL (SCRAM-SHA-256,
// SCRAM-SHA-1, and PLAIN over TLS only), resource binding, chat messages,
// presence and XEP-0199 pings. There is no roster management, no SRV lookup
// and no stream management.
package xmpp
