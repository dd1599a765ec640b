package policy

import "time"

// date is a calendar date in some time zone.
type date struct {
	year  int
	month time.Month
	day   int
}

// dateIn returns the calendar date of t in loc.
func dateIn(t time.Time, loc *time.Location) date {
	y, m, d := t.In(loc).Date()
	return date{y, m, d}
}

func (a date) before(b date) bool {
	if a.year != b.year {
		return a.year < b.year
	}
	if a.month != b.month {
		return a.month < b.month
	}
	return a.day < b.day
}

// sameDay reports whether a and b fall on the same calendar date in loc.
func sameDay(a, b time.Time, loc *time.Location) bool {
	return dateIn(a, loc) == dateIn(b, loc)
}

// nextDayStart returns the first instant after t whose calendar date in loc
// is later than t's. It copes with zones whose midnight is skipped or
// repeated by a clock change, and with days a zone skipped altogether.
func nextDayStart(t time.Time, loc *time.Location) time.Time {
	today := dateIn(t, loc)
	// Noon is never inside a clock change, so it names the next date safely
	// even across month and year ends.
	want := dateIn(time.Date(today.year, today.month, today.day+1, 12, 0, 0, 0, loc), loc)
	c := time.Date(want.year, want.month, want.day, 0, 0, 0, 0, loc)
	if !today.before(dateIn(c, loc)) {
		// Midnight fell in a gap and was resolved to the evening before:
		// the day starts when that zone period ends.
		if _, end := c.ZoneBounds(); !end.IsZero() {
			c = end
		}
	}
	// Midnight repeated by a clock going back: take its first occurrence.
	if start, _ := c.ZoneBounds(); !start.IsZero() && !start.After(c) {
		prev := start.Add(-time.Nanosecond)
		_, prevOffset := prev.Zone()
		_, offset := c.Zone()
		if prevOffset > offset {
			earlier := c.Add(-time.Duration(prevOffset-offset) * time.Second)
			if earlier.Before(start) && today.before(dateIn(earlier, loc)) {
				c = earlier
			}
		}
	}
	return c
}
