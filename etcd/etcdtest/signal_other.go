//go:build !unix

package etcdtest

import "os"

// Without Unix signals, Stop kills, and Pause and Resume fail with an error from os.Process.
var (
	sigTerm os.Signal = os.Kill
	sigStop os.Signal = nil
	sigCont os.Signal = nil
)
