package platform

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/migrate"
	"github.com/maestro-ml/maestro/tenancy"
)

// The principal cache: checkPrincipal runs on every authenticated request
// and would read a user and a membership each time. principalCache keeps
// those rows in memory, bounded and invalidated on every change:
//
//   - On PostgreSQL, triggers (installed by the "platform" migration) send
//     NOTIFY maestro_principals in the transaction of every write that can
//     take access away — a user disabled, deleted or made no longer a
//     superadmin; a membership added, changed or removed; a tenant disabled
//     or deleted. PostgreSQL delivers the notification to every replica at
//     commit, and each replica empties its cache. While a replica is not
//     listening (at start, after its listening connection failed) its cache
//     is bypassed, and it is emptied again once LISTEN is back in place, so
//     a notification missed meanwhile cannot leave a stale entry.
//   - On SQLite (one process) the platform empties the cache after each of
//     its own writes of users, memberships and tenants, and a GORM callback
//     empties it after any such statement on the server's database handle
//     (one plugin per handle, principalWatch, fans it out to every Server
//     on the handle).
//
// A read that raced an invalidation is not stored (the cache's generation
// changed meanwhile), and entries also expire after principalMaxAge, a
// backstop only: revocation does not wait for it.
const (
	// principalCacheEntries bounds the cache: least recently used entries
	// are dropped beyond it. An entry is a few hundred bytes, so the cache
	// stays within a few megabytes.
	principalCacheEntries = 10000
	// principalMaxAge is the backstop expiry of a cached entry.
	principalMaxAge = time.Minute
	// principalChannel is the NOTIFY channel of principal changes.
	principalChannel = "maestro_principals"
	// listenProbe is how often an idle listening connection is checked.
	listenProbe = 10 * time.Second
	// listenRetryMax bounds the wait between attempts to listen again.
	listenRetryMax = 5 * time.Second
)

// principalRow is what checkPrincipal needs of a user and, for a tenant
// credential, of its membership.
type principalRow struct {
	disabled   bool
	superadmin bool
	role       auth.Role // the membership's role (membership entries only)
	// apiKeys are the records of one API key prefix (cachedAPIKeys).
	apiKeys []auth.APIKey
}

type principalEntry struct {
	key  string
	row  principalRow
	read time.Time
}

// principalCache is a bounded LRU of principal rows. It is safe for
// concurrent use.
type principalCache struct {
	now func() time.Time

	mu      sync.Mutex
	gen     uint64 // bumped by every invalidation
	enabled bool   // false: every lookup reads the database
	ll      *list.List
	idx     map[string]*list.Element
	limit   int

	hits, misses, invalidations atomic.Int64
	onEvent                     func(event string) // metrics: "hit", "miss", "invalidation"
}

func newPrincipalCache(now func() time.Time, limit int, enabled bool) *principalCache {
	return &principalCache{now: now, enabled: enabled, ll: list.New(), idx: map[string]*list.Element{}, limit: limit}
}

// lookup returns the cached row under key, or loads it with load and
// caches it unless an invalidation happened meanwhile. Only rows found are
// cached; load's errors (not found included) are returned as they are.
func (c *principalCache) lookup(key string, load func() (principalRow, error)) (principalRow, error) {
	c.mu.Lock()
	if el, ok := c.idx[key]; ok && c.enabled {
		e := el.Value.(*principalEntry)
		if c.now().Sub(e.read) < principalMaxAge {
			c.ll.MoveToFront(el)
			row := e.row
			c.mu.Unlock()
			c.event("hit", &c.hits)
			return row, nil
		}
		c.ll.Remove(el)
		delete(c.idx, key)
	}
	gen, enabled := c.gen, c.enabled
	c.mu.Unlock()
	c.event("miss", &c.misses)
	row, err := load()
	if err != nil || !enabled {
		return row, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || !c.enabled {
		return row, nil // an invalidation raced the read: do not keep it
	}
	if el, ok := c.idx[key]; ok {
		c.ll.Remove(el)
	}
	c.idx[key] = c.ll.PushFront(&principalEntry{key: key, row: row, read: c.now()})
	for c.ll.Len() > c.limit {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.idx, last.Value.(*principalEntry).key)
	}
	return row, nil
}

// invalidate empties the cache.
func (c *principalCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.ll.Init()
	clear(c.idx)
	c.mu.Unlock()
	c.event("invalidation", &c.invalidations)
}

// forget drops the entries whose row matches, and makes reads racing it
// not stored, like invalidate, without emptying the whole cache.
func (c *principalCache) forget(match func(principalRow) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*principalEntry); match(e.row) {
			c.ll.Remove(el)
			delete(c.idx, e.key)
		}
		el = next
	}
}

