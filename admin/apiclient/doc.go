// Package apiclient is a Go client of the admin API, the one provctl uses:
// logging on, migration packages, user imports, provisioning messages and
// devices. A refusal comes back as an *Error with the API's stable code.
package apiclient
