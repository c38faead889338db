package bootloader

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// osVersion names the distribution (or, on Android, the kernel) cheaply, from files.
func osVersion() string {
	if runtime.GOOS != "android" {
		if f, err := os.Open("/etc/os-release"); err == nil {
			defer f.Close()
			s := bufio.NewScanner(f)
			for s.Scan() {
				if v, ok := strings.CutPrefix(s.Text(), "PRETTY_NAME="); ok {
					return strings.Trim(v, `"'`)
				}
			}
		}
	}
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	name := "Linux"
	if runtime.GOOS == "android" {
		name = "Android, Linux"
	}
	return name + " " + strings.TrimSpace(string(b))
}
