// Package blob is a content-addressed store for app artifacts on local disk:
// bytes are named by their SHA-256, written once, streamed in and out, never
// held whole in memory.
//
// On-disk layout under the store directory:
//
//	tmp/                      uploads in progress (put-*), removed on failure
//	sha256/<aa>/<aabbcc…>     finished blobs, named by their full lowercase hex
//	                          SHA-256 and sharded by its first two hex digits
//
// A blob only appears under sha256/ through an atomic rename of a complete,
// fsynced temp file on the same filesystem, so readers never see partial
// content.
package blob
