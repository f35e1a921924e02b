package harness_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a client leaves goroutines behind after Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
