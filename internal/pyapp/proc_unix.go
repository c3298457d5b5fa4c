//go:build unix

package pyapp

import (
	"os/exec"
	"syscall"
)

// setProcessGroup makes cancellation kill the helper's whole process group.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
