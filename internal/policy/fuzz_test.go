package policy

import (
	"slices"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

var fuzzZones = []string{"UTC", "America/New_York", "Asia/Tokyo", "America/Havana", "Antarctica/Casey",
	"America/Santiago", "Australia/Lord_Howe", "Pacific/Apia"}

// Flag bits of FuzzBanners' flags argument.
const (
	fRequired = 1 << iota
	fBlock
	fDeadline
	fEnabled
	fExempt
	fDisconnected
	fConfirmed
	fDismiss0 // and the three bits after it, one per kind
)

// FuzzBanners builds arbitrary employee states and checks the banner rules'
// invariants: no duplicates, a stable order, a dismissal never hides a banner
// that cannot be closed and hides a closable one only on its own calendar
// day, and Act agrees with Banners.
func FuzzBanners(f *testing.F) {
	f.Add(uint8(0), uint16(fRequired|fDeadline|fDismiss0), int64(1714564800), int32(60), int32(0), int32(0), int32(0), int32(0), int8(0), int32(-5), int32(0), int32(0), int32(0))
	f.Add(uint8(1), uint16(fRequired|fBlock|fDeadline|fDismiss0), int64(1710054000), int32(-60), int32(0), int32(0), int32(0), int32(0), int8(0), int32(-1), int32(0), int32(0), int32(0))
	f.Add(uint8(2), uint16(fEnabled|fConfirmed|fDismiss0<<1|fDismiss0<<3), int64(1730612400), int32(0), int32(0), int32(-260000), int32(-259200), int32(0), int8(0), int32(0), int32(-3), int32(0), int32(-600))
	f.Add(uint8(3), uint16(fEnabled|fDisconnected|fDismiss0<<2), int64(1710043200), int32(0), int32(0), int32(-1000), int32(0), int32(-30), int8(0), int32(0), int32(0), int32(-20), int32(0))
	f.Add(uint8(6), uint16(fRequired|fExempt|fDeadline|fDisconnected|0x780), int64(1325152800), int32(-100), int32(100), int32(0), int32(0), int32(-10), int8(-1), int32(-1), int32(-1), int32(-1), int32(-1))

	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		locs[i] = mustZone(f, z)
	}
	f.Fuzz(func(t *testing.T, zone uint8, flags uint16, nowSec int64,
		deadlineMin, exemptMin, sinceMin, confirmedMin, disconnectedMin int32,
		codes int8, d0, d1, d2, d3 int32) {
		loc := locs[int(zone)%len(locs)]
		set := Settings{Location: loc}
		// Keep now between 1970 and about 2106 so offsets stay in range.
		now := time.Unix(int64(uint32(nowSec)), 0)
		rel := func(minutes int32) time.Time { return now.Add(time.Duration(minutes) * time.Minute) }
		s := State{
			Requirement: Requirement{
				Required: flags&fRequired != 0,
				Block:    flags&fBlock != 0,
			},
			TwoFactorEnabled:  flags&fEnabled != 0,
			TwoFactorSince:    rel(sinceMin),
			RecoveryCodesLeft: int(codes),
			Dismissed:         map[BannerKind]time.Time{},
		}
		if flags&fDeadline != 0 {
			s.Requirement.Deadline = rel(deadlineMin)
		}
		if flags&fExempt != 0 {
			s.ExemptUntil = rel(exemptMin)
		}
		if flags&fDisconnected != 0 {
			s.DeviceDisconnectedAt = rel(disconnectedMin)
		}
		if flags&fConfirmed != 0 {
			s.LastConfirmedAt = rel(confirmedMin)
		}
		for i, d := range []int32{d0, d1, d2, d3} {
			if flags&(fDismiss0<<i) != 0 {
				s.Dismissed[kinds[i]] = rel(d)
			}
		}

		shown := Banners(s, set, now)
		base := s
		base.Dismissed = nil
		all := Banners(base, set, now)

		for _, bs := range [][]Banner{shown, all} {
			last := -1
			for _, b := range bs {
				i := slices.Index(kinds[:], b.Kind)
				if i <= last {
					t.Fatalf("Banners(%+v) = %+v: duplicate or out of order", s, bs)
				}
				last = i
				if b.Actions == nil || b.Closable != (len(b.Actions) > 0) {
					t.Fatalf("Banners(%+v) = %+v: actions disagree with Closable", s, bs)
				}
			}
		}
		find := func(bs []Banner, k BannerKind) (Banner, bool) {
			i := slices.IndexFunc(bs, func(b Banner) bool { return b.Kind == k })
			if i < 0 {
				return Banner{}, false
			}
			return bs[i], true
		}
		for _, b := range shown {
			if a, ok := find(all, b.Kind); !ok || a.Closable != b.Closable {
				t.Fatalf("Banners(%+v) shows %+v, which is not shown without dismissals", s, b)
			}
		}

		for _, k := range kinds {
			b, active := find(all, k)
			_, visible := find(shown, k)
			if !active {
				if _, err := Act(s, set, k, ActionClose, now); deadbolt.ErrorCode(err) != CodeBannerNotShown {
					t.Fatalf("Act(%s, close) on a banner not shown = %v, want banner_not_shown", k, err)
				}
				continue
			}
			if !b.Closable && !visible {
				t.Fatalf("Banners(%+v) hides %s, which cannot be closed", s, k)
			}
			if b.Closable && !visible && !sameDay(s.Dismissed[k], now, loc) {
				t.Fatalf("Banners(%+v) hides %s without a dismissal today", s, k)
			}

			_, err := Act(s, set, k, ActionClose, now)
			if !b.Closable {
				if deadbolt.ErrorCode(err) != CodeBannerNotClosable {
					t.Fatalf("Act(%s, close) on a banner that cannot be closed = %v, want banner_not_closable", k, err)
				}
				continue
			}
			for _, a := range b.Actions {
				o, err := Act(s, set, k, a, now)
				if err != nil {
					t.Fatalf("Act(%s, %s) on a shown banner = %v", k, a, err)
				}
				after := o.Apply(s)
				if _, still := find(Banners(after, set, now), k); still {
					t.Fatalf("Act(%s, %s) then Banners still shows it", k, a)
				}
				if a == ActionConfirm {
					continue
				}
				next := o.HiddenUntil
				if !next.After(now) || !dateIn(now, loc).before(dateIn(next, loc)) || dateIn(next.Add(-time.Nanosecond), loc) != dateIn(now, loc) {
					t.Fatalf("Act(%s, %s) at %v hides until %v, want the start of the next day", k, a, now.In(loc), next.In(loc))
				}
				undismissed := after
				undismissed.Dismissed = nil
				_, back := find(Banners(after, set, next), k)
				_, want := find(Banners(undismissed, set, next), k)
				if back != want {
					t.Fatalf("Act(%s, %s) at %v: shown at %v = %v, want %v", k, a, now.In(loc), next.In(loc), back, want)
				}
			}
		}
	})
}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"close", "remind_later", "confirm", "", "Close", "close\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAction(s)
		if err != nil {
			if a != "" || deadbolt.ErrorCode(err) != CodeInvalidAction {
				t.Fatalf("ParseAction(%q) = %q, %v, want invalid_action", s, a, err)
			}
			return
		}
		if string(a) != s {
			t.Fatalf("ParseAction(%q) = %q, want the input back", s, a)
		}
	})
}

