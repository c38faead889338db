#!/bin/sh
# Builds the bootloader's Android package from Debian's Android tools, without
# the Android SDK: the launcher's smali assembled with smali, the manifest
# linked with aapt against the platform's framework-res.apk, the Go
# bootloader (GOOS=android GOARCH=arm64) carried as
# lib/arm64-v8a/libbootloader.so, then aligned with zipalign.
#
# The package is left unsigned: the portal signs it with the key it keeps in
# its data dir before serving it, so every build installs over the last.
#
# usage: build.sh BOOTLOADER OUT.apk [VERSION]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 BOOTLOADER OUT.apk [VERSION]" >&2; exit 2; }
exe=$1 out=$2 version=${3:-dev}
framework=${ANDROID_FRAMEWORK_RES:-/usr/share/android-framework-res/framework-res.apk}

for tool in smali aapt zipalign; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "$0: $tool is missing: apt-get install aapt zipalign libsmali-java android-framework-res" >&2
		exit 1
	}
done
[ -f "$framework" ] || { echo "$0: no $framework: apt-get install android-framework-res" >&2; exit 1; }
[ -f "$exe" ] || { echo "$0: no bootloader at $exe" >&2; exit 1; }

# Android refuses to replace an app with a lower version code: count commits.
code=$(git -C "$here" rev-list --count HEAD 2>/dev/null || echo 1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

smali assemble --api 24 -o "$work/classes.dex" "$here/smali"
mkdir -p "$work/lib/arm64-v8a"
cp "$exe" "$work/lib/arm64-v8a/libbootloader.so"
aapt package -f -M "$here/AndroidManifest.xml" -I "$framework" \
	--version-code "$code" --version-name "$version" -F "$work/unaligned.apk"
(cd "$work" && aapt add unaligned.apk classes.dex lib/arm64-v8a/libbootloader.so >/dev/null)
zipalign -f -p 4 "$work/unaligned.apk" "$work/aligned.apk"
mv "$work/aligned.apk" "$out"
