package policy

import (
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// world is one employee as the service would store them; scenarios change it
// step by step and the state handed to Banners and Act is derived from it.
type world struct {
	policies       []Policy
	exemptUntil    time.Time
	enabled        bool
	since          time.Time
	confirmed      time.Time
	disconnectedAt time.Time
	codes          int
	dismissed      map[BannerKind]time.Time
}

func (w *world) state(now time.Time) State {
	return State{
		Requirement:          Effective(w.policies, now),
		ExemptUntil:          w.exemptUntil,
		TwoFactorEnabled:     w.enabled,
		TwoFactorSince:       w.since,
		LastConfirmedAt:      w.confirmed,
		DeviceDisconnectedAt: w.disconnectedAt,
		RecoveryCodesLeft:    w.codes,
		Dismissed:            w.dismissed,
	}
}

// step is one moment of a scenario: optionally change the world (an
// administrator or the employee doing something elsewhere), optionally act
// on a banner, then look at the home page.
type step struct {
	at     string // wall time in the scenario's zone, or RFC 3339
	change func(w *world, now time.Time)
	kind   BannerKind
	action Action
	code   deadbolt.Code // expected error code of the action, "" for success
	want   string        // summary of the banners shown after the step
}

type scenario struct {
	name  string
	zone  string
	every time.Duration // Settings.CheckEvery, zero for the default
	init  func(w *world)
	steps []step
}

func (sc scenario) run(t *testing.T) {
	loc := mustZone(t, sc.zone)
	set := Settings{Location: loc, CheckEvery: sc.every}
	w := &world{}
	if sc.init != nil {
		sc.init(w)
	}
	for i, st := range sc.steps {
		now := wall(t, st.at, loc)
		if st.change != nil {
			st.change(w, now)
		}
		if st.action != "" {
			o, err := Act(w.state(now), set, st.kind, st.action, now)
			if got := deadbolt.ErrorCode(err); got != st.code {
				t.Fatalf("step %d: Act(%s, %s) at %s = %v, want code %q", i, st.kind, st.action, st.at, err, st.code)
			}
			if err == nil {
				s := o.Apply(w.state(now))
				w.dismissed, w.confirmed = s.Dismissed, s.LastConfirmedAt
			}
		}
		if got := summary(Banners(w.state(now), set, now)); got != st.want {
			t.Fatalf("step %d: Banners at %s = %q, want %q", i, st.at, got, st.want)
		}
	}
}

func require(deadline time.Time, after AfterDeadline) func(w *world, now time.Time) {
	return func(w *world, now time.Time) {
		w.policies = []Policy{{Required: true, Deadline: deadline, AfterDeadline: after}}
	}
}

func TestBannersCalendar(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	tokyo := mustZone(t, "Asia/Tokyo")
	far := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const (
		req     = string(BannerTwoFactorRequired)
		reqHard = req + "!"
		check   = string(BannerCheckLoginParameters)
		device  = string(BannerConfirmDevice)
		codes   = string(BannerRecoveryCodesNeeded)
	)
	scenarios := []scenario{
		{
			name: "closed at 23:59 shows again at midnight, New York spring forward",
			zone: "America/New_York",
			init: func(w *world) { require(far, "")(w, time.Time{}) },
			steps: []step{
				{at: "2024-03-09 09:00", want: req},
				{at: "2024-03-09 09:01", want: req}, // stays until closed
				{at: "2024-03-09 23:59", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-03-09 23:59:59", want: ""},
				{at: "2024-03-10 00:00", want: req},
				// Closed at 00:30 on a 23-hour day: back 22.5 hours later.
				{at: "2024-03-10 00:30", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-03-10 23:59:59", want: ""},
				{at: "2024-03-11 00:00", want: req},
			},
		},
		{
			name: "fall back: 24 hours after closing is still the same day",
			zone: "America/New_York",
			init: func(w *world) { require(far, "")(w, time.Time{}) },
			steps: []step{
				{at: "2024-11-03T00:30:00-04:00", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-11-03T01:30:00-04:00", want: ""},
				{at: "2024-11-03T01:30:00-05:00", want: ""},
				{at: "2024-11-03T23:30:00-05:00", want: ""}, // 24 h later
				{at: "2024-11-04T00:00:00-05:00", want: req},
			},
		},
		{
			name: "organisation zone decides the day, Tokyo",
			zone: "Asia/Tokyo",
			init: func(w *world) { require(far, "")(w, time.Time{}) },
			steps: []step{
				// 23:59 JST is 14:59 UTC; the new Tokyo day starts at
				// 15:00 UTC, still the same UTC date.
				{at: "2024-01-31 23:59", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-02-01 00:00", want: req},
			},
		},
		{
			name: "closing again the same day is harmless",
			zone: "UTC",
			init: func(w *world) { require(far, "")(w, time.Time{}) },
			steps: []step{
				{at: "2024-05-01 08:00", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-05-01 09:00", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-05-02 00:00", want: req},
			},
		},
		{
			name: "past the deadline: not closable, shown every time, extension reopens",
			zone: "America/New_York",
			init: func(w *world) {
				require(time.Date(2024, 5, 1, 12, 0, 0, 0, ny), "")(w, time.Time{})
			},
			steps: []step{
				{at: "2024-05-01 09:00", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-05-01 11:59:59", want: ""},
				// The deadline overrides today's close.
				{at: "2024-05-01 12:00", want: reqHard},
				{at: "2024-05-01 12:00:01", kind: BannerTwoFactorRequired, action: ActionClose, code: CodeBannerNotClosable, want: reqHard},
				{at: "2024-05-01 12:00:02", kind: BannerTwoFactorRequired, action: ActionRemindLater, code: CodeBannerNotClosable, want: reqHard},
				{at: "2024-05-01 12:00:03", want: reqHard},
				{at: "2024-05-09 08:00", want: reqHard},
				// An administrator extends the deadline.
				{at: "2024-05-09 08:01", change: require(time.Date(2024, 6, 1, 0, 0, 0, 0, ny), ""), want: req},
				{at: "2024-05-09 08:02", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-05-10 00:00", want: req},
				{at: "2024-06-01 00:00", want: reqHard},
				// Setting it up ends it.
				{at: "2024-06-01 00:05", change: func(w *world, now time.Time) { w.enabled, w.since, w.codes = true, now, 10 }, want: ""},
			},
		},
		{
			name: "extension the same day as a close keeps today's close",
			zone: "UTC",
			init: func(w *world) { require(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), "")(w, time.Time{}) },
			steps: []step{
				{at: "2024-05-01 09:00", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2024-05-01 13:00", want: reqHard},
				{at: "2024-05-01 14:00", change: require(time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC), ""), want: ""},
				{at: "2024-05-02 00:00", want: req},
			},
		},
		{
			name: "no deadline: closable for good",
			zone: "Asia/Tokyo",
			init: func(w *world) { require(time.Time{}, AfterDeadlineBlock)(w, time.Time{}) },
			steps: []step{
				{at: "2024-05-01 09:00", want: req},
				{at: "2035-05-01 09:00", kind: BannerTwoFactorRequired, action: ActionClose, want: ""},
				{at: "2035-05-02 09:00", want: req},
			},
		},
		{
			name: "dated pause hides it, it returns when the pause ends",
			zone: "America/New_York",
			init: func(w *world) {
				w.policies = []Policy{{Required: true, Deadline: time.Date(2024, 5, 1, 0, 0, 0, 0, ny)}}
			},
			steps: []step{
				{at: "2024-05-02 10:00", want: reqHard},
				{at: "2024-05-02 10:01", change: func(w *world, now time.Time) {
					w.policies[0].PausedUntil = time.Date(2024, 5, 10, 9, 0, 0, 0, ny)
				}, want: ""},
				{at: "2024-05-02 10:02", kind: BannerTwoFactorRequired, action: ActionClose, code: CodeBannerNotShown, want: ""},
				{at: "2024-05-10 08:59:59", want: ""},
				// Still overdue: the pause did not move the deadline.
				{at: "2024-05-10 09:00", want: reqHard},
			},
		},
		{
			name: "pause until turned on again, with an extension",
			zone: "UTC",
			init: func(w *world) {
				w.policies = []Policy{{Required: true, Deadline: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}}
			},
			steps: []step{
				{at: "2024-05-02 10:00", want: reqHard},
				{at: "2024-05-02 10:01", change: func(w *world, now time.Time) { w.policies[0].Paused = true }, want: ""},
				{at: "2025-01-01 10:00", want: ""},
				{at: "2025-01-02 10:00", change: func(w *world, now time.Time) {
					w.policies[0].Paused = false
					w.policies[0].Deadline = now.AddDate(0, 1, 0)
				}, want: req},
			},
		},
		{
			name: "several workgroups: the earliest active deadline applies",
			zone: "Asia/Tokyo",
			init: func(w *world) {
				w.policies = []Policy{
					{Required: true, Deadline: time.Date(2024, 5, 20, 0, 0, 0, 0, tokyo), AfterDeadline: AfterDeadlineBlock},
					{Required: true, Deadline: time.Date(2024, 5, 10, 0, 0, 0, 0, tokyo)},
					{Required: false, Deadline: time.Date(2024, 5, 2, 0, 0, 0, 0, tokyo)},
				}
			},
			steps: []step{
				{at: "2024-05-05 09:00", want: req},
				{at: "2024-05-10 00:00", want: reqHard},
				// The earlier workgroup pauses: the later deadline applies.
				{at: "2024-05-11 09:00", change: func(w *world, now time.Time) { w.policies[1].Paused = true }, want: req},
				{at: "2024-05-20 00:00", want: reqHard},
			},
		},
		{
			name: "exemption hides it until its end",
			zone: "America/New_York",
			init: func(w *world) {
				require(time.Date(2024, 5, 1, 0, 0, 0, 0, ny), AfterDeadlineBlock)(w, time.Time{})
				w.exemptUntil = time.Date(2024, 5, 15, 0, 0, 0, 0, ny)
			},
			steps: []step{
				{at: "2024-05-03 09:00", want: ""},
				{at: "2024-05-03 09:01", kind: BannerTwoFactorRequired, action: ActionClose, code: CodeBannerNotShown, want: ""},
				{at: "2024-05-14 23:59:59", want: ""},
				{at: "2024-05-15 00:00", want: reqHard},
			},
		},
		{
			name: "check login parameters at 180 days, confirmed, again at 360",
			zone: "America/New_York",
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 10, 15, 0, 0, 0, time.UTC)
			},
			steps: []step{
				{at: "2024-01-10T15:00:00Z", want: ""},
				{at: "2024-07-08T14:59:59Z", want: ""}, // day 180 minus a second
				{at: "2024-07-08T15:00:00Z", want: check},
				// Closed for the day, still due the next day.
				{at: "2024-07-08T15:01:00Z", kind: BannerCheckLoginParameters, action: ActionClose, want: ""},
				{at: "2024-07-09 00:00", want: check},
				{at: "2024-07-09 00:01", kind: BannerTwoFactorRequired, action: ActionConfirm, code: CodeInvalidAction, want: check},
				{at: "2024-07-09 00:02", kind: BannerCheckLoginParameters, action: ActionConfirm, want: ""},
				{at: "2024-07-10 00:00", want: ""},
				{at: "2025-01-05T04:01:59Z", want: ""},
				{at: "2025-01-05T04:02:00Z", want: check}, // 180 days after confirming
			},
		},
		{
			name: "confirmed right at day 180: next at day 360",
			zone: "UTC",
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			},
			steps: []step{
				{at: "2024-06-29 00:00", kind: BannerCheckLoginParameters, action: ActionConfirm, want: ""}, // day 180
				{at: "2024-12-25 23:59:59", want: ""},
				{at: "2024-12-26 00:00", want: check}, // day 360
				{at: "2024-12-26 00:01", kind: BannerCheckLoginParameters, action: ActionConfirm, want: ""},
				{at: "2025-06-23 23:59", want: ""},
				{at: "2025-06-24 00:01", want: check}, // day 540
			},
		},
		{
			name:  "check period is a setting; confirming early is refused",
			zone:  "UTC",
			every: 30 * 24 * time.Hour,
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			},
			steps: []step{
				{at: "2024-01-20 00:00", kind: BannerCheckLoginParameters, action: ActionConfirm, code: CodeBannerNotShown, want: ""},
				{at: "2024-01-31 00:00", want: check},
			},
		},
		{
			name:  "a new check period ignores a close from the previous one",
			zone:  "UTC",
			every: time.Hour,
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			},
			steps: []step{
				{at: "2024-01-01 01:05", kind: BannerCheckLoginParameters, action: ActionClose, want: ""},
				{at: "2024-01-01 01:10", kind: BannerCheckLoginParameters, action: ActionConfirm, want: ""},
				{at: "2024-01-01 02:09", want: ""},
				{at: "2024-01-01 02:10", want: check},
			},
		},
		{
			name: "confirm device: remind later until the next day, a new disconnection shows at once",
			zone: "Asia/Tokyo",
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 1, 0, 0, 0, 0, tokyo)
			},
			steps: []step{
				{at: "2024-03-01 10:00", change: func(w *world, now time.Time) { w.disconnectedAt = now }, want: device},
				{at: "2024-03-01 10:05", kind: BannerConfirmDevice, action: ActionRemindLater, want: ""},
				{at: "2024-03-01 23:59", want: ""},
				{at: "2024-03-02 00:00", want: device},
				{at: "2024-03-02 08:00", kind: BannerConfirmDevice, action: ActionConfirm, code: CodeInvalidAction, want: device},
				{at: "2024-03-02 08:01", kind: BannerConfirmDevice, action: ActionRemindLater, want: ""},
				// Paired again, then logged out everywhere the same day.
				{at: "2024-03-02 09:00", change: func(w *world, now time.Time) { w.disconnectedAt, w.since = time.Time{}, now }, want: ""},
				{at: "2024-03-02 09:30", change: func(w *world, now time.Time) { w.disconnectedAt = now }, want: device},
				{at: "2024-03-02 09:31", kind: BannerRecoveryCodesNeeded, action: ActionClose, code: CodeBannerNotShown, want: device},
			},
		},
		{
			name: "disconnected device holds back the parameters check",
			zone: "UTC",
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			},
			steps: []step{
				{at: "2024-08-01 00:00", want: check},
				{at: "2024-08-01 00:01", change: func(w *world, now time.Time) { w.disconnectedAt = now }, want: device},
				{at: "2024-08-01 00:02", kind: BannerCheckLoginParameters, action: ActionConfirm, code: CodeBannerNotShown, want: device},
				// Pairing again restarts the period.
				{at: "2024-08-01 00:03", change: func(w *world, now time.Time) { w.disconnectedAt, w.since = time.Time{}, now }, want: ""},
			},
		},
		{
			name: "recovery codes needed after pairing voided them",
			zone: "America/New_York",
			init: func(w *world) {
				w.enabled, w.codes = true, 10
				w.since = time.Date(2024, 1, 1, 0, 0, 0, 0, ny)
			},
			steps: []step{
				{at: "2024-02-01 10:00", want: ""},
				{at: "2024-02-01 10:01", change: func(w *world, now time.Time) { w.codes = 0 }, want: codes},
				{at: "2024-02-01 10:02", kind: BannerRecoveryCodesNeeded, action: ActionClose, want: ""},
				{at: "2024-02-02 00:00", want: codes},
				{at: "2024-02-02 00:01", change: func(w *world, now time.Time) { w.codes = 10 }, want: ""},
				// Without two-factor authentication codes are not needed.
				{at: "2024-02-03 00:00", change: func(w *world, now time.Time) { w.codes, w.enabled = 0, false }, want: ""},
			},
		},
		{
			name: "several banners keep their order",
			zone: "UTC",
			init: func(w *world) {
				require(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "")(w, time.Time{})
				w.disconnectedAt = time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
			},
			steps: []step{
				{at: "2024-02-02 00:00", want: reqHard + " " + device},
				{at: "2024-02-02 00:01", change: func(w *world, now time.Time) {
					w.policies, w.enabled, w.since, w.disconnectedAt = nil, true, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}
				}, want: check + " " + codes},
				{at: "2024-02-02 00:02", change: func(w *world, now time.Time) { w.disconnectedAt = now }, want: device + " " + codes},
			},
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, sc.run)
	}
}

