// Package web holds what every HTTP surface of the portal shares: the error
// handler that answers {"error":{"code","message"}}, strict JSON decoding,
// paging parameters, request logging and metrics, and app bytes served to
// devices.
package web
