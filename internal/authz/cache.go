package authz

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// CacheStore is what the session cache reads through and writes to.
type CacheStore interface {
	SessionByToken(ctx context.Context, tokenHash []byte) (*deadbolt.Session, *deadbolt.User, error)
	TouchSessions(ctx context.Context, touches []deadbolt.SessionTouch) error
	UserWorkgroups(ctx context.Context, userID string) ([]*deadbolt.Workgroup, error)
	ListApplications(ctx context.Context) ([]*deadbolt.Application, error)
	deadbolt.ChangeFeed
}

// CacheConfig tunes the session cache. Zero fields take the defaults.
type CacheConfig struct {
	// MaxAge bounds how long a copy is used before it is read again
	// (default 30 s): a second line of defence, and how fresh another
	// node's idle-time updates are seen.
	MaxAge time.Duration
	// MaxEntries bounds the sessions kept (default 100 000); past it the
	// cache starts over.
	MaxEntries int
	// FlushEvery is how often idle-time updates are written (default 1 s).
	FlushEvery time.Duration
	// FlushTimeout bounds each write of them (default 4 s).
	FlushTimeout time.Duration
}

func (c CacheConfig) withDefaults() CacheConfig {
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * time.Second
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 100_000
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = time.Second
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = 4 * time.Second
	}
	return c
}

// userBuckets spreads users over invalidation generations.
const userBuckets = 1024

// Cache keeps, on one node, copies of recently checked sessions with their
// employee, and the employees' workgroups, so that a check needs no
// database round trip; the store's change feed tells it what to forget
// (see the package documentation for why no ended session is ever
// admitted). It also gathers idle-time updates and writes them in batches.
// It implements deadbolt.ChangeListener. It is safe for concurrent use.
type Cache struct {
	store CacheStore
	cfg   CacheConfig
	log   *slog.Logger
	base  time.Time // origin of the monotonic readings below

	tokens shardedMap[[32]byte, *entry]
	groups shardedMap[string, *groupsEntry]
	apps   atomic.Pointer[appsEntry]
	// appsGen grows on every applications change (and flush).
	appsGen atomic.Uint64

	mu     sync.Mutex // guards byUser, byID, n and the generations' writes
	byUser map[string]map[*entry]struct{}
	byID   map[string]*entry
	n      int

	// gen grows on every invalidation; a copy read from the store is
	// kept only if no invalidation of its user (userGen), and no flush
	// (flushGen), came after its read began.
	gen      atomic.Uint64
	flushGen atomic.Uint64
	userGen  [userBuckets]atomic.Uint64

	// The feed: trusted while up and its lease (monotonic, relative to
	// base) runs.
	down      atomic.Bool
	liveUntil atomic.Int64

	touchMu sync.Mutex
	touches map[string]time.Time

	hits, misses, invalidations, flushes atomic.Uint64

	stop context.CancelFunc
	done chan struct{}
}

// entry is one cached session.
type entry struct {
	key        [32]byte
	sess       deadbolt.Session
	user       deadbolt.User
	lastSeen   atomic.Int64 // unix microseconds
	freshUntil int64        // monotonic
	gen        uint64       // generation at which its read began
	dead       atomic.Bool
}

// groupsEntry is one employee's workgroups.
type groupsEntry struct {
	groups     *Groups
	freshUntil int64
	gen        uint64
	dead       atomic.Bool
}

// appsEntry is the registered applications, indexed.
type appsEntry struct {
	index      *apps.Index
	freshUntil int64
}

// Groups are an employee's workgroups, as forward-auth needs them.
type Groups struct {
	IDs   []string
	Names []string
	// Header is the Remote-Groups value: the names, comma-separated.
	Header string
}

