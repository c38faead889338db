package portal

import (
	"strings"
	"time"
)

// Failed logons are counted per account and per address. A few are free
// (people mistype), then each further failure doubles the wait, so guessing
// a password becomes hopeless while a person who mistypes barely notices.
const (
	FreeAccountFailures = 5
	FreeAddressFailures = 20
	MaxThrottleDelay    = 15 * time.Minute
	// ThrottleMemory is how long failures are remembered after the last one.
	ThrottleMemory = time.Hour
)

// AccountKey and AddressKey name throttle counters.
func AccountKey(kind, username string) string {
	return "account:" + kind + ":" + strings.ToLower(username)
}
func AddressKey(addr string) string { return "addr:" + addr }

// ThrottleDelay is how long the counter key stays blocked after its n-th consecutive failure.
func ThrottleDelay(key string, failures int) time.Duration {
	free := FreeAccountFailures
	if strings.HasPrefix(key, "addr:") {
		free = FreeAddressFailures
	}
	if failures < free {
		return 0
	}
	over := failures - free
	if over > 20 {
		return MaxThrottleDelay
	}
	return min(time.Second<<over, MaxThrottleDelay)
}
