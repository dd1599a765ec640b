package policy

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zone database
)

// mustZone loads a time zone or stops the test.
func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// wall parses "2006-01-02 15:04[:05]" in loc, or an RFC 3339 time (needed
// for wall times a clock change repeats).
func wall(t testing.TB, s string, loc *time.Location) time.Time {
	t.Helper()
	if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return tm
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if tm, err := time.ParseInLocation(layout, s, loc); err == nil {
			return tm
		}
	}
	t.Fatalf("wall(%q): not a time", s)
	return time.Time{}
}

// summary renders banners as their kinds separated by spaces, a "!" marking
// one that cannot be closed.
func summary(bs []Banner) string {
	parts := make([]string, 0, len(bs))
	for _, b := range bs {
		s := string(b.Kind)
		if !b.Closable {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
