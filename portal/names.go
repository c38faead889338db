package portal

import "regexp"

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// CheckUsername refuses usernames people could not type on a phone or that
// could be mistaken for something else in a log.
func CheckUsername(field, s string) error {
	if !usernameRE.MatchString(s) {
		return Invalid(field, "must be 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit")
	}
	return nil
}
