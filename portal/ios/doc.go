// Package ios provisions iPhones and iPads the way Apple's over-the-air
// profile delivery works: a signed Profile Service profile asks the device
// for its attributes, the device posts them back signed, and the portal
// answers with the user's configuration profile, built from their merged
// policies and signed with the portal's profile-signing certificate. It also
// serves the manifests through which iOS installs in-house apps (.ipa).
package ios
