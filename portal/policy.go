package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"provportal/packages"
)

// RuleType is the type of value a policy rule takes.
type RuleType string

const (
	RuleBool    RuleType = "boolean"
	RuleInt     RuleType = "integer"
	RuleVersion RuleType = "version"
)

// RuleSpec describes one IT policy rule the portal knows how to deploy.
type RuleSpec struct {
	Name string   `json:"name"`
	Type RuleType `json:"type"`
	Min  int64    `json:"min,omitempty"`
	Max  int64    `json:"max,omitempty"`
	// Stricter says which of two values is the stricter when policies are
	// merged: "true" for booleans, "max" or "min" for numbers and versions,
	// "join" for lists, whose items are joined.
	Stricter    string `json:"stricter"`
	Description string `json:"description"`
	// Items are the fields of a list rule's items, and Key the field that
	// tells two items apart.
	Items []RuleField `json:"items,omitempty"`
	Key   string      `json:"key,omitempty"`
	// Platforms, when set, are the only platforms the rule reaches: the
	// list rules, for one, reach only iPhones and iPads.
	Platforms []string `json:"platforms,omitempty"`
}

// RuleCatalogue lists every known rule. Names are API: add, never rename.
var RuleCatalogue = append([]RuleSpec{
	{Name: "password_required", Type: RuleBool, Stricter: "true", Description: "The device must be protected by a password or passcode."},
	{Name: "password_min_length", Type: RuleInt, Min: 4, Max: 64, Stricter: "max", Description: "Shortest password the device accepts."},
	{Name: "password_require_alphanumeric", Type: RuleBool, Stricter: "true", Description: "The password must contain letters and digits."},
	{Name: "password_max_age_days", Type: RuleInt, Min: 1, Max: 730, Stricter: "min", Description: "Days before the password must be changed."},
	{Name: "max_failed_unlocks_before_wipe", Type: RuleInt, Min: 2, Max: 16, Stricter: "min", Description: "Failed unlock attempts after which the device erases itself."},
	{Name: "screen_lock_timeout_s", Type: RuleInt, Min: 10, Max: 86400, Stricter: "min", Description: "Seconds of inactivity before the screen locks."},
	{Name: "camera_disabled", Type: RuleBool, Stricter: "true", Description: "The camera may not be used."},
	{Name: "bluetooth_disabled", Type: RuleBool, Stricter: "true", Description: "Bluetooth may not be used."},
	{Name: "storage_encryption_required", Type: RuleBool, Stricter: "true", Description: "The device's storage must be encrypted."},
	{Name: "min_os_version", Type: RuleVersion, Stricter: "max", Description: "Oldest operating system version allowed, as MAJOR[.MINOR[.PATCH]]."},
}, listRules...)

// RuleNames returns the names of every known rule, sorted.
func RuleNames() []string {
	names := make([]string, len(RuleCatalogue))
	for i, r := range RuleCatalogue {
		names[i] = r.Name
	}
	sort.Strings(names)
	return names
}

func ruleSpec(name string) (RuleSpec, bool) {
	i := slices.IndexFunc(RuleCatalogue, func(r RuleSpec) bool { return r.Name == name })
	if i < 0 {
		return RuleSpec{}, false
	}
	return RuleCatalogue[i], true
}

var versionRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,5})(\.(0|[1-9][0-9]{0,5})){0,2}$`)

// Rules are a policy's rule values, keyed by rule name: bool, int64 or string
// according to the rule's type, and for list rules WiFiNetworks,
// VPNConnections, EmailAccounts or WebClips. Only DecodeRules makes them, so
// they are always valid.
type Rules map[string]any

// DecodeRules parses a JSON object of rules, refusing unknown names and
// values of the wrong type or out of range, naming the field at fault.
func DecodeRules(data []byte) (Rules, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, Invalid("rules", "must be an object of rule names to values")
	}
	rules := make(Rules, len(raw))
	for _, name := range sortedKeys(raw) {
		v, err := decodeRule(name, raw[name])
		if err != nil {
			return nil, err
		}
		rules[name] = v
	}
	return rules, nil
}

func decodeRule(name string, raw json.RawMessage) (any, error) {
	field := "rules." + name
	spec, ok := ruleSpec(name)
	if !ok {
		return nil, Invalid(field, "unknown rule; known rules are %s", strings.Join(RuleNames(), ", "))
	}
	switch spec.Type {
	case RuleBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, Invalid(field, "must be true or false")
		}
		return b, nil
	case RuleInt:
		var n int64
		d := json.NewDecoder(bytes.NewReader(raw))
		if err := d.Decode(&n); err != nil {
			return nil, Invalid(field, "must be a whole number from %d to %d", spec.Min, spec.Max)
		}
		if n < spec.Min || n > spec.Max {
			return nil, Invalid(field, "must be from %d to %d, not %d", spec.Min, spec.Max, n)
		}
		return n, nil
	case RuleVersion:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || !versionRE.MatchString(s) {
			return nil, Invalid(field, "must be a version such as \"14\" or \"10.3.1\"")
		}
		return s, nil
	case RuleList:
		return decodeListRule(spec, field, raw)
	}
	return nil, fmt.Errorf("rule %s: unhandled type %s", name, spec.Type)
}

// UnmarshalJSON decodes and validates rules.
func (r *Rules) UnmarshalJSON(data []byte) error {
	rules, err := DecodeRules(data)
	if err != nil {
		return err
	}
	*r = rules
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MergeRules combines the rules of every policy that reaches one user. Where
// two policies set the same rule, the stricter value wins (a required
// password over none, the longer minimum length, the shorter lock timeout,
// the newer minimum OS version), so assigning a policy can only tighten what
// a device enforces, never loosen it, whatever the order. Lists (Wi-Fi
// networks, VPN connections, ...) are joined; of two items with the same key
// the one from the policy first in precedence order is kept.
func MergeRules(policies []Policy) Rules {
	out := Rules{}
	for _, p := range policies {
		for name, v := range p.Rules {
			cur, ok := out[name]
			if !ok {
				out[name] = v
				continue
			}
			if joined, isList := joinLists(cur, v); isList {
				out[name] = joined
			} else if stricter(name, v, cur) {
				out[name] = v
			}
		}
	}
	return out
}

// For returns the rules that reach a platform: a rule whose spec names
// platforms reaches only those, so a bootloader is never sent a rule only a
// configuration profile carries.
func (r Rules) For(platform string) Rules {
	out := make(Rules, len(r))
	for name, v := range r {
		if spec, ok := ruleSpec(name); ok && len(spec.Platforms) > 0 && !slices.Contains(spec.Platforms, platform) {
			continue
		}
		out[name] = v
	}
	return out
}

// stricter reports whether a is stricter than b for the rule.
func stricter(name string, a, b any) bool {
	spec, ok := ruleSpec(name)
	if !ok {
		return false
	}
	switch av := a.(type) {
	case bool:
		return spec.Stricter == "true" && av && b != true
	case int64:
		bv, _ := b.(int64)
		return (spec.Stricter == "max" && av > bv) || (spec.Stricter == "min" && av < bv)
	case string:
		bs, _ := b.(string)
		c := packages.CompareVersions(av, bs)
		return (spec.Stricter == "max" && c > 0) || (spec.Stricter == "min" && c < 0)
	}
	return false
}
