# Migration package: installs this organisation's device client with the
# bootloader beside this script and, only once the new package is installed
# and reported to the portal, removes the legacy client.
#
# Every argument goes to the bootloader and standard input passes through,
# so a management channel runs it unattended with:
#   install.cmd --username NAME --password-stdin --install-dir DIR --non-interactive
# Without arguments, in a console, the bootloader asks the user to log on.
# provisioning.json beside the bootloader, or the registry values Alias, Host
# and Port under HKCU\Software\Provportal\Provisioning, change where it connects.
$ErrorActionPreference = 'Stop'
$bootloader = Join-Path $PSScriptRoot '{{.Bootloader}}'
# Files copied from elsewhere carry the mark of the web; this one came from IT.
Unblock-File -LiteralPath $bootloader -ErrorAction SilentlyContinue
& $bootloader @args
exit $LASTEXITCODE
