#!/bin/sh
# Migration package: installs this organisation's device client with the
# bootloader beside this script and, only once the new package is installed
# and reported to the portal, removes the legacy client.
#
# Every argument goes to the bootloader and standard input passes through,
# so a management channel runs it unattended with:
#   sh install.sh --username NAME --password-stdin --install-dir DIR --non-interactive
# Without arguments, on a terminal, the bootloader asks the user to log on.
# provisioning.json beside the bootloader changes where it connects.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
bootloader="$here/{{.Bootloader}}"
# A channel that unpacks without file modes leaves the bootloader unexecutable.
[ -x "$bootloader" ] || chmod +x "$bootloader"
{{- if .Darwin}}
# macOS quarantines files that came from elsewhere; this one came from IT.
xattr -d com.apple.quarantine "$bootloader" 2>/dev/null || true
{{- end}}
exec "$bootloader" "$@"
