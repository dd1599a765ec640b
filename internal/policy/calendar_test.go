package policy

import (
	"testing"
	"time"
)

func TestNextDayStart(t *testing.T) {
	tests := []struct {
		zone string
		at   string // RFC 3339 or wall time in zone
		want string // RFC 3339
	}{
		{"UTC", "2024-01-31 23:59:59", "2024-02-01T00:00:00Z"},
		{"UTC", "2024-12-31 00:00", "2025-01-01T00:00:00Z"},
		{"UTC", "2024-02-28 12:00", "2024-02-29T00:00:00Z"},
		{"Asia/Tokyo", "2024-01-31 23:59", "2024-02-01T00:00:00+09:00"},
		{"Asia/Tokyo", "2024-02-01 00:00", "2024-02-02T00:00:00+09:00"},
		// New York springs forward at 02:00 and falls back at 02:00: the
		// day is 23 or 25 hours long, midnight is unaffected.
		{"America/New_York", "2024-03-09 23:59", "2024-03-10T00:00:00-05:00"},
		{"America/New_York", "2024-03-10 00:30", "2024-03-11T00:00:00-04:00"},
		{"America/New_York", "2024-11-03 00:30", "2024-11-04T00:00:00-05:00"},
		{"America/New_York", "2024-11-03T01:30:00-05:00", "2024-11-04T00:00:00-05:00"},
		// Havana skips midnight in March (00:00 → 01:00) and repeats the
		// hour after midnight in November.
		{"America/Havana", "2024-03-09 20:00", "2024-03-10T01:00:00-04:00"},
		{"America/Havana", "2024-11-02 23:00", "2024-11-03T00:00:00-04:00"},
		// Santiago skips midnight in September.
		{"America/Santiago", "2024-09-07 12:00", "2024-09-08T01:00:00-03:00"},
		// Beirut skips midnight in March and repeats 23:00 in October.
		{"Asia/Beirut", "2024-03-30 12:00", "2024-03-31T01:00:00+03:00"},
		{"Asia/Beirut", "2024-10-26T23:30:00+02:00", "2024-10-27T00:00:00+02:00"},
		// Casey's clocks went back three hours at midnight: the day
		// starts at the first of its two midnights.
		{"Antarctica/Casey", "2020-03-07 17:00", "2020-03-08T00:00:00+11:00"},
		// Samoa skipped 30 December 2011 altogether.
		{"Pacific/Apia", "2011-12-29 09:00", "2011-12-31T00:00:00+14:00"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.at, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			at := wall(t, tt.at, loc)
			want := wall(t, tt.want, loc)
			if got := nextDayStart(at, loc); !got.Equal(want) {
				t.Errorf("nextDayStart(%v, %s) = %v, want %v", at, tt.zone, got.In(loc), want.In(loc))
			}
		})
	}
}

// TestNextDayStartWalk checks, every hour from 2011 to 2024, that the
// next day starts later, on a later date, and that the instant just before it
// is still on the same date.
func TestNextDayStartWalk(t *testing.T) {
	zones := []string{"UTC", "America/New_York", "Asia/Tokyo", "America/Havana",
		"America/Santiago", "Asia/Beirut", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/London", "Antarctica/Casey", "Pacific/Apia"}
	for _, zone := range zones {
		t.Run(zone, func(t *testing.T) {
			loc := mustZone(t, zone)
			start := time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
			end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for at := start; at.Before(end); at = at.Add(time.Hour) {
				next := nextDayStart(at, loc)
				today := dateIn(at, loc)
				if !next.After(at) || !today.before(dateIn(next, loc)) {
					t.Fatalf("nextDayStart(%v) = %v, not a later day", at.In(loc), next.In(loc))
				}
				if last := next.Add(-time.Nanosecond); dateIn(last, loc) != today {
					t.Fatalf("nextDayStart(%v) = %v, but %v is already another day", at.In(loc), next.In(loc), last.In(loc))
				}
				if d := next.Sub(at); d > 27*time.Hour { // Casey once had a 27-hour day
					t.Fatalf("nextDayStart(%v) = %v, %v away", at.In(loc), next.In(loc), d)
				}
			}
		})
	}
}
