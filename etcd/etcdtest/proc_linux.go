//go:build linux

package etcdtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// sysProcAttr asks the kernel to kill a member when the test process dies, so that a test
// binary killed by a timeout or a signal leaves no etcd behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitStopped waits until every thread of process pid has stopped after SIGSTOP, which on a
// busy machine can take a while: until then a paused member may still answer.
func waitStopped(pid int) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	deadline := time.Now().Add(5 * time.Second)
	for {
		if allStopped(dir) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcdtest: process %d did not stop within 5s of SIGSTOP", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// allStopped reports whether every thread listed in dir (/proc/PID/task/) is stopped or dead.
func allStopped(dir string) bool {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return os.IsNotExist(err) // the process is gone: nothing left to stop
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(dir + task.Name() + "/stat")
		if err != nil {
			continue // the thread has exited
		}
		// The state follows the command name, which is in parentheses and may hold anything.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return false
		}
		switch stat[i+2] {
		case 'T', 't', 'Z', 'X':
		default:
			return false
		}
	}
	return true
}