func FuzzParseBannerKind(f *testing.F) {
	for _, k := range kinds {
		f.Add(string(k))
	}
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseBannerKind(s)
		if err != nil {
			if k != "" || deadbolt.ErrorCode(err) != deadbolt.CodeNotFound {
				t.Fatalf("ParseBannerKind(%q) = %q, %v, want not_found", s, k, err)
			}
			return
		}
		if string(k) != s || !slices.Contains(kinds[:], k) {
			t.Fatalf("ParseBannerKind(%q) = %q, want a known kind equal to the input", s, k)
		}
	})
}

func FuzzParseAfterDeadline(f *testing.F) {
	for _, s := range []string{"", "banner", "block", "BLOCK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAfterDeadline(s)
		if err != nil {
			if a != "" || deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput {
				t.Fatalf("ParseAfterDeadline(%q) = %q, %v, want invalid_input", s, a, err)
			}
			return
		}
		if a != AfterDeadlineBanner && a != AfterDeadlineBlock || (s != "" && string(a) != s) {
			t.Fatalf("ParseAfterDeadline(%q) = %q", s, a)
		}
		if (Policy{AfterDeadline: AfterDeadline(s)}).Validate() != nil {
			t.Fatalf("Policy{AfterDeadline: %q}.Validate() fails though ParseAfterDeadline accepts it", s)
		}
	})
}
