//go:build !linux

package main

// releaseStartupPages does nothing where /proc/self/maps and MADV_DONTNEED
// on the executable's mappings are not available.
func releaseStartupPages() {}
