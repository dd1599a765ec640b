package authz

import (
	"hash/maphash"
	"sync"
)

// shardCount spreads a shardedMap's keys over locks, so that readers on
// several cores do not share one lock's cache line.
const shardCount = 32

// shardedMap is a map guarded by one read-write lock per shard. Unlike
// sync.Map it takes keys without boxing them, so a lookup allocates
// nothing. The zero value is ready to use; it is safe for concurrent use.
type shardedMap[K comparable, V comparable] struct {
	seed   maphash.Seed
	once   sync.Once
	shards [shardCount]struct {
		mu sync.RWMutex
		m  map[K]V
		_  [40]byte // keep shards on separate cache lines
	}
}

func (s *shardedMap[K, V]) shard(k K) int {
	s.once.Do(func() { s.seed = maphash.MakeSeed() })
	return int(maphash.Comparable(s.seed, k) % shardCount)
}

// Load returns the value of k.
func (s *shardedMap[K, V]) Load(k K) (V, bool) {
	sh := &s.shards[s.shard(k)]
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

// Store sets k to v.
func (s *shardedMap[K, V]) Store(k K, v V) {
	sh := &s.shards[s.shard(k)]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[K]V{}
	}
	sh.m[k] = v
	sh.mu.Unlock()
}

// CompareAndDelete deletes k if its value is v.
func (s *shardedMap[K, V]) CompareAndDelete(k K, v V) {
	sh := &s.shards[s.shard(k)]
	sh.mu.Lock()
	if cur, ok := sh.m[k]; ok && cur == v {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
}

// LoadAndDelete deletes k and returns the value it had.
func (s *shardedMap[K, V]) LoadAndDelete(k K) (V, bool) {
	sh := &s.shards[s.shard(k)]
	sh.mu.Lock()
	v, ok := sh.m[k]
	delete(sh.m, k)
	sh.mu.Unlock()
	return v, ok
}

// Clear deletes every key, calling each(v) for every value first.
func (s *shardedMap[K, V]) Clear(each func(V)) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, v := range sh.m {
			each(v)
		}
		sh.m = nil
		sh.mu.Unlock()
	}
}
