package portal

import "slices"

// Platform names an operating system and architecture an artifact or bootloader is built for.
type Platform string

// Platforms lists every platform the portal builds for, in the order people see them.
var Platforms = []Platform{
	"linux-amd64", "linux-arm64",
	"windows-amd64", "windows-arm64",
	"darwin-amd64", "darwin-arm64",
	"android-arm64",
}

// Valid reports whether p is one of Platforms.
func (p Platform) Valid() bool { return slices.Contains(Platforms, p) }

// PlatformIOS is iPhones and iPads. No bootloader is built for them: they
// get a configuration profile, and in-house apps as .ipa artifacts.
const PlatformIOS Platform = "ios"

// ArtifactPlatforms are the platforms an app may carry an artifact for:
// every bootloader platform, and iOS.
var ArtifactPlatforms = append(slices.Clip(Platforms), PlatformIOS)

// ValidArtifact reports whether p is one of ArtifactPlatforms.
func (p Platform) ValidArtifact() bool { return slices.Contains(ArtifactPlatforms, p) }
