package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
)

// TestNotifierPublishesAtOnce: 200 publishes at once, on 100 topics, from
// one node reach the subscribers of every topic on another node, and each
// Publish returns only once its notification is sent (nil); two in a row
// on one topic wake its subscriber twice.
func TestNotifierPublishesAtOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, dsn, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	log := slog.New(slog.DiscardHandler)
	a, b := open().Notifier(ctx, log), open().Notifier(ctx, log)

	const topics = 100
	wakes := make([]<-chan struct{}, topics)
	for i := range wakes {
		ch, stop := b.Subscribe(fmt.Sprint("device:", i))
		defer stop()
		wakes[i] = ch
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*topics)
	start := make(chan struct{})
	for i := range 2 * topics {
		wg.Go(func() {
			<-start
			errs <- a.Publish(ctx, fmt.Sprint("device:", i%topics))
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Publish = %v", err)
		}
	}
	for i, ch := range wakes {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("topic %d: no wake-up on the other node", i)
		}
	}

	// One after the other: each is a notification of its own.
	for round := range 2 {
		if err := a.Publish(ctx, "device:0"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wakes[0]:
		case <-time.After(5 * time.Second):
			t.Fatalf("publish #%d in a row: no wake-up", round+1)
		}
	}
}
