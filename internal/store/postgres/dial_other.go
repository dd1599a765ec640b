//go:build !linux

package postgres

import (
	"syscall"
	"time"
)

// setUserTimeout does nothing where TCP_USER_TIMEOUT does not exist; TCP
// keepalive and the store's deadlines still apply.
func setUserTimeout(syscall.RawConn, time.Duration) error { return nil }
