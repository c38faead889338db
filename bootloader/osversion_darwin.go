package bootloader

import "syscall"

// osVersion asks the kernel for the macOS version, without starting sw_vers.
func osVersion() string {
	v, err := syscall.Sysctl("kern.osproductversion")
	if err != nil || v == "" {
		return ""
	}
	return "macOS " + v
}
