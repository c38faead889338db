// Package apk reads and writes ID-value pairs in the APK Signing Block of an
// Android package, the part of a signed APK that its v2 and v3 signatures do
// not cover. The portal stamps each download's configuration there without
// re-signing, and the bootloader reads it back from its own APK.
//
// A v2-signed APK is laid out as
//
//	ZIP entries | APK Signing Block | central directory | end of central directory
//
// and the signing block as
//
//	uint64 size | pairs (uint64 length, uint32 ID, value) | uint64 size | "APK Sig Block 42"
//
// all little endian, where size counts every byte after the first size field.
// The signatures cover the entries, the central directory and the end record
// with its central-directory offset read as the block's offset, so a block
// that grows only moves that offset, and the signatures still verify.
package apk
