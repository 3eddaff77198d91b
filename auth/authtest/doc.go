// Package authtest holds the conformance suites that every implementation
// of auth.TokenStore, auth.APIKeyStore and auth.LoginThrottler must pass,
// so memory, SQL and Redis implementations behave identically. A store
// author runs them from a test:
//
//	func TestConformance(t *testing.T) {
//		authtest.RunTokenStoreTests(t, func(t *testing.T) auth.TokenStore {
//			return mystore.New(...)
//		})
//	}
//
// The suites create their own random ids, so several may share one
// database or Redis server; they use times close to the real clock because
// Redis expires keys on it.
package authtest
