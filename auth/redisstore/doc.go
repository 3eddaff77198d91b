// Package redisstore keeps auth's short-lived shared state in Redis: a
// TokenStore (login sessions, refresh-token hashes, the token denylist,
// per-user session sets) and a LoginThrottler, for deployments with several
// server processes.
//
// Every key expires with what it records — a refresh-token record with the
// token, a denylist entry when the denied token would have expired, a
// session with its newest refresh token — so Redis needs no cleanup job.
// Each state change is a single Lua script, hence atomic: of concurrent
// rotations of one refresh token exactly one succeeds.
//
// Keys live under a prefix (WithPrefix, default "maestro:auth:"). The
// scripts declare the keys they touch, except that creating a session may
// look up the sessions named in the user's session set to drop ended ones;
// on Redis Cluster use a prefix with a hash tag, such as
// "{maestro-auth}:", so all keys share a slot.
//
// Run Redis with "maxmemory-policy noeviction": state that Redis evicts
// under memory pressure is state this package relies on.
//
// Expiry decisions compare against the times the caller passes (the
// JWTManager's clock); Redis's own clock only removes keys, using relative
// TTLs.
//
// NewTokenStore and NewThrottler refuse a nil client and an option given
// an invalid value (an empty prefix, a nil clock) with an error wrapping
// auth.ErrInvalid.
//
// Both types are safe for concurrent use.
package redisstore
