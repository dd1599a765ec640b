package deadbolt_test

import (
	"context"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

func TestHub(t *testing.T) {
	h := deadbolt.NewHub()
	a, stopA := h.Subscribe("x")
	b, stopB := h.Subscribe("y")
	defer stopB()
	h.Publish(context.Background(), "x")
	h.Publish(context.Background(), "x") // coalesced
	select {
	case <-a:
	case <-time.After(time.Second):
		t.Fatal("subscriber of x not woken")
	}
	select {
	case <-a:
		t.Fatal("two wake-ups not coalesced")
	default:
	}
	select {
	case <-b:
		t.Fatal("subscriber of y woken by x")
	default:
	}
	h.WakeAll()
	<-a
	<-b
	stopA()
	if h.Len() != 1 {
		t.Errorf("Len = %d after stop, want 1", h.Len())
	}
}
