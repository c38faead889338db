// Package landing is the download site a provisioning link opens: it detects
// the device's platform, offers the bootloader built for it with this portal
// and invitation stamped in (or, to an iPhone or iPad, the profile flow of
// portal/ios and its in-house apps), and explains the few steps left.
package landing
