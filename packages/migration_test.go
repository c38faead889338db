package packages_test

import (
	"errors"
	"strings"
	"testing"

	"provportal/packages"
)

func TestLegacyClientCheck(t *testing.T) {
	tests := []struct {
		name  string
		goos  string
		l     *packages.LegacyClient
		field string // empty: accepted
	}{
		{"none", "linux", nil, ""},
		{"unix_paths", "linux", &packages.LegacyClient{Paths: []string{"/opt/oldmdm", "/etc/oldmdm/"}, Service: "oldmdm-agent.service"}, ""},
		{"windows_paths", "windows", &packages.LegacyClient{Paths: []string{`C:\Program Files\OldMDM`, `d:/OldMDM`}, Service: "OldMDMAgent"}, ""},
		{"relative", "linux", &packages.LegacyClient{Paths: []string{"opt/oldmdm"}}, "paths"},
		{"root", "darwin", &packages.LegacyClient{Paths: []string{"//"}}, "paths"},
		{"dot_dot", "linux", &packages.LegacyClient{Paths: []string{"/opt/../etc"}}, "paths"},
		{"unix_path_on_windows", "windows", &packages.LegacyClient{Paths: []string{"/opt/oldmdm"}}, "paths"},
		{"drive_root", "windows", &packages.LegacyClient{Paths: []string{`C:\`}}, "paths"},
		{"windows_dot_dot", "windows", &packages.LegacyClient{Paths: []string{`C:\OldMDM\..\Windows`}}, "paths"},
		{"control_character", "linux", &packages.LegacyClient{Paths: []string{"/opt/old\nmdm"}}, "paths"},
		{"too_many_paths", "linux", &packages.LegacyClient{Paths: strings.Split(strings.Repeat("/opt/x,", packages.MaxLegacyPaths+1), ",")[:packages.MaxLegacyPaths+1]}, "paths"},
		{"service_with_space", "linux", &packages.LegacyClient{Service: "old mdm"}, "service"},
		{"uninstall_two_lines", "linux", &packages.LegacyClient{Uninstall: "stop\nremove"}, "uninstall"},
		{"uninstall_too_long", "linux", &packages.LegacyClient{Uninstall: strings.Repeat("x", 5000)}, "uninstall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Check(tt.goos)
			var le *packages.LegacyError
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &le) || le.Field != tt.field):
				t.Errorf("got %v, want a refusal of legacy.%s", err, tt.field)
			}
		})
	}
}

func TestSettingsCheck(t *testing.T) {
	tests := []struct {
		name string
		s    packages.Settings
		ok   bool
	}{
		{"empty", packages.Settings{}, true},
		{"host_and_port", packages.Settings{Host: "portal.example.com", Port: 443}, true},
		{"server_with_port", packages.Settings{Server: "https://portal.example.com", Port: 8443}, true},
		{"alias_and_relay", packages.Settings{Alias: "acme", Relay: "https://relay.example.com"}, true},
		{"relay_alone", packages.Settings{Relay: "https://relay.example.com"}, true},
		{"alias_and_host", packages.Settings{Alias: "acme", Host: "portal.example.com"}, false},
		{"alias_and_server", packages.Settings{Alias: "acme", Server: "https://portal.example.com"}, false},
		{"relay_and_host", packages.Settings{Relay: "https://relay.example.com", Host: "portal.example.com"}, false},
		{"port_out_of_range", packages.Settings{Host: "h", Port: 65536}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
