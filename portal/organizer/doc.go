// Package organizer reads the organizer data an administrator imports for a
// user (iCalendar, vCard or JSON) into the items a device pulls during
// enterprise activation's slow synchronisation, and checks that a sync
// delivered every item exactly once. It imports only the standard library
// and the iCalendar and vCard parsers, so the store and the handlers decide
// where the items live.
package organizer
