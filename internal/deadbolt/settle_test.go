package deadbolt

import (
	"fmt"
	"testing"
)

func TestSettledWrites(t *testing.T) {
	for _, tc := range []struct {
		name      string
		resets    []string
		streaks   []SettledStreak
		del, hits string
	}{
		{"both reset, neither stored: nothing written", []string{"sf", "rc"},
			[]SettledStreak{{"sf", false, true}, {"rc", false, true}}, "[]", "[]"},
		{"both reset, both stored: deleted", []string{"sf", "rc"},
			[]SettledStreak{{"sf", true, true}, {"rc", true, true}}, "[sf rc]", "[]"},
		{"streak counted but not reset: hit", []string{"sf"},
			[]SettledStreak{{"sf", true, true}, {"rc", false, true}}, "[sf]", "[rc]"},
		{"streak not counted nor reset: untouched", []string{"sf"},
			[]SettledStreak{{"sf", false, true}, {"rc", true, false}}, "[]", "[]"},
		{"another counter reset: deleted as it is", []string{"sf", "other"},
			[]SettledStreak{{"sf", true, true}}, "[sf other]", "[]"},
	} {
		del, hits := SettledWrites(tc.resets, tc.streaks...)
		if fmt.Sprint(del) != tc.del || fmt.Sprint(hits) != tc.hits {
			t.Errorf("%s: delete %v, hit %v; want %s, %s", tc.name, del, hits, tc.del, tc.hits)
		}
	}
}
