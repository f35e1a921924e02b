//go:build !linux

package etcdtest

import "syscall"

// sysProcAttr has nothing to add outside Linux: members there rely on the test's cleanup.
func sysProcAttr() *syscall.SysProcAttr { return nil }
