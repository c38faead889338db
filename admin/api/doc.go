// Package api is the admin REST API under /api/v1: users, groups, apps,
// policies, assignments, devices, administrators and the audit log.
package api
