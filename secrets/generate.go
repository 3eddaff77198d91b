package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Bounds of Generate.
const (
	// MinGenerateBytes is the least entropy, in bytes, Generate produces:
	// 128 bits. Keys should use KeyBytes.
	MinGenerateBytes = 16
	// MaxGenerateBytes is the most entropy, in bytes, Generate produces.
	MaxGenerateBytes = 4096
	// KeyBytes is the entropy, in bytes, recommended for keys such as an
	// HMAC signing secret: 256 bits.
	KeyBytes = 32
)

// Generate returns a new random secret holding n bytes from crypto/rand,
// encoded as unpadded URL-safe base64 (RFC 4648 §5), so the result can be
// used in environment variables, files, URLs and headers without quoting.
// The result is ceil(4n/3) characters long; Generate(KeyBytes) yields 43.
//
// n must lie between MinGenerateBytes and MaxGenerateBytes. Values produced
// with n >= KeyBytes pass CheckStrength.
func Generate(n int) (string, error) {
	if n < MinGenerateBytes || n > MaxGenerateBytes {
		return "", fmt.Errorf("secrets: generate: n must be between %d and %d bytes, got %d", MinGenerateBytes, MaxGenerateBytes, n)
	}
	b := make([]byte, n)
	// crypto/rand.Read never returns an error since Go 1.24 (it crashes
	// the program instead of returning predictable bytes); the check
	// remains for readers on older toolchains.
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secrets: generate: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
