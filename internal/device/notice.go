package device

import (
	"context"
	"strconv"

	"deadbolt/internal/deadbolt"
)

// NoticeTypes are the audit events the employee's trusted device is told
// about: changes to the factors that protect the account.
var NoticeTypes = map[string]bool{
	deadbolt.EventPhoneLinked:       true,
	deadbolt.EventPhoneRemoved:      true,
	deadbolt.EventAdminPhoneRemoved: true,
	deadbolt.EventRecoveryGenerated: true,
	deadbolt.EventAdminExempted:     true,
	deadbolt.EventAdminUnlocked:     true,
	deadbolt.EventPushReported:      true,
	deadbolt.EventSecondFactorLock:  true,
	deadbolt.EventPasskeyAdded:      true,
	deadbolt.EventPasskeyRemoved:    true,
	deadbolt.EventPasskeyRenamed:    true,
	deadbolt.EventPasskeyCounter:    true,
}

// Notifications tells trusted devices about factor changes.
type Notifications struct {
	svc *Service
	// Push sends a Web Push notice to a device; nil when Web Push is off.
	Push func(ctx context.Context, d *deadbolt.Device, kind string)
}

// NewNotifications returns the notifier of factor changes.
func NewNotifications(svc *Service) *Notifications { return &Notifications{svc: svc} }

// Record is an audit hook: for a notice event it wakes the employee's open
// apps and sends a Web Push notice to the trusted device.
func (n *Notifications) Record(ctx context.Context, e *deadbolt.Event) {
	if e.UserID == "" || !NoticeTypes[e.Type] {
		return
	}
	n.svc.WakeDevices(ctx, e.UserID)
	if n.Push == nil {
		return
	}
	d, err := n.svc.store.TrustedDevice(ctx, e.UserID)
	if err != nil {
		return
	}
	n.Push(ctx, d, e.Type)
}

// Notices lists the device's employee's recent notices, newest first,
// newer than afterID ("" for any).
func Notices(ctx context.Context, events deadbolt.EventStore, userID, afterID string, limit int) ([]*deadbolt.Event, error) {
	list, err := events.Events(ctx, deadbolt.EventFilter{UserID: userID, Limit: 200})
	if err != nil {
		return nil, err
	}
	after, _ := strconv.ParseInt(afterID, 10, 64)
	out := []*deadbolt.Event{}
	for _, e := range list {
		id, _ := strconv.ParseInt(e.ID, 10, 64)
		if id <= after {
			break
		}
		if NoticeTypes[e.Type] {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}
