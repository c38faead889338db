// Package bootloader is the device client: it finds its configuration, logs
// on, verifies the signed manifest, downloads and installs the user's
// package, and reports back. It imports no server code.
//
// Configuration comes from Options (cmd/bootloader fills it from flags, then
// BOOTLOADER_SERVER, BOOTLOADER_FINGERPRINT and BOOTLOADER_INSTALL_DIR), then
// the routing in provisioning.json beside the executable and, on Windows, the
// registry (settings.go), then the configuration the portal stamped at the
// end of the executable (packages.ReadStamp), then device.json from an
// earlier run, then prompts on a terminal. Without a pinned fingerprint the portal's key is fetched and
// trusted on first use, then remembered.
//
// A portal is reached at its URL, or by its alias on a switching relay
// (relay.go): then every connection is an upgrade on the relay with TLS to
// the portal inside it, the portal's certificate carrying the pinned key.
//
// On Android the app's launcher runs the bootloader and names the APK it came
// in (Options.Package, BOOTLOADER_PACKAGE): the stamp is then read from the
// APK Signing Block (packages/apk), and each Android app installed is handed
// back to the launcher on an APKMarker line for the system installer (apk.go).
//
// The install dir:
//
//	device.json        device ID, portal URL (or alias and relay), the
//	                   portal key's fingerprint and the device token, which
//	                   `bootloader chat` (chat.go) uses;
//	                   written after logon, so it is the one file besides
//	                   .downloads a failed run may change
//	state.json         the apps this bootloader installed: name -> version,
//	                   SHA-256, size; a later run replaces or removes only these
//	policy.json        the manifest's IT policy
//	legacy.json        the legacy client a migration package removed, once
//	                   it is gone (legacy.go), so it is not removed twice
//	apps/<name>/       one folder per app: an archive (.tar.gz, .tgz, .zip, by
//	                   name or, without an extension, by its first bytes)
//	                   unpacked, anything else placed as is under its file name
//	bin/bootloader     the installed client (bootloader.exe on Windows): this
//	                   executable without its stamp; run again, it finds this
//	                   dir from its own location
//	.downloads/        <sha256>.part while downloading (resumed with Range),
//	                   <sha256> once verified; removed after an install
//	.staging-*/        an install being prepared; .old-*/ what it replaced
//
// An install is staged whole, then swapped in by renames (state.json last),
// and undone if a rename fails: until then the install dir is unchanged.
package bootloader
