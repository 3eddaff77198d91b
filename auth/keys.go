package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// MinHMACKeyLen is the shortest HS256 secret accepted, in bytes: the size of
// the SHA-256 output, as RFC 7518 §3.2 requires.
const MinHMACKeyLen = 32

// Key is one entry of a JWTManager's key ring: a key id (the JOSE "kid"
// header), the one algorithm it may be used with, and the key material.
// A Key is immutable and safe for concurrent use. Construct it with
// NewHS256Key, NewEd25519Key or NewEd25519VerifyKey; the zero Key is
// refused everywhere.
type Key struct {
	id     string
	method jwt.SigningMethod
	sign   any // []byte or ed25519.PrivateKey; nil for verification-only keys
	verify any // []byte or ed25519.PublicKey
}

// NewHS256Key returns an HMAC-SHA256 key. The secret must be at least
// MinHMACKeyLen bytes of high-entropy data (use secrets generation, never a
// human-chosen password); it is copied.
func NewHS256Key(id string, secret []byte) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(secret) < MinHMACKeyLen {
		return Key{}, fmt.Errorf("%w: HS256 secret of key %q has %d bytes, need at least %d", ErrInvalidKey, id, len(secret), MinHMACKeyLen)
	}
	s := slices.Clone(secret)
	return Key{id: id, method: jwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// NewEd25519Key returns an EdDSA (Ed25519) signing key; its public half
// verifies. The private key is copied.
func NewEd25519Key(id string, priv ed25519.PrivateKey) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return Key{}, fmt.Errorf("%w: Ed25519 private key %q has %d bytes, want %d", ErrInvalidKey, id, len(priv), ed25519.PrivateKeySize)
	}
	p := slices.Clone(priv)
	return Key{id: id, method: jwt.SigningMethodEdDSA, sign: p, verify: p.Public().(ed25519.PublicKey)}, nil
}

// NewEd25519VerifyKey returns a verification-only EdDSA key, for tokens
// signed elsewhere or by a retired private key. It cannot become the
// active signing key.
func NewEd25519VerifyKey(id string, pub ed25519.PublicKey) (Key, error) {
	if err := checkKeyID(id); err != nil {
		return Key{}, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return Key{}, fmt.Errorf("%w: Ed25519 public key %q has %d bytes, want %d", ErrInvalidKey, id, len(pub), ed25519.PublicKeySize)
	}
	return Key{id: id, method: jwt.SigningMethodEdDSA, verify: slices.Clone(pub)}, nil
}

// GenerateEd25519Key returns a fresh Ed25519 signing key from crypto/rand.
func GenerateEd25519Key(id string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("auth: generate Ed25519 key: %w", err)
	}
	return NewEd25519Key(id, priv)
}

// ID returns the key id carried in the "kid" header of tokens it signs.
func (k Key) ID() string { return k.id }

// Algorithm returns the JOSE algorithm name ("HS256" or "EdDSA"), or ""
// for the zero Key.
func (k Key) Algorithm() string {
	if k.method == nil {
		return ""
	}
	return k.method.Alg()
}

// CanSign reports whether k holds private (or secret) material.
func (k Key) CanSign() bool { return k.sign != nil }

func (k Key) valid() bool { return k.id != "" && k.method != nil && k.verify != nil }

func checkKeyID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: key id must have 1 to 64 characters", ErrInvalidKey)
	}
	for _, r := range id {
		if r <= ' ' || r > '~' || r == '"' || r == '\\' {
			return fmt.Errorf("%w: key id %q must be printable ASCII without quotes or spaces", ErrInvalidKey, id)
		}
	}
	return nil
}

// keyRing is an immutable snapshot of a manager's keys. A JWTManager swaps
// whole snapshots atomically, so verification never takes a lock.
type keyRing struct {
	active  Key
	byID    map[string]Key
	parser  *jwt.Parser
	methods []string
}

func newKeyRing(active Key, others []Key, popts []jwt.ParserOption) (*keyRing, error) {
	if !active.valid() || !active.CanSign() {
		return nil, fmt.Errorf("%w: the active key must be a signing key", ErrInvalidKey)
	}
	r := &keyRing{active: active, byID: map[string]Key{active.id: active}}
	for _, k := range others {
		if !k.valid() {
			return nil, fmt.Errorf("%w: zero Key in key ring", ErrInvalidKey)
		}
		if _, dup := r.byID[k.id]; dup {
			return nil, fmt.Errorf("%w: duplicate key id %q", ErrInvalidKey, k.id)
		}
		r.byID[k.id] = k
	}
	for _, k := range r.byID {
		if !slices.Contains(r.methods, k.method.Alg()) {
			r.methods = append(r.methods, k.method.Alg())
		}
	}
	slices.Sort(r.methods)
	opts := append(slices.Clone(popts), jwt.WithValidMethods(r.methods))
	r.parser = jwt.NewParser(opts...)
	return r, nil
}

// keys returns the ring's keys other than the active one.
func (r *keyRing) others() []Key {
	out := make([]Key, 0, len(r.byID)-1)
	for id, k := range r.byID {
		if id != r.active.id {
			out = append(out, k)
		}
	}
	return out
}

// keyFunc selects the verification key named by the token's kid and pins
// the algorithm to the one that key was made for, so an HS256 token can
// never be checked against an EdDSA key's bytes or the reverse.
func (r *keyRing) keyFunc(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, fmt.Errorf("missing kid")
	}
	k, ok := r.byID[kid]
	if !ok {
		return nil, fmt.Errorf("unknown kid")
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, fmt.Errorf("algorithm does not match key")
	}
	return k.verify, nil
}
