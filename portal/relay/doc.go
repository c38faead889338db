// Package relay is the shared switching relay and the portal's side of it.
//
// A portal that cannot take connections from devices (behind NAT, no public
// address) holds an alias on a relay instead: its Uplink connects out, proves
// it holds its manifest signing key, and keeps a yamux session open. A
// bootloader asks the relay for the alias; the relay opens a stream on that
// session and copies bytes both ways. The bootloader and the portal run TLS
// inside the stream, the portal's certificate carrying its signing key, so
// the relay carries only ciphertext.
//
// The relay keeps no customer data: only which key holds which alias
// (bindings.json in its data dir), and optionally aliases.json, where an
// operator lists the keys allowed to hold an alias:
//
//	{"acme@example.com": ["sha256:<64 hex>"]}
//
// An alias listed there is held only by those keys; any other alias is bound
// to the first key that registers it, for good.
package relay
