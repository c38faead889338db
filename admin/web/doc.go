// Package web is the admin console under /admin: server-rendered pages for
// administrators and helpdesk staff, signed on with the same logon, tokens
// and store as the admin REST API, with templates and static files embedded
// in the binary.
package web
