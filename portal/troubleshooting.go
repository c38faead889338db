package portal

// Troubleshooting explains a device failure code: what the admin sees, why
// it happens and what fixes it, in the manner of a knowledge base article.
type Troubleshooting struct {
	Code  string `json:"code"`
	Stage string `json:"stage"`
	Title string `json:"title"`
	Cause string `json:"cause"`
	Fix   string `json:"fix"`
}

// Device failure codes. Codes are API: add, never rename.
const (
	FailStuckActivating           = "stuck_activating"
	FailNoActivationPassword      = "no_activation_password"
	FailActivationPasswordExpired = "activation_password_expired"
	FailActivationPasswordUsed    = "activation_password_used"
	FailTooManyAttempts           = "too_many_attempts"
	FailKeyConfirmation           = "key_confirmation_failed"
	FailITPolicyRejected          = "it_policy_rejected"
	FailStuckWaitingForServices   = "stuck_waiting_for_services"
	FailSlowSyncNotStarted        = "slow_sync_not_started"
	FailSlowSyncStalled           = "slow_sync_stalled"
	FailManifestUntrusted         = "manifest_untrusted"
	FailDownload                  = "download_failed"
	FailDigestMismatch            = "digest_mismatch"
	FailUnsafeArchive             = "unsafe_archive"
	FailInstall                   = "install_failed"
	FailManifestUnavailable       = "manifest_unavailable"
	FailManifestInvalid           = "manifest_invalid"
	FailInterrupted               = "interrupted"
)

// TroubleshootingCatalogue lists every failure the admin can meet.
var TroubleshootingCatalogue = []Troubleshooting{
	{FailStuckActivating, "activating", "Stuck at Activating",
		"The device sent no activation request, or it never reached the portal: the device has no data connection, the e-mail address typed on the device is not the user's, or a proxy or relay in between is down.",
		"Check the user's e-mail address in the portal matches what they typed, that the device can open the portal's address (or reach the relay for its alias), then have the user start activation again."},
	{FailNoActivationPassword, "activating", "No activation password",
		"The user has no activation password set, or it was cleared.",
		"Set an activation password for the user (Users → the user → Activation password) and give it to them."},
	{FailActivationPasswordExpired, "activating", "Activation password expired",
		"The password's expiry window closed before the device completed activation.",
		"Set a new activation password; choose a longer expiry if the user needs more time."},
	{FailActivationPasswordUsed, "activating", "Activation password already used",
		"A one-time activation password dies when an activation succeeds with it; this device tried it after another activation had used it.",
		"Set a new activation password for the user. If the other activation was not theirs, check the user's devices."},
	{FailTooManyAttempts, "verifying_encryption", "Too many failed attempts",
		"Five consecutive attempts with a wrong activation password killed it, so even the right one now fails.",
		"Confirm the user's identity, then set a new activation password and read it out carefully (it has no 0/o or 1/l/i)."},
	{FailKeyConfirmation, "verifying_encryption", "Activation password incorrect",
		"The key exchange did not confirm: the password typed on the device is not the one set in the portal. Each failure counts towards the limit of five.",
		"Have the user type the password again exactly; if in doubt, set a new one."},
	{FailITPolicyRejected, "waiting_for_services", "IT policy rejected",
		"The device cannot enforce one or more rules of the IT policy assigned to the user (the rule is named in the error), for example a minimum OS version it does not meet.",
		"Update the device, or change the policy or its assignment so the rule fits the device, then activate again."},
	{FailStuckWaitingForServices, "waiting_for_services", "Stuck waiting for services",
		"The device accepted the IT policy but did not collect its service books and package; it lost its connection part way.",
		"Restore the device's connection and start activation again; the password is consumed only when activation completes."},
	{FailSlowSyncNotStarted, "slow_sync", "Slow sync stuck at 0 %",
		"Activation completed but the device has not pulled organizer data: the calendar service book did not arrive, or the device went offline.",
		"Check the user has a calendar service book, that organizer data was imported for them, and that the device is online; the sync resumes where it stopped."},
	{FailSlowSyncStalled, "slow_sync", "Slow sync stopped part way",
		"The device stopped pulling organizer data part way, usually from a lost connection or a full device.",
		"Bring the device back online with free space; the sync resumes from its last page without sending anything twice."},
	{FailManifestUntrusted, "installing", "Package signature not trusted",
		"The package the device received was not signed by the key its bootloader pins: the bootloader belongs to another portal, or something altered the package on the way.",
		"Download the bootloader again from this portal's link; if it persists, check for a proxy that rewrites traffic."},
	{FailDownload, "installing", "App download failed",
		"An app's bytes could not be fetched after several tries.",
		"Check the portal's blob storage and the device's connection; the bootloader resumes where it stopped when run again."},
	{FailDigestMismatch, "installing", "App bytes did not match",
		"Bytes downloaded for an app did not match the SHA-256 in the signed package, so nothing was installed.",
		"Upload the app's artifact again; look for a proxy or cache that alters downloads."},
	{FailUnsafeArchive, "installing", "Unsafe app archive",
		"An app archive tried to write outside its folder (absolute paths, .., links) or to unpack to an unreasonable size; nothing was installed.",
		"Rebuild the app's archive with relative paths only and upload it again."},
	{FailInstall, "installing", "Install failed",
		"The device could not write the apps into its install folder (permissions or space).",
		"Free space or fix permissions on the device's install folder and run the bootloader again."},
	{FailManifestUnavailable, "installing", "Package not available",
		"The device logged on but could not fetch its package from the portal (the portal was busy, restarting, or unreachable part way).",
		"Check the portal's health (/healthz) and logs, then run the bootloader again."},
	{FailManifestInvalid, "installing", "Package not for this device",
		"The package the device received was malformed, expired, or built for another device or platform.",
		"Run the bootloader again; if it persists, check the device's platform in the portal matches the bootloader the user runs."},
	{FailInterrupted, "installing", "Install interrupted",
		"The bootloader was stopped (closed, or the device shut down) before it finished; nothing half-installed was kept.",
		"Run the bootloader again: downloads resume where they stopped."},
}

// Troubleshoot returns the catalogue's entry for a failure code.
func Troubleshoot(code string) (Troubleshooting, bool) {
	for _, t := range TroubleshootingCatalogue {
		if t.Code == code {
			return t, true
		}
	}
	return Troubleshooting{}, false
}
