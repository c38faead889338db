//go:build !windows

package bootloader

import "provportal/packages"

// registryKey is where Windows keeps settings; elsewhere there is none.
const registryKey = "(no registry)"

// registrySettings is a no-op outside Windows.
func registrySettings() (packages.Settings, error) { return packages.Settings{}, nil }
