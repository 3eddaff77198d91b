package auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/auth"
)

// FuzzVerifyAccess feeds arbitrary strings to the access-token verifier:
// it must never panic, and nothing but the one genuine token may verify.
func FuzzVerifyAccess(f *testing.F) {
	fx := newFixture(f)
	pair := issue(f, fx, alice)
	parts := strings.Split(pair.AccessToken, ".")
	for _, s := range []string{
		pair.AccessToken,
		pair.RefreshToken,
		"",
		".",
		"..",
		"a.b.c",
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.e30.AAAA",
		parts[0] + "." + parts[1] + "." + parts[2] + ".extra",
		strings.ToLower(pair.AccessToken),
		"mst_" + strings.Repeat("0", 49),
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		c, err := fx.m.VerifyAccess(ctx, token)
		if err == nil && token != pair.AccessToken {
			t.Fatalf("forged token verified: %q -> %+v", token, c)
		}
		if err != nil && c != (auth.Claims{}) {
			t.Fatalf("claims returned with error %v", err)
		}
		_, _ = fx.m.Refresh(ctx, token)
	})
}

// FuzzParseAPIKey checks the offline API-key parser: no panics, a prefix
// only for well-formed input, and a checksum that catches every
// single-character change of a valid key.
func FuzzParseAPIKey(f *testing.F) {
	key, _, err := auth.GenerateAPIKey()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{key, "", "mst_", "mst_" + strings.Repeat("z", 49), key[:len(key)-1] + "0", strings.ToUpper(key), "mst_\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prefix, err := auth.ParseAPIKey(s)
		if err != nil {
			if prefix != "" {
				t.Fatalf("prefix %q returned with error", prefix)
			}
			return
		}
		if len(s) != auth.APIKeyLen || !strings.HasPrefix(s, "mst_") || prefix != s[:12] {
			t.Fatalf("accepted malformed key %q (prefix %q)", s, prefix)
		}
		if s != key {
			return
		}
		// Every single-character substitution in a real key is caught.
		for i := 4; i < len(s); i++ {
			b := []byte(s)
			if b[i] == 'x' {
				b[i] = 'y'
			} else {
				b[i] = 'x'
			}
			if _, err := auth.ParseAPIKey(string(b)); err == nil {
				t.Fatalf("checksum missed a change at %d", i)
			}
		}
	})
}

// FuzzMiddlewareAuthorization sends arbitrary Authorization headers
// through the middleware: only the genuine credentials may pass.
func FuzzMiddlewareAuthorization(f *testing.F) {
	fx := newFixture(f)
	pair := issue(f, fx, alice)
	for _, s := range []string{"Bearer " + pair.AccessToken, "Bearer", "Bearer  x", "Basic YTpi", "bearer " + pair.RefreshToken, "Bearer mst_x", "Bearer \x00"} {
		f.Add(s)
	}
	h := auth.Middleware(fx.m)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	f.Fuzz(func(t *testing.T, header string) {
		w := serve(h, func(r *http.Request) { r.Header["Authorization"] = []string{header} })
		switch w.Code {
		case http.StatusNoContent:
			scheme, cred, _ := strings.Cut(header, " ")
			if !strings.EqualFold(scheme, "bearer") || strings.TrimLeft(cred, " ") != pair.AccessToken {
				t.Fatalf("header %q authenticated", header)
			}
		case http.StatusUnauthorized:
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		default:
			t.Fatalf("status %d for header %q", w.Code, header)
		}
	})
}
