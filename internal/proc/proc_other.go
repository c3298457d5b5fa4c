//go:build !linux

package proc

import (
	"context"
	"errors"
)

var errUnsupported = errors.New("proc: process supervision is only implemented on Linux")

func runReaperIfRequested() {}

func start(context.Context, Spec) (*Group, error) { return nil, errUnsupported }

// Stop is a no-op: no Group can be started on this platform.
func (g *Group) Stop() error { return errUnsupported }

// Kill is Stop without a grace period.
func (g *Group) Kill() error { return errUnsupported }

// Pids is empty: no Group can be started on this platform.
func (g *Group) Pids() []int { return nil }

// Workers is empty: no Group can be started on this platform.
func (g *Group) Workers() []int { return nil }

// Usage fails: no Group can be started on this platform.
func (g *Group) Usage() (Usage, error) { return Usage{}, errUnsupported }

// Tagged is empty on this platform.
func Tagged(tag string) []int { return nil }

// KillTagged does nothing on this platform.
func KillTagged(tag string) int { return 0 }

func cmdline(int) string { return "" }

// Stopped is false on this platform.
func Stopped(int) bool { return false }
