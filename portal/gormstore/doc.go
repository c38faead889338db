// Package gormstore keeps the portal's data with gorm, on PostgreSQL or on an
// embedded SQLite file, with the schema from the migrations package.
package gormstore
