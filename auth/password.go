package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are argon2id cost parameters.
type Argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32 // bytes
	KeyLen      uint32 // bytes
}

// DefaultArgon2Params returns OWASP's recommended argon2id parameters
// (Password Storage Cheat Sheet): 19 MiB of memory, 2 iterations, 1 lane,
// with a 16-byte salt and a 32-byte hash.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters: NewPasswordHasher refuses weaker settings, and
// Verify refuses stored hashes outside them (a tampered hash must not make
// the server allocate gigabytes).
const (
	MinArgon2Memory     = 19 * 1024 // KiB
	MinArgon2Iterations = 2
	maxArgon2Memory     = 1 << 20 // KiB (1 GiB)
	maxArgon2Iterations = 64
	maxPasswordBytes    = 1024
)

// Verification ceilings: a stored hash costs what its own parameters say,
// so Verify refuses (ErrUnsupportedHash) hashes whose cost exceeds the
// larger of the hasher's own parameters and these ceilings. A tampered or
// imported hash can then cost at most about a second and 256 MiB per
// verification, instead of a minute and a gigabyte (argon2id at m=1 GiB,
// t=64) or days (bcrypt at cost 31).
const (
	verifyMaxArgon2Memory      = 256 * 1024 // KiB
	verifyMaxArgon2Iterations  = 16
	verifyMaxArgon2Work        = 1 << 20 // KiB times iterations: 1 GiB of passes
	verifyMaxArgon2Parallelism = 16
	maxBcryptCost              = 14
)

// ErrHasherBusy is returned (wrapped) by PasswordHasher's Hash, Verify and
// VerifyDummy when no hashing slot came free within the hasher's queue
// timeout (WithHashQueueTimeout): the server is saturated with hashing.
// Nothing was verified; the caller should refuse the request as
// temporarily unavailable (HTTP 503 with Retry-After) and, for a login,
// release its throttle reservation (LoginThrottler.Release) rather than
// count a failure.
var ErrHasherBusy = errors.New("auth: password hasher busy")

// DefaultHashQueueTimeout is how long a hash waits for a free slot by
// default before it gives up with ErrHasherBusy.
const DefaultHashQueueTimeout = 2 * time.Second

// PasswordHasher hashes passwords with argon2id in PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), verifies those and bcrypt
// hashes (for users migrated from other systems), and says when a stored
// hash should be replaced. A semaphore bounds how many hashes run at once,
// so a burst of logins queues instead of exhausting memory (each argon2id
// hash holds Memory KiB while it runs), and the queue is bounded in time:
// a hash that cannot start within the queue timeout (default
// DefaultHashQueueTimeout) fails with ErrHasherBusy instead of waiting
// behind a flood for longer than its client would. It is safe for
// concurrent use.
type PasswordHasher struct {
	params       Argon2Params
	sem          chan struct{}
	queueTimeout time.Duration
	dummy        string
}

// HasherOption configures a PasswordHasher. An option given an invalid
// value makes NewPasswordHasher fail with an error wrapping ErrInvalid.
type HasherOption func(*PasswordHasher) error

// WithArgon2Params sets the argon2id parameters for new hashes. Memory below
// MinArgon2Memory, Iterations below MinArgon2Iterations, a salt under 16
// bytes or a key under 16 bytes are refused.
func WithArgon2Params(p Argon2Params) HasherOption {
	return func(h *PasswordHasher) error {
		switch {
		case p.Memory < MinArgon2Memory || p.Memory > maxArgon2Memory:
			return fmt.Errorf("%w: argon2 memory %d KiB out of range [%d, %d]", ErrInvalid, p.Memory, MinArgon2Memory, maxArgon2Memory)
		case p.Iterations < MinArgon2Iterations || p.Iterations > maxArgon2Iterations:
			return fmt.Errorf("%w: argon2 iterations %d out of range [%d, %d]", ErrInvalid, p.Iterations, MinArgon2Iterations, maxArgon2Iterations)
		case p.Parallelism < 1:
			return fmt.Errorf("%w: argon2 parallelism must be at least 1", ErrInvalid)
		case p.SaltLen < 16 || p.SaltLen > 64 || p.KeyLen < 16 || p.KeyLen > 128:
			return fmt.Errorf("%w: argon2 salt must have 16-64 bytes and key 16-128 bytes", ErrInvalid)
		}
		h.params = p
		return nil
	}
}

