// Package sms composes and sends provisioning messages. Phone numbers are
// validated and normalised to E.164 here, for every part of the portal.
package sms
