// Package bundle writes migration packages: a platform's bootloader stamped
// with its portal, a settings file beside it and a launcher script, in the
// archive an existing device-management channel pushes and unpacks (a .zip
// with install.ps1 and install.cmd for Windows, a .tar.gz with install.sh
// for Linux and macOS).
package bundle
