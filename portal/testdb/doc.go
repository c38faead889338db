// Package testdb gives tests real databases: a throwaway PostgreSQL cluster per test binary, or SQLite files.
package testdb
