package web

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"provportal/portal"
)

// ruleText is a rule's value as the policy form shows it: a list rule (Wi-Fi
// networks, VPN connections, ...) as the JSON the API takes, so it can be
// edited and sent back as it is; any other rule as its plain value.
func ruleText(v any) string {
	if reflect.ValueOf(v).Kind() == reflect.Slice {
		if b, err := json.Marshal(v); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// listRuleHint tells what a list rule's JSON holds, from the catalogue.
func listRuleHint(spec portal.RuleSpec) string {
	fields := make([]string, len(spec.Items))
	for i, f := range spec.Items {
		fields[i] = f.Name
		if f.Required {
			fields[i] += " (required)"
		}
	}
	return fmt.Sprintf("%s A JSON list of objects with %s. Reaches iPhones and iPads only.", spec.Description, strings.Join(fields, ", "))
}

// listOwner is the form field a refusal inside a list rule belongs to:
// "rules.wifi_networks[1].password" is shown beside "rules.wifi_networks".
// It is empty when no field of the form holds the one named.
func listOwner(fields []field, name string) string {
	if i := strings.IndexByte(name, '['); i > 0 && hasField(fields, name[:i]) {
		return name[:i]
	}
	return ""
}
