package postgres

import (
	"runtime"
	"testing"
)

func TestPoolConfig(t *testing.T) {
	def := int32(4 * runtime.GOMAXPROCS(0))
	tests := []struct {
		dsn  string
		want int32
	}{
		{"postgres://u@db.example/deadbolt", def},
		{"postgres://u@db.example/deadbolt?sslmode=disable&pool_max_conns=7", 7},
		{"host=db.example user=u dbname=deadbolt", def},
		{"host=db.example user=u dbname=deadbolt pool_max_conns=3", 3},
	}
	for _, tc := range tests {
		cfg, err := poolConfig(tc.dsn)
		if err != nil {
			t.Errorf("poolConfig(%q) = %v", tc.dsn, err)
			continue
		}
		if cfg.MaxConns != tc.want {
			t.Errorf("poolConfig(%q).MaxConns = %d, want %d", tc.dsn, cfg.MaxConns, tc.want)
		}
		if _, left := cfg.ConnConfig.RuntimeParams[maxConnsParam]; left {
			t.Errorf("poolConfig(%q) sends %s to the server", tc.dsn, maxConnsParam)
		}
	}
}
