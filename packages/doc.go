// Package packages is the package model shared by the portal and the
// bootloader: manifests, signing and verification, and (in packages/blob)
// the content-addressed store of app bytes.
package packages
