// Package activation is enterprise activation shared by the portal and the
// device bootloader: a device that knows its activation password and a portal
// that stores only a hash of it agree on session keys, prove to each other
// that they did, and then exchange sealed messages.
//
// It is the BlackBerry Enterprise Server activation model with today's
// primitives:
//
//   - the password becomes a password-related string with argon2id ([PRS]);
//     the portal stores the PRS, its salt and its cost, never the password;
//   - CPace (draft-irtf-cfrg-cpace-21, suite CPACE-RISTR255-SHA512) turns the
//     PRS into an intermediate session key ISK ([Start], [Respond],
//     [Party.Finish]); an eavesdropper learns nothing it can test passwords
//     against, and an active attacker gets one guess per run;
//   - explicit key confirmation as the draft's section "Key confirmation" suggests, and
//     directional AES-256-GCM keys from HKDF-SHA512 ([DeriveKeys]);
//   - a [Channel] that numbers every message and refuses replays, reordering
//     and tampering, and whose state the portal keeps between HTTP requests;
//   - a long-lived collaboration key per device ([Keys.CollaborationKey],
//     HKDF-SHA256), with which the device seals its messaging credentials
//     for each logon to the collaboration service ([SealLogon], [OpenLogon]).
//
// One activation, the device being the CPace initiator:
//
//	portal → device  salt, Argon2Params, sid         (the portal stored PRS(password, salt, params))
//	device → portal  Ya, ADa                          (Start)
//	portal → device  Yb, ADb, ConfirmResponder()      (Respond, DeriveKeys)
//	device → portal  ConfirmInitiator(), envelopes    (Finish, DeriveKeys, VerifyResponder, NewChannel)
//	portal → device  envelopes                        (VerifyInitiator, NewChannel)
//
// This package implements only the protocol layer: the group is
// github.com/gtank/ristretto255, hashes, HMAC and AES-GCM come from the
// standard library, argon2id and the activation's HKDF-SHA512 from
// golang.org/x/crypto (the collaboration key's HKDF-SHA256 from crypto/hkdf).
package activation
