package captcha

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a [Store] held in this process's memory, for tests and
// single-process tools. It is not for servers: challenges kept in one
// process cannot be checked by another node, so production uses the
// SQLite and PostgreSQL stores.
//
// A used challenge is removed at once; expired ones are swept as new
// challenges arrive. A MemoryStore is safe for concurrent use.
type MemoryStore struct {
	mu        sync.Mutex
	m         map[string]Challenge
	sweepSize int // sweep expired challenges once the map reaches this size
}

// minSweepSize is the map size below which expired challenges are left
// alone.
const minSweepSize = 64

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: make(map[string]Challenge), sweepSize: minSweepSize}
}

// SaveChallenge stores a copy of c. It returns an error if c has no id or
// its id is already stored.
func (s *MemoryStore) SaveChallenge(ctx context.Context, c Challenge) error {
	if c.ID == "" {
		return errors.New("captcha: memory store: empty challenge id")
	}
	c.Digits = slices.Clone(c.Digits)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.ID]; ok {
		return errors.New("captcha: memory store: duplicate challenge id")
	}
	if len(s.m) >= s.sweepSize {
		// Challenges are created with increasing times, so the new one's
		// creation time tells which of the others have expired.
		for id, old := range s.m {
			if old.expired(c.CreatedAt) {
				delete(s.m, id)
			}
		}
		s.sweepSize = max(2*len(s.m), minSweepSize)
	}
	s.m[c.ID] = c
	return nil
}

// Challenge returns a copy of the unused challenge with the given id if it
// is unexpired at now, and ErrNotFound otherwise.
func (s *MemoryStore) Challenge(ctx context.Context, id string, now time.Time) (Challenge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok || c.expired(now) {
		return Challenge{}, ErrNotFound
	}
	c.Digits = slices.Clone(c.Digits)
	return c, nil
}

// ConsumeChallenge removes the challenge with the given id and returns it
// if it was unexpired at now; otherwise it returns ErrNotFound. An expired
// challenge is removed too. Of any number of concurrent callers, at most
// one gets the challenge.
func (s *MemoryStore) ConsumeChallenge(ctx context.Context, id string, now time.Time) (Challenge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok {
		return Challenge{}, ErrNotFound
	}
	delete(s.m, id)
	if c.expired(now) {
		return Challenge{}, ErrNotFound
	}
	return c, nil
}

// Len returns the number of challenges held, expired ones not swept yet
// included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
