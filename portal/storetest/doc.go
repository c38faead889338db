// Package storetest is the test suite every portal.Store backend runs.
package storetest
