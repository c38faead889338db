//go:build !linux && !darwin && !windows

package bootloader

func osVersion() string { return "" }
