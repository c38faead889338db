package bootloader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// systemctlNotLoaded is systemctl's exit status for a unit it does not know.
const systemctlNotLoaded = 5

// stopService stops a systemd unit. Without systemd (no systemctl, or a
// system not booted with it) nothing runs it, and a unit systemd does not
// know is not there to stop: neither is an error.
func stopService(ctx context.Context, name string, out io.Writer) error {
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		fmt.Fprintf(out, "Legacy client: no systemctl here; service %s not stopped.\n", name)
		return nil
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		fmt.Fprintf(out, "Legacy client: systemd is not running here; service %s not stopped.\n", name)
		return nil
	}
	b, err := exec.CommandContext(ctx, systemctl, "stop", name).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == systemctlNotLoaded:
		fmt.Fprintf(out, "Legacy client: service %s is not installed.\n", name)
		return nil
	case err != nil:
		return fmt.Errorf("systemctl stop %s: %v %s", name, err, strings.TrimSpace(string(b)))
	}
	fmt.Fprintf(out, "Legacy client: service %s stopped.\n", name)
	return nil
}
