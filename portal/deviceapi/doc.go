// Package deviceapi serves the device-facing API under /device/v1: logon,
// the signed per-user manifest, app bytes and status reports.
package deviceapi