// NewCache returns a session cache over store. It trusts nothing until
// Start has subscribed it to the store's change feed.
func NewCache(store CacheStore, cfg CacheConfig, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{store: store, cfg: cfg.withDefaults(), log: log, base: time.Now(),
		byUser: map[string]map[*entry]struct{}{}, byID: map[string]*entry{}, touches: map[string]time.Time{}}
	c.down.Store(true)
	return c
}

// Start subscribes the cache to the store's change feed and starts writing
// idle-time updates, until ctx ends or Close. It returns the feed's error
// (CodeUnavailable) if it cannot start.
func (c *Cache) Start(ctx context.Context) error {
	ctx, c.stop = context.WithCancel(ctx)
	c.done = make(chan struct{})
	if err := c.store.WatchChanges(ctx, c); err != nil {
		c.stop()
		close(c.done)
		return err
	}
	go c.flusher(ctx)
	return nil
}

// Close stops the cache after writing the idle-time updates it holds.
func (c *Cache) Close() {
	if c.stop == nil {
		return
	}
	c.stop()
	<-c.done
}

func (c *Cache) mono() int64 { return int64(time.Since(c.base)) }

// trusted reports whether the feed vouches for the copies at mono time now.
func (c *Cache) trusted(now int64) bool {
	return !c.down.Load() && now < c.liveUntil.Load()
}

// Trusted reports whether the cache may answer from memory now (the
// change feed is up and its lease runs).
func (c *Cache) Trusted() bool { return c.trusted(c.mono()) }

func bucket(userID string) int {
	// FNV-1a.
	h := uint32(2166136261)
	for i := 0; i < len(userID); i++ {
		h ^= uint32(userID[i])
		h *= 16777619
	}
	return int(h % userBuckets)
}

// SessionByToken answers as the store does — the session with tokenHash
// and its employee while the session carries the employee's current epoch
// and the employee is active, else CodeNotFound — from memory when it can
// (never for a pending session, which is always read from the store). The
// answers are copies the caller may change.
func (c *Cache) SessionByToken(ctx context.Context, tokenHash []byte) (*deadbolt.Session, *deadbolt.User, error) {
	if len(tokenHash) != 32 {
		return c.store.SessionByToken(ctx, tokenHash)
	}
	key := [32]byte(tokenHash)
	now := c.mono()
	if e, ok := c.tokens.Load(key); ok {
		if !e.dead.Load() && now < e.freshUntil && c.trusted(now) {
			c.hits.Add(1)
			return e.copies()
		}
	}
	c.misses.Add(1)
	start := c.gen.Load()
	startTrusted := c.trusted(now)
	sess, u, err := c.store.SessionByToken(ctx, tokenHash)
	if err != nil {
		return nil, nil, err
	}
	// A pending session is never kept: it serves a second factor or two,
	// and the change feed does not announce its end.
	if startTrusted && sess.State != deadbolt.SessionPending {
		c.insert(key, sess, u, start, now)
	} else if t := c.pendingTouch(sess.ID); t.After(sess.LastSeenAt) {
		sess.LastSeenAt = t
	}
	return sess, u, nil
}

func (e *entry) copies() (*deadbolt.Session, *deadbolt.User, error) {
	s, u := e.sess, e.user
	s.LastSeenAt = time.UnixMicro(e.lastSeen.Load()).UTC()
	return &s, &u, nil
}

// insert keeps a copy read from the store, unless its employee was
// invalidated, or the cache flushed, after the read began at gen start.
// sess gets the idle time of a touch not yet written.
func (c *Cache) insert(key [32]byte, sess *deadbolt.Session, u *deadbolt.User, start uint64, readAt int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.pendingTouch(sess.ID); t.After(sess.LastSeenAt) {
		sess.LastSeenAt = t
	}
	if !c.trusted(c.mono()) || c.flushGen.Load() > start || c.userGen[bucket(u.ID)].Load() > start {
		return
	}
	if c.n >= c.cfg.MaxEntries {
		c.flushLocked()
	}
	if old, ok := c.tokens.Load(key); ok {
		c.dropLocked(old)
	}
	e := &entry{key: key, sess: *sess, user: *u, freshUntil: readAt + int64(c.cfg.MaxAge), gen: start}
	e.lastSeen.Store(sess.LastSeenAt.UnixMicro())
	c.tokens.Store(key, e)
	set := c.byUser[u.ID]
	if set == nil {
		set = map[*entry]struct{}{}
		c.byUser[u.ID] = set
	}
	set[e] = struct{}{}
	c.byID[sess.ID] = e
	c.n++
}

