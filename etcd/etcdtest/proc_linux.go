//go:build linux

package etcdtest

import "syscall"

// sysProcAttr asks the kernel to kill a member when the test process dies, so that a test
// binary killed by a timeout or a signal leaves no etcd behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
