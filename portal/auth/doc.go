// Package auth hashes passwords with argon2id, issues and checks the signed,
// expiring tokens administrators use, and logs administrators on with
// failed attempts slowed down per account and per address.
package auth
