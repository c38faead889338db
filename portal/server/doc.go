// Package server wires the portal together: storage, blob store, tokens and
// every HTTP surface on one echo instance, served with graceful shutdown.
package server