// WithMaxConcurrentHashes bounds how many hash computations (hashing or
// verifying) run at once (default GOMAXPROCS). Callers beyond the bound
// wait, giving up when their context ends.
func WithMaxConcurrentHashes(n int) HasherOption {
	return func(h *PasswordHasher) error {
		if n < 1 {
			return fmt.Errorf("%w: max concurrent hashes must be at least 1, not %d", ErrInvalid, n)
		}
		h.sem = make(chan struct{}, n)
		return nil
	}
}

// WithHashQueueTimeout sets how long a hash (hashing or verifying) waits
// for a free slot before it fails with ErrHasherBusy (default
// DefaultHashQueueTimeout). Keep it well below the clients' timeout, so a
// saturated server answers "busy, retry later" instead of letting clients
// time out, and below ThrottlePolicy.ReservationTTL. A duration that is
// not positive is invalid.
func WithHashQueueTimeout(d time.Duration) HasherOption {
	return func(h *PasswordHasher) error {
		if d <= 0 {
			return fmt.Errorf("%w: hash queue timeout must be positive, not %s", ErrInvalid, d)
		}
		h.queueTimeout = d
		return nil
	}
}

// NewPasswordHasher returns a hasher. It computes one hash up front, used
// by VerifyDummy.
func NewPasswordHasher(opts ...HasherOption) (*PasswordHasher, error) {
	h := &PasswordHasher{params: DefaultArgon2Params(), queueTimeout: DefaultHashQueueTimeout}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(h); err != nil {
			return nil, err
		}
	}
	if h.sem == nil {
		h.sem = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	var pw [24]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, fmt.Errorf("auth: dummy password: %w", err)
	}
	dummy, err := h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw[:]))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Params returns the parameters new hashes are made with.
func (h *PasswordHasher) Params() Argon2Params { return h.params }

// QueueTimeout returns how long a hash waits for a slot before it fails
// with ErrHasherBusy.
func (h *PasswordHasher) QueueTimeout() time.Duration { return h.queueTimeout }

// acquire takes a hashing slot, waiting at most the queue timeout (then
// ErrHasherBusy) and never past ctx's end (then ctx's error).
func (h *PasswordHasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.queueTimeout)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%w: no hashing slot free within %s", ErrHasherBusy, h.queueTimeout)
	}
}

func (h *PasswordHasher) release() { <-h.sem }