// dropLocked forgets one entry; c.mu is held.
func (c *Cache) dropLocked(e *entry) {
	if e.dead.Swap(true) {
		return
	}
	c.tokens.CompareAndDelete(e.key, e)
	if set := c.byUser[e.user.ID]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(c.byUser, e.user.ID)
		}
	}
	if c.byID[e.sess.ID] == e {
		delete(c.byID, e.sess.ID)
	}
	c.n--
}

// flushLocked forgets everything; c.mu is held.
func (c *Cache) flushLocked() {
	c.flushGen.Store(c.gen.Add(1))
	c.tokens.Clear(func(e *entry) { e.dead.Store(true) })
	c.groups.Clear(func(g *groupsEntry) { g.dead.Store(true) })
	c.appsGen.Add(1)
	c.apps.Store(nil)
	c.byUser = map[string]map[*entry]struct{}{}
	c.byID = map[string]*entry{}
	c.n = 0
	c.flushes.Add(1)
}

// UserChanged forgets everything the cache holds of userID.
func (c *Cache) UserChanged(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gen.Add(1)
	c.userGen[bucket(userID)].Store(g)
	for e := range c.byUser[userID] {
		c.dropLocked(e)
	}
	if g, ok := c.groups.LoadAndDelete(userID); ok {
		g.dead.Store(true)
	}
	c.invalidations.Add(1)
}

// AppsChanged forgets the applications.
func (c *Cache) AppsChanged() {
	c.mu.Lock()
	c.appsGen.Add(1)
	c.apps.Store(nil)
	c.mu.Unlock()
	c.invalidations.Add(1)
}

// Apps returns the registered applications indexed for matching, from
// memory when it can.
func (c *Cache) Apps(ctx context.Context) (*apps.Index, error) {
	now := c.mono()
	if e := c.apps.Load(); e != nil && now < e.freshUntil && c.trusted(now) {
		return e.index, nil
	}
	start := c.appsGen.Load()
	startTrusted := c.trusted(now)
	list, err := c.store.ListApplications(ctx)
	if err != nil {
		return nil, err
	}
	ix := apps.NewIndex(list)
	if startTrusted {
		c.mu.Lock()
		if c.trusted(c.mono()) && c.appsGen.Load() == start {
			c.apps.Store(&appsEntry{index: ix, freshUntil: now + int64(c.cfg.MaxAge)})
		}
		c.mu.Unlock()
	}
	return ix, nil
}

// FeedDown forgets everything and keeps nothing until the feed is back.
func (c *Cache) FeedDown(err error) {
	c.down.Store(true)
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		c.log.Warn("authz: the change feed is down; sessions are read from the database until it is back", "err", err)
	}
}

// FeedUp renews the feed's lease; after a FeedDown it forgets everything
// once more (what was read while it was down may be stale) and starts
// keeping copies again.
func (c *Cache) FeedUp(until time.Time) {
	if c.down.Load() {
		c.mu.Lock()
		c.flushLocked()
		c.down.Store(false)
		c.mu.Unlock()
		c.log.Debug("authz: the change feed is up")
	}
	u := int64(until.Sub(c.base))
	for {
		cur := c.liveUntil.Load()
		if u <= cur || c.liveUntil.CompareAndSwap(cur, u) {
			return
		}
	}
}

