//go:build !linux && !darwin && !windows

package bootloader

import (
	"context"
	"fmt"
	"io"
)

// stopService has no service manager to ask on this platform.
func stopService(_ context.Context, name string, out io.Writer) error {
	fmt.Fprintf(out, "Legacy client: no service manager here; service %s not stopped.\n", name)
	return nil
}
