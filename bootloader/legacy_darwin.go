package bootloader

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// stopService stops and unloads a launchd job by its label; a label launchd
// does not list is not there to stop.
func stopService(ctx context.Context, label string, out io.Writer) error {
	if err := exec.CommandContext(ctx, "launchctl", "list", label).Run(); err != nil {
		fmt.Fprintf(out, "Legacy client: launchd job %s is not loaded.\n", label)
		return nil
	}
	if b, err := exec.CommandContext(ctx, "launchctl", "remove", label).CombinedOutput(); err != nil {
		return fmt.Errorf("launchctl remove %s: %v %s", label, err, strings.TrimSpace(string(b)))
	}
	fmt.Fprintf(out, "Legacy client: launchd job %s stopped.\n", label)
	return nil
}