// setEnabled turns the cache on or off, emptying it either way.
func (c *principalCache) setEnabled(on bool) {
	c.mu.Lock()
	c.enabled = on
	c.mu.Unlock()
	c.invalidate()
}

func (c *principalCache) event(name string, n *atomic.Int64) {
	n.Add(1)
	if c.onEvent != nil {
		c.onEvent(name)
	}
}

// len returns the number of cached entries.
func (c *principalCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// principalUser returns the user row of id through the cache.
func (s *Server) principalUser(ctx context.Context, id string) (principalRow, error) {
	return s.principals.lookup("u\x00"+id, func() (principalRow, error) {
		u, err := s.tenants.User(ctx, id)
		return principalRow{disabled: u.Disabled, superadmin: u.IsSuperadmin}, err
	})
}

// principalMembership returns the membership row of user in tenant through
// the cache.
func (s *Server) principalMembership(ctx context.Context, tenantID, userID string) (principalRow, error) {
	return s.principals.lookup("m\x00"+tenantID+"\x00"+userID, func() (principalRow, error) {
		m, err := s.tenants.Membership(ctx, tenantID, userID)
		return principalRow{role: m.Role}, err
	})
}

// principalTables are the tables whose writes invalidate the cache.
var principalTables = map[string]bool{
	tenancy.User{}.TableName(): true, tenancy.Membership{}.TableName(): true, tenancy.Tenant{}.TableName(): true,
	keyRowsTable: true,
}

// principalWatchName names the GORM plugin that watches principal writes.
const principalWatchName = "maestro:principals"

// principalWatch is the GORM plugin, installed once per database handle,
// whose callbacks empty the principal cache of every Server on the handle
// after each create, update or delete on the principal tables. Servers
// sharing a handle (a host mounting the platform twice) subscribe to the
// one plugin instead of each registering callbacks: GORM's callback lists
// may not change while statements run, so they are registered when the
// first Server starts and never removed, and a closed Server only
// unsubscribes.
type principalWatch struct {
	mu   sync.Mutex
	subs map[*principalCache]struct{}
}

// Name implements gorm.Plugin.
func (*principalWatch) Name() string { return principalWatchName }

// Initialize implements gorm.Plugin: it registers the callbacks.
func (w *principalWatch) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	if err := cb.Create().After("gorm:create").Register(principalWatchName, w.written); err != nil {
		return err
	}
	if err := cb.Update().After("gorm:update").Register(principalWatchName, w.written); err != nil {
		return err
	}
	return cb.Delete().After("gorm:delete").Register(principalWatchName, w.written)
}

// written empties every subscribed cache after a write of a principal
// table.
func (w *principalWatch) written(tx *gorm.DB) {
	if tx.Statement == nil || !principalTables[tx.Statement.Table] || onlyTouchesAPIKey(tx) {
		return
	}
	w.mu.Lock()
	caches := make([]*principalCache, 0, len(w.subs))
	for c := range w.subs {
		caches = append(caches, c)
	}
	w.mu.Unlock()
	for _, c := range caches {
		c.invalidate()
	}
}

// subscribe has c emptied after every principal write until the returned
// function is called.
func (w *principalWatch) subscribe(c *principalCache) (unsubscribe func()) {
	w.mu.Lock()
	w.subs[c] = struct{}{}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.subs, c)
		w.mu.Unlock()
	}
}

// errPrincipalWatch is returned when a plugin of principalWatchName that
// is not the platform's is installed on the handle.
var errPrincipalWatch = errors.New("a GORM plugin named " + principalWatchName + " that is not the platform's is installed on the database")

// watchPrincipalWrites empties the server's cache after every create,
// update or delete on the principal tables through its database handle,
// installing the handle's principalWatch plugin if no Server did yet.
// Like the tenancy plugin's installation, it must not run concurrently
// with another New on the same handle.
func (s *Server) watchPrincipalWrites() error {
	p, ok := s.db.Config.Plugins[principalWatchName]
	if !ok {
		p = &principalWatch{subs: map[*principalCache]struct{}{}}
		if err := s.db.Use(p); err != nil {
			return fmt.Errorf("principal cache: %w", err)
		}
	}
	w, ok := p.(*principalWatch)
	if !ok {
		return errPrincipalWatch
	}
	unsubscribe := w.subscribe(s.principals)
	s.closers = append(s.closers, func() error { unsubscribe(); return nil })
	return nil
}

