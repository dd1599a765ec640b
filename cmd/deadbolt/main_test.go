package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests in an empty working directory: a command run
// with default settings (deadbolt.db, deadbolt.key) writes there, never
// into the source tree.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deadbolt-cmd-test-")
	if err == nil {
		err = os.Chdir(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
