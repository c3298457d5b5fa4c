//go:build !linux

package plan

// lockOut is a no-op where wsgibench does not run servers anyway.
func lockOut(string) (func(), error) { return func() {}, nil }