// listenPrincipals keeps a connection of the pool listening on
// principalChannel until ctx ends, emptying the cache on every
// notification. The cache is on only while the connection listens.
func (s *Server) listenPrincipals(ctx context.Context) {
	sqlDB, err := s.db.DB()
	if err != nil {
		s.log.Error("principal cache off: no connection pool", slog.String("error", err.Error()))
		return
	}
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		began := time.Now()
		err := s.listenOnce(ctx, sqlDB)
		s.principals.setEnabled(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			wait = 100 * time.Millisecond
		}
		s.log.Warn("principal cache off: not listening for changes; retrying", slog.String("error", err.Error()), slog.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// errNotPgx is returned when the pool's connections are not pgx's.
var errNotPgx = errors.New("the database driver is not pgx")

// listenOnce listens on one connection until it fails or ctx ends.
func (s *Server) listenOnce(ctx context.Context, sqlDB *sql.DB) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+principalChannel); err != nil {
			return err
		}
		// Listening from here on: what changed before is flushed once.
		s.principals.setEnabled(true)
		s.log.Debug("principal cache on: listening for changes")
		for {
			wctx, cancel := context.WithTimeout(ctx, listenProbe)
			_, err := pc.WaitForNotification(wctx)
			cancel()
			switch {
			case err == nil:
				s.principals.invalidate()
				continue
			case ctx.Err() != nil:
				_ = pc.Close(context.Background()) // the connection listens: never return it to the pool
				return ctx.Err()
			case errors.Is(err, context.DeadlineExceeded) && !pc.IsClosed():
				pctx, cancel := context.WithTimeout(ctx, listenProbe)
				_, err = pc.Exec(pctx, "SELECT 1")
				cancel()
				if err == nil {
					continue
				}
			}
			_ = pc.Close(context.Background())
			return err
		}
	})
}

// principalTriggers are the PostgreSQL triggers that notify
// principalChannel on every write that can take access away.
var principalTriggers = []string{
	`CREATE OR REPLACE FUNCTION maestro_principals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('` + principalChannel + `', TG_TABLE_NAME);
	RETURN NULL;
END
$$`,
	`CREATE TRIGGER maestro_principals_users AFTER UPDATE OF disabled, is_superadmin OR DELETE ON users
	FOR EACH STATEMENT EXECUTE FUNCTION maestro_principals_changed()`,
	`CREATE TRIGGER maestro_principals_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
	FOR EACH STATEMENT EXECUTE FUNCTION maestro_principals_changed()`,
	`CREATE TRIGGER maestro_principals_tenants AFTER UPDATE OF disabled OR DELETE ON tenants
	FOR EACH STATEMENT EXECUTE FUNCTION maestro_principals_changed()`,
}

// migratePlatform installs the platform's own schema: on PostgreSQL the
// principal triggers (component "platform" in schema_migrations); nothing
// on SQLite, whose single process invalidates in memory.
func migratePlatform(ctx context.Context, db *gorm.DB) error {
	m, err := migrate.New("platform", migrate.Step{
		Version: 1,
		Name:    "principal change notifications",
		Up: func(_ context.Context, tx *gorm.DB) error {
			if !migrate.IsPostgres(tx) {
				return nil
			}
			return migrate.Exec(tx, principalTriggers...)
		},
		Down: func(_ context.Context, tx *gorm.DB) error {
			if !migrate.IsPostgres(tx) {
				return nil
			}
			return migrate.Exec(tx,
				`DROP TRIGGER IF EXISTS maestro_principals_users ON users`,
				`DROP TRIGGER IF EXISTS maestro_principals_memberships ON memberships`,
				`DROP TRIGGER IF EXISTS maestro_principals_tenants ON tenants`,
				`DROP FUNCTION IF EXISTS maestro_principals_changed()`)
		},
	})
	if err != nil {
		return err
	}
	_, err = m.Up(ctx, db)
	return err
}

// checkPrincipalTriggers reports an error unless the principal triggers
// are installed (an older init-db did not install them): without them
// other replicas' writes would not reach the cache, which then stays off.
func (s *Server) checkPrincipalTriggers(ctx context.Context) error {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM pg_trigger WHERE tgname IN
		('maestro_principals_users', 'maestro_principals_memberships', 'maestro_principals_tenants') AND NOT tgisinternal`).Scan(&n).Error
	switch {
	case err != nil:
		return fmt.Errorf("looking for the principal triggers: %w", err)
	case n != 3:
		return errors.New("the principal change triggers are missing: run init-db with this version")
	}
	return nil
}

// isEnabled reports whether lookups may be served from memory.
func (c *principalCache) isEnabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enabled
}
