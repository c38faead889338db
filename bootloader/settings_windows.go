//go:build windows

package bootloader

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/windows/registry"

	"provportal/packages"
)

// registryKey holds settings a management channel (or Group Policy) sets
// per user: the string values Alias, Relay and Host, and Port as a DWORD
// or a string.
const registryKey = `HKCU\Software\Provportal\Provisioning`

func registrySettings() (packages.Settings, error) {
	var s packages.Settings
	k, err := registry.OpenKey(registry.CURRENT_USER, `Software\Provportal\Provisioning`, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read %s: %w", registryKey, err)
	}
	defer k.Close()
	for name, dst := range map[string]*string{"Alias": &s.Alias, "Relay": &s.Relay, "Host": &s.Host} {
		v, _, err := k.GetStringValue(name)
		switch {
		case errors.Is(err, registry.ErrNotExist):
		case err != nil:
			return s, fmt.Errorf("read %s\\%s: %w", registryKey, name, err)
		default:
			*dst = v
		}
	}
	if n, _, err := k.GetIntegerValue("Port"); err == nil {
		s.Port = int(n)
	} else if v, _, serr := k.GetStringValue("Port"); serr == nil && strings.TrimSpace(v) != "" {
		if s.Port, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
			return s, fmt.Errorf("%s\\Port %q is not a number", registryKey, v)
		}
	}
	return s, nil
}
