// Package bootloader is the device client: it finds its configuration, logs
// on, verifies the signed manifest, downloads and installs the user's
// package, and reports back. It imports no server code.
package bootloader
