//go:build !linux

package etcdtest

import "syscall"

// sysProcAttr has nothing to add outside Linux: members there rely on the test's cleanup.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// waitStopped cannot see process states outside Linux: Pause returns right after SIGSTOP.
func waitStopped(pid int) error { return nil }