// UserGroups returns the workgroups of userID, from memory when it can.
func (c *Cache) UserGroups(ctx context.Context, userID string) (*Groups, error) {
	now := c.mono()
	if g, ok := c.groups.Load(userID); ok {
		if !g.dead.Load() && now < g.freshUntil && c.trusted(now) {
			return g.groups, nil
		}
	}
	start := c.gen.Load()
	startTrusted := c.trusted(now)
	ws, err := c.store.UserWorkgroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	g := &Groups{}
	for i, w := range ws {
		g.IDs = append(g.IDs, w.ID)
		g.Names = append(g.Names, w.Name)
		if i > 0 {
			g.Header += ","
		}
		g.Header += w.Name
	}
	if startTrusted {
		c.mu.Lock()
		if c.trusted(c.mono()) && c.flushGen.Load() <= start && c.userGen[bucket(userID)].Load() <= start {
			if old, ok := c.groups.Load(userID); ok {
				old.dead.Store(true)
			}
			c.groups.Store(userID, &groupsEntry{groups: g, freshUntil: now + int64(c.cfg.MaxAge), gen: start})
		}
		c.mu.Unlock()
	}
	return g, nil
}

// TouchSession records activity of session id at now in memory; it is
// written with the next batch. It never fails.
func (c *Cache) TouchSession(ctx context.Context, id string, now time.Time) error {
	c.touchMu.Lock()
	if now.After(c.touches[id]) {
		c.touches[id] = now
	}
	c.touchMu.Unlock()
	c.mu.Lock()
	if e := c.byID[id]; e != nil {
		if us := now.UnixMicro(); us > e.lastSeen.Load() {
			e.lastSeen.Store(us)
		}
	}
	c.mu.Unlock()
	return nil
}

func (c *Cache) pendingTouch(id string) time.Time {
	c.touchMu.Lock()
	defer c.touchMu.Unlock()
	return c.touches[id]
}

// flusher writes the idle-time updates every FlushEvery, and once more
// when ctx ends.
func (c *Cache) flusher(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			c.Flush(ctx)
		}
	}
}

// Flush writes the idle-time updates gathered so far in one batch; on
// failure they are kept for the next one.
func (c *Cache) Flush(ctx context.Context) {
	c.touchMu.Lock()
	pending := c.touches
	c.touches = map[string]time.Time{}
	c.touchMu.Unlock()
	if len(pending) == 0 {
		return
	}
	batch := make([]deadbolt.SessionTouch, 0, len(pending))
	for id, at := range pending {
		batch = append(batch, deadbolt.SessionTouch{SessionID: id, At: at})
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.FlushTimeout)
	defer cancel()
	if err := c.store.TouchSessions(cctx, batch); err != nil {
		c.log.Warn("authz: cannot record session activity; retrying with the next batch", "sessions", len(batch), "err", err)
		c.touchMu.Lock()
		for id, at := range pending {
			if at.After(c.touches[id]) {
				c.touches[id] = at
			}
		}
		c.touchMu.Unlock()
	}
}

// CacheStats counts what the cache did.
type CacheStats struct {
	Hits, Misses, Invalidations, Flushes uint64
	Entries                              int
	Trusted                              bool
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n := c.n
	c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load(),
		Flushes: c.flushes.Load(), Entries: n, Trusted: c.Trusted()}
}

// Wrap returns st with its session lookups and idle-time updates served by
// the cache, for the sign-in service: every other method goes to st.
func (c *Cache) Wrap(st signin.Store) signin.Store { return cachedStore{Store: st, c: c} }

type cachedStore struct {
	signin.Store
	c *Cache
}

func (s cachedStore) SessionByToken(ctx context.Context, h []byte) (*deadbolt.Session, *deadbolt.User, error) {
	return s.c.SessionByToken(ctx, h)
}

func (s cachedStore) TouchSession(ctx context.Context, id string, now time.Time) error {
	return s.c.TouchSession(ctx, id, now)
}