// Hash returns the argon2id PHC string of password with a fresh random
// salt. Passwords over 1024 bytes are refused (see CheckPasswordPolicy for
// the user-facing rules). It fails only when no hashing slot comes free
// within the queue timeout (ErrHasherBusy), when ctx ends while waiting
// for one, or when the random source fails.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > maxPasswordBytes {
		return "", fmt.Errorf("%w: password too long", ErrWeakPassword)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.Memory, h.params.Parallelism, h.params.KeyLen)
	h.release()
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// or a bcrypt hash ($2a$, $2b$, $2y$). The comparison is constant-time. It
// returns ErrUnsupportedHash (wrapped) for anything else, and for hashes
// whose cost is out of bounds: argon2id above the larger of the hasher's
// parameters and 256 MiB, 16 iterations, 1 GiB of passes (memory times
// iterations) or 16 lanes, and bcrypt above cost 14, so that a tampered
// stored hash cannot tie up the server. It returns ErrHasherBusy (wrapped)
// when no hashing slot comes free within the queue timeout, and ctx's
// error if ctx ends while waiting for one.
func (h *PasswordHasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if len(password) > maxPasswordBytes {
		// Still spend the time of a verification so length is no oracle.
		if err := h.VerifyDummy(ctx, ""); err != nil {
			return false, err
		}
		return false, nil
	}
	if isBcrypt(encoded) {
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrUnsupportedHash, err)
		}
		if cost > maxBcryptCost {
			return false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrUnsupportedHash, cost, maxBcryptCost)
		}
		if err := h.acquire(ctx); err != nil {
			return false, err
		}
		err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		h.release()
		return err == nil, nil
	}
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	if err := h.withinVerifyBounds(p); err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// withinVerifyBounds refuses stored parameters that would cost more than
// the hasher's own parameters and the verification ceilings allow.
func (h *PasswordHasher) withinVerifyBounds(p Argon2Params) error {
	own := h.params
	switch {
	case p.Memory > max(own.Memory, verifyMaxArgon2Memory),
		p.Iterations > max(own.Iterations, verifyMaxArgon2Iterations),
		uint64(p.Memory)*uint64(p.Iterations) > max(uint64(own.Memory)*uint64(own.Iterations), verifyMaxArgon2Work),
		p.Parallelism > max(own.Parallelism, verifyMaxArgon2Parallelism):
		return fmt.Errorf("%w: argon2id parameters m=%d,t=%d,p=%d exceed the verification bounds", ErrUnsupportedHash, p.Memory, p.Iterations, p.Parallelism)
	}
	return nil
}

// VerifyDummy spends the time and memory of one Verify against a hash of a
// random password and returns only the errors of waiting for a hashing
// slot (ErrHasherBusy, ctx's error). Call it when the user does
// not exist, so that a login for an unknown name takes as long as one for a
// known name with a wrong password. The dummy hash uses the hasher's
// current parameters; stored hashes with other parameters cost differently
// until NeedsRehash has upgraded them at their users' next login.
func (h *PasswordHasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// NeedsRehash reports whether encoded should be replaced by a fresh Hash
// after the next successful Verify: it is bcrypt, or argon2id made with
// parameters other than the hasher's, or not recognised at all.
func (h *PasswordHasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return true
	}
	return p.Memory != h.params.Memory || p.Iterations != h.params.Iterations ||
		p.Parallelism != h.params.Parallelism || uint32(len(salt)) != h.params.SaltLen || // #nosec G115 -- salt length, at most 64 bytes (decodePHC bounds it)
		uint32(len(key)) != h.params.KeyLen // #nosec G115 -- key length, at most 128 bytes (decodePHC bounds it)
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

var phcB64 = base64.RawStdEncoding.Strict()

func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		phcB64.EncodeToString(salt), phcB64.EncodeToString(key))
}

// decodePHC parses an argon2id PHC string strictly and bounds its
// parameters.
func decodePHC(s string) (Argon2Params, []byte, []byte, error) {
	bad := func(why string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: %s", ErrUnsupportedHash, why)
	}
	if len(s) > 512 {
		return bad("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported argon2 version")
	}
	var p Argon2Params
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("bad parameters")
	}
	for i, name := range []string{"m", "t", "p"} {
		k, v, ok := strings.Cut(kv[i], "=")
		if !ok || k != name || v == "" || (len(v) > 1 && v[0] == '0') {
			return bad("bad parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("bad parameters")
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return bad("bad parameters")
			}
			p.Parallelism = uint8(n)
		}
	}
	if p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxArgon2Memory || p.Iterations < 1 ||
		p.Iterations > maxArgon2Iterations || p.Parallelism < 1 {
		return bad("parameters out of bounds")
	}
	// encoding/base64 skips CR and LF even in strict mode; requiring the
	// canonical encoding refuses them and any other variant spelling.
	salt, err := phcB64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 || phcB64.EncodeToString(salt) != parts[4] {
		return bad("bad salt")
	}
	key, err := phcB64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 || phcB64.EncodeToString(key) != parts[5] {
		return bad("bad hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key)) // #nosec G115 -- salt and key lengths bounded by decodePHC (64 and 128 bytes)
	return p, salt, key, nil
}