func TestBannerFields(t *testing.T) {
	deadline := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	s := State{Requirement: Requirement{Required: true, Deadline: deadline}}
	tests := []struct {
		name     string
		s        State
		now      time.Time
		closable bool
		actions  []Action
	}{
		{"before deadline", s, deadline.Add(-time.Hour), true, []Action{ActionClose}},
		{"after deadline", s, deadline.Add(time.Hour), false, []Action{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := Banners(tt.s, Settings{}, tt.now)
			if len(bs) != 1 {
				t.Fatalf("Banners(%+v) = %+v, want one banner", tt.s, bs)
			}
			b := bs[0]
			if b.Kind != BannerTwoFactorRequired || b.Closable != tt.closable || !b.Deadline.Equal(deadline) ||
				b.Actions == nil || len(b.Actions) != len(tt.actions) || (len(b.Actions) > 0 && b.Actions[0] != tt.actions[0]) {
				t.Errorf("Banners(%+v) = %+v, want closable %v, deadline %v, actions %v", tt.s, b, tt.closable, deadline, tt.actions)
			}
		})
	}
	if got := Banners(State{}, Settings{}, deadline); got == nil || len(got) != 0 {
		t.Errorf("Banners(zero) = %#v, want an empty, non-nil list", got)
	}
}

func TestCheckDue(t *testing.T) {
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    State
		set  Settings
		want time.Time
	}{
		{"from setup", State{TwoFactorSince: since}, Settings{}, since.Add(DefaultCheckEvery)},
		{"from later confirmation", State{TwoFactorSince: since, LastConfirmedAt: since.AddDate(0, 3, 0)}, Settings{}, since.AddDate(0, 3, 0).Add(DefaultCheckEvery)},
		{"older confirmation ignored", State{TwoFactorSince: since, LastConfirmedAt: since.AddDate(-1, 0, 0)}, Settings{}, since.Add(DefaultCheckEvery)},
		{"custom period", State{TwoFactorSince: since}, Settings{CheckEvery: time.Hour}, since.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckDue(tt.s, tt.set); !got.Equal(tt.want) {
				t.Errorf("CheckDue(%+v, %+v) = %v, want %v", tt.s, tt.set, got, tt.want)
			}
		})
	}
}
