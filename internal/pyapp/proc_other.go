//go:build !unix

package pyapp

import "os/exec"

// setProcessGroup leaves the default: cancellation kills the helper only.
func setProcessGroup(cmd *exec.Cmd) {}
