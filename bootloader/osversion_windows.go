package bootloader

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// osVersion reads the real Windows version (RtlGetVersion is not subject to
// the compatibility shims that make GetVersion lie).
func osVersion() string {
	v := windows.RtlGetVersion()
	return fmt.Sprintf("Windows %d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
}
