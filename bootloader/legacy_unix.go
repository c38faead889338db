//go:build !windows

package bootloader

import (
	"context"
	"os/exec"
)

// shellCommand runs a command line with sh.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	return exec.CommandContext(ctx, "/bin/sh", "-c", command)
}

// systemDirs are the system's own folders, never deleted whole.
func systemDirs() []string {
	return []string{
		"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
		"/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib",
		"/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/local/lib", "/usr/local/share", "/usr/sbin",
		"/usr/share", "/var", "/var/lib", "/var/log", "/var/tmp", "/etc/systemd", "/etc/systemd/system",
		"/Applications", "/Library", "/Library/Application Support", "/Library/LaunchAgents",
		"/Library/LaunchDaemons", "/System", "/Users", "/Volumes", "/cores", "/private", "/private/etc",
		"/private/tmp", "/private/var",
	}
}
