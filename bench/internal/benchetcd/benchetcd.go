// Package benchetcd starts the one etcd a package of in-process benchmarks measures against.
package benchetcd

import (
	"os"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// Main runs m against a one-member etcd (--unsafe-no-fsync) started on a free port, whose
// endpoint it stores in *endpoint first, and exits with m's code. Without an etcd binary it
// exits 0 after saying so, unless CI is set: then the start fails, and so does the run.
func Main(m *testing.M, name string, endpoint *string) {
	if _, err := etcdtest.BinaryPath("etcd", ""); err != nil && os.Getenv("CI") == "" {
		os.Stderr.WriteString(name + ": no etcd to measure against, skipped: " + err.Error() + "\n")
		os.Exit(0)
	}
	cl, err := etcdtest.Start(etcdtest.Options{Args: []string{"--unsafe-no-fsync"}})
	if err != nil {
		os.Stderr.WriteString(name + ": " + err.Error() + "\n")
		os.Exit(1)
	}
	*endpoint = cl.Endpoints()[0]
	code := m.Run()
	cl.Stop()
	os.Exit(code)
}
