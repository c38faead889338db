// Package admin is where administrators and helpdesk staff work: the REST API
// (admin/api) and, beside it, the web console.
package admin
