//go:build unix

package check

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the in-process run in a group of its own, so that
// cancelling kills the whole group, and so does killGroup afterwards:
// whatever the app started at import time goes with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
