package platform

import (
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

// ErrInvalid is returned (wrapped) by New for an invalid option value.
var ErrInvalid = errors.New("platform: invalid input")

// An Option replaces a part of the platform that a host owns, or tunes
// one. An option given an invalid value makes New fail with ErrInvalid.
type Option func(*settings) error

// settings are what the options set; the zero value is the default
// composition, built from Config alone.
type settings struct {
	logger   *slog.Logger
	clock    func() time.Time
	db       *gorm.DB
	redis    *redis.Client
	embedder similarity.Embedder
	tokens   auth.TokenStore
	blobs    registry.BlobStore

	heavyLimit int
	quota      *tenancy.Quota   // WithDefaultQuota; nil: DefaultQuota
	timeouts   [2]time.Duration // tests: handler deadlines (light, heavy)
	jobTiming  [2]time.Duration // training job heartbeat and expiry; zero: the defaults

	hasher      []auth.HasherOption
	throttle    auth.ThrottlePolicy
	redisPrefix string

	mlflow bool // WithMLflow

	similarityMemory int64 // WithSimilarityMemory; 0: Config.SimilarityMemory
}

// invalid returns an Option that fails with ErrInvalid naming what.
func invalidOption(what string) error {
	return errors.Join(ErrInvalid, errors.New(what))
}

// WithLogger sets the logger of access logs, audit events and warnings
// (JSON is what operators' tools expect). The default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return invalidOption("WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// WithClock sets the clock of tokens, sessions, timestamps and training;
// the default is time.Now in UTC.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return invalidOption("WithClock: nil clock")
		}
		s.clock = now
		return nil
	}
}

// WithDatabase serves the platform on db instead of opening
// Config.DatabaseURL. The tenancy plugin is installed on db unless it is
// already, and so is the plugin whose callbacks empty the principal cache
// after writes of users, memberships and tenants through db; the schema is
// prepared as for a configured database. Several Servers may share db
// (their New calls one after the other): each subscribes to the one
// plugin, so every Server's cache sees every such write. db stays the
// caller's: Close does not close it, and leaves its plugins in place.
func WithDatabase(db *gorm.DB) Option {
	return func(s *settings) error {
		if db == nil {
			return invalidOption("WithDatabase: nil *gorm.DB")
		}
		s.db = db
		return nil
	}
}

// WithRedis keeps sessions, revocations and login throttling in rdb, shared
// by every replica, instead of opening Config.RedisURL. rdb stays the
// caller's: Close does not close it.
func WithRedis(rdb *redis.Client) Option {
	return func(s *settings) error {
		if rdb == nil {
			return invalidOption("WithRedis: nil client")
		}
		s.redis = rdb
		return nil
	}
}

// WithRedisPrefix sets the prefix of the platform's Redis keys (default
// "maestro:auth:"), so that several platforms, or test runs, can share one
// Redis.
func WithRedisPrefix(prefix string) Option {
	return func(s *settings) error {
		if prefix == "" {
			return invalidOption("WithRedisPrefix: empty prefix")
		}
		s.redisPrefix = prefix
		return nil
	}
}

// WithEmbedder sets the embedder of similarity search, instead of the one
// Config chooses (an OpenAI-compatible service at Config.EmbeddingsURL, or
// the built-in offline embedder).
func WithEmbedder(e similarity.Embedder) Option {
	return func(s *settings) error {
		if e == nil {
			return invalidOption("WithEmbedder: nil embedder")
		}
		s.embedder = e
		return nil
	}
}

// WithTokenStore sets where sessions and revocations live, instead of the
// database (or Redis when configured).
func WithTokenStore(ts auth.TokenStore) Option {
	return func(s *settings) error {
		if ts == nil {
			return invalidOption("WithTokenStore: nil store")
		}
		s.tokens = ts
		return nil
	}
}

// WithBlobStore sets where artifact content lives, instead of the
// directory blobs under Config.Home (for example registry.NewS3Store).
func WithBlobStore(b registry.BlobStore) Option {
	return func(s *settings) error {
		if b == nil {
			return invalidOption("WithBlobStore: nil store")
		}
		s.blobs = b
		return nil
	}
}

// WithHasherOptions tunes the password hasher (argon2id cost, concurrent
// hashes); they apply after the platform's defaults.
func WithHasherOptions(opts ...auth.HasherOption) Option {
	return func(s *settings) error {
		s.hasher = append(s.hasher, opts...)
		return nil
	}
}

// WithLoginThrottle sets the login throttling policy; the zero policy is
// the library's default (auth.ThrottlePolicy).
func WithLoginThrottle(p auth.ThrottlePolicy) Option {
	return func(s *settings) error {
		s.throttle = p
		return nil
	}
}

// WithHeavyRouteLimit sets how many requests each heavy route (training,
// recommendations, similarity and overlap, artifact content, metric
// batches) serves at once; further requests are answered 503 with
// Retry-After instead of queueing. The default is the number of CPUs, at
// least 2; n must be at least 1.
func WithHeavyRouteLimit(n int) Option {
	return func(s *settings) error {
		if n < 1 {
			return invalidOption("WithHeavyRouteLimit: limit below 1")
		}
		s.heavyLimit = n
		return nil
	}
}

// WithTrainingJobTiming sets how often a replica running a training job
// records a heartbeat, and how long a job may go without one before any
// replica marks it failed as abandoned (defaults
// metalearn.DefaultJobHeartbeat and metalearn.DefaultJobExpiry). The
// expiry must exceed twice the heartbeat; every replica should use the
// same values.
func WithTrainingJobTiming(heartbeat, expiry time.Duration) Option {
	return func(s *settings) error {
		if heartbeat <= 0 || expiry <= 2*heartbeat {
			return invalidOption("WithTrainingJobTiming: heartbeat must be positive and expiry more than twice it")
		}
		s.jobTiming = [2]time.Duration{heartbeat, expiry}
		return nil
	}
}

// WithSimilarityMemory bounds the in-memory similarity index of all
// tenants together to bytes, instead of Config.SimilarityMemory
// (MAESTRO_SIMILARITY_MEMORY): beyond it the least recently searched
// tenants are evicted and loaded again on their next search, and a tenant
// whose vectors alone exceed it cannot be searched (503). See
// similarity.WithMemoryBudget; bytes must be at least 1 KiB.
func WithSimilarityMemory(bytes int64) Option {
	return func(s *settings) error {
		if bytes < 1<<10 {
			return invalidOption("WithSimilarityMemory: below 1 KiB")
		}
		s.similarityMemory = bytes
		return nil
	}
}
