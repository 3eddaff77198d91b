package auth_test

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maestro-ml/maestro/auth"
)

// BenchmarkAccessVerification compares JWTManager.VerifyAccess (parse,
// signature with the kid's key and pinned algorithm, every claim check, the
// type checks and the in-memory session and denylist lookup) with a bare
// golang-jwt parse of the same token with the same key (signature and the
// default exp/nbf checks only). Compare the pairs with benchstat or by eye;
// on a shared machine compare the cpu-ns/op metric:
//
//	go test -run '^$' -bench AccessVerification -benchmem -cpu 1 -count 10 ./auth/
func BenchmarkAccessVerification(b *testing.B) {
	ctx := context.Background()
	edSigner, edPriv := edKey(b, "ed")
	for _, tc := range []struct {
		alg    string
		key    auth.Key
		verify any
	}{
		{"HS256", hsKey(b, "hs", testSecret), testSecret},
		{"EdDSA", edSigner, edPriv.Public()},
	} {
		m, err := auth.NewJWTManager(auth.NewMemoryTokenStore(), auth.WithKeys(tc.key))
		if err != nil {
			b.Fatal(err)
		}
		pair, err := m.IssuePair(ctx, alice)
		if err != nil {
			b.Fatal(err)
		}
		// Some denied ids, so the denylist lookup is not into an empty map.
		for range 1000 {
			p, _ := m.IssuePair(ctx, alice)
			c, _ := m.VerifyAccess(ctx, p.AccessToken)
			_ = m.Logout(ctx, c)
		}
		b.Run(tc.alg+"/maestro", func(b *testing.B) {
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				if _, err := m.VerifyAccess(ctx, pair.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
		b.Run(tc.alg+"/bare-golang-jwt", func(b *testing.B) {
			p := jwt.NewParser(jwt.WithValidMethods([]string{tc.alg}))
			keyFunc := func(*jwt.Token) (any, error) { return tc.verify, nil }
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				if _, err := p.ParseWithClaims(pair.AccessToken, &jwt.RegisteredClaims{}, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkArgon2idHash measures one password hash at the default
// parameters (19 MiB, t=2, p=1):
//
//	go test -run '^$' -bench Argon2id -benchtime 20x ./auth/
func BenchmarkArgon2idHash(b *testing.B) {
	h := hasher(b)
	ctx := context.Background()
	b.ReportAllocs()
	start := processCPU()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkAPIKeyVerification measures VerifyAPIKey against the memory
// store (parse, checksum, lookup, constant-time hash comparison).
func BenchmarkAPIKeyVerification(b *testing.B) {
	ctx := context.Background()
	keys, _ := auth.NewAPIKeys(auth.NewMemoryAPIKeyStore())
	key, _, err := keys.Create(ctx, auth.Principal{UserID: "u", TenantID: "t", Role: auth.RoleAdmin}, auth.NewAPIKey{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := keys.VerifyAPIKey(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
