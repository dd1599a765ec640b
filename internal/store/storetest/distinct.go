package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// distinctTests are the contract tests of DistinctStore.
var distinctTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"Distinct", testDistinct},
	{"DistinctRace", testDistinctRace},
	{"DistinctSameRace", testDistinctSameRace},
}

func addDistinct(t *testing.T, s deadbolt.Store, key, member string, max int, now time.Time) deadbolt.Distinct {
	t.Helper()
	d, err := s.AddDistinct(context.Background(), key, member, max, now, time.Hour)
	if err != nil {
		t.Fatalf("AddDistinct(%q, %q) = %v", key, member, err)
	}
	return d
}

func testDistinct(t *testing.T, s deadbolt.Store) {
	const max = 3
	steps := []struct {
		key, member string
		at          time.Duration
		held        bool
		n           int
		first       time.Duration
	}{
		{"a", "+1", 0, true, 1, 0},
		{"a", "+1", time.Minute, true, 1, 0}, // the same again: no new member
		{"a", "+12", 2 * time.Minute, true, 2, 0},
		{"a", "+2", 3 * time.Minute, true, 3, 0}, // "+2" is not "+12"'s tail
		{"a", "+3", 4 * time.Minute, false, 3, 0},
		{"a", "+3", 5 * time.Minute, false, 3, 0}, // refused again: not let in later
		{"a", "+12", 6 * time.Minute, true, 3, 0}, // members stay held when full
		{"a", "", 7 * time.Minute, false, 3, 0},
		{"b", "+3", 8 * time.Minute, true, 1, 8 * time.Minute}, // sets are apart
		{"a", "+3", 59 * time.Minute, false, 3, 0},
		{"a", "+3", time.Hour, true, 1, time.Hour}, // the window restarts, empty
		{"a", "+1", time.Hour + time.Minute, true, 2, time.Hour},
	}
	for i, st := range steps {
		d := addDistinct(t, s, st.key, st.member, max, T0.Add(st.at))
		if d.Held != st.held || d.N != st.n || !d.First.Equal(T0.Add(st.first)) {
			t.Errorf("step %d: AddDistinct(%q, %q) = %+v, want held=%v n=%d first=%v", i, st.key, st.member, d, st.held, st.n, T0.Add(st.first))
		}
	}
	if _, err := s.AddDistinct(context.Background(), "a", "x\ny", max, T0, time.Hour); err == nil {
		t.Error("AddDistinct took a member holding a newline")
	}
	if _, err := s.AddDistinct(context.Background(), "c", "x", 0, T0, time.Hour); err == nil {
		t.Error("AddDistinct took a cap of 0")
	}
}

// testDistinctRace: 50 different members added at once to a set capped at
// 5 — exactly 5 are held, and they are the set.
func testDistinctRace(t *testing.T, s deadbolt.Store) {
	const n, max = 50, 5
	var mu sync.Mutex
	var held []string
	wins := parallel(t, n, func(i int) (bool, error) {
		m := fmt.Sprintf("+1415555%04d", i)
		d, err := s.AddDistinct(context.Background(), "race", m, max, T0, time.Hour)
		if err == nil && d.Held {
			mu.Lock()
			held = append(held, m)
			mu.Unlock()
		}
		return err == nil && d.Held, err
	})
	if wins != max {
		t.Fatalf("%d of %d parallel members were held, want %d", wins, n, max)
	}
	for _, m := range held {
		if d := addDistinct(t, s, "race", m, max, T0.Add(time.Minute)); !d.Held || d.N != max {
			t.Errorf("AddDistinct(held %q) again = %+v, want held with n=%d", m, d, max)
		}
	}
	if d := addDistinct(t, s, "race", "+14155559999", max, T0.Add(time.Minute)); d.Held {
		t.Errorf("AddDistinct(new member of a full set) = %+v, want not held", d)
	}
}

// testDistinctSameRace: one member added 50 times at once is one member.
func testDistinctSameRace(t *testing.T, s deadbolt.Store) {
	wins := parallel(t, 50, func(int) (bool, error) {
		d, err := s.AddDistinct(context.Background(), "same", "+14155550143", 2, T0, time.Hour)
		return err == nil && d.Held && d.N == 1, err
	})
	if wins != 50 {
		t.Errorf("%d of 50 parallel additions of one member saw it held alone, want 50", wins)
	}
	if d := addDistinct(t, s, "same", "+447700900123", 2, T0); !d.Held || d.N != 2 {
		t.Errorf("a second member after the race = %+v, want held with n=2", d)
	}
}
