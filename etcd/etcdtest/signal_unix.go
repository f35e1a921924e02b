//go:build unix

package etcdtest

import (
	"os"
	"syscall"
)

// Signals for Member.Stop, Pause and Resume.
var (
	sigTerm os.Signal = syscall.SIGTERM
	sigStop os.Signal = syscall.SIGSTOP
	sigCont os.Signal = syscall.SIGCONT
)
