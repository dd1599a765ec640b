package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Setting returns the value stored under key, or CodeNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("Setting")
	}
	if err != nil {
		return "", fmt.Errorf("postgres: setting: %w", err)
	}
	return v, nil
}

// SetSettingIfAbsent stores value under key unless key has one, and returns
// the value in force: of several nodes racing, all get the first value
// stored.
func (s *Store) SetSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO NOTHING RETURNING value`, key, value).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("postgres: set setting: %w", err)
	}
	// The key was taken, possibly by a transaction that committed after
	// this statement's snapshot: a new statement sees it.
	return s.Setting(ctx, key)
}
