package main

import (
	"context"
	"errors"
	"io"
)

// cmdDevice runs the terminal companion.
func cmdDevice(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return errors.New("device: not available in this build")
}
