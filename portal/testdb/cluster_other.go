//go:build !unix

package testdb

import (
	"errors"
	"net/url"
)

// startCluster needs Unix process credentials and a shell; elsewhere, use DATABASE_URL.
func startCluster() (url.URL, func(), error) {
	return url.URL{}, nil, errors.New("starting a throwaway cluster is only supported on Unix")
}
