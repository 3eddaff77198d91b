package auth

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"strings"
)

// API key format: "mst_" + 43 base62 characters of randomness (256 bits,
// drawn without modulo bias) + 6 base62 characters of CRC-32 checksum over
// everything before it. The prefix lets secret scanners and humans
// recognise a Maestro key; the checksum lets ParseAPIKey reject typos and
// random strings offline, without a database lookup.
const (
	// APIKeyPrefix starts every API key.
	APIKeyPrefix = "mst_"
	// APIKeyLen is the length of every API key: 4 + 43 + 6 characters.
	APIKeyLen = len(APIKeyPrefix) + apiKeyBodyLen + apiKeyCRCLen
)

const (
	apiKeyBodyLen    = 43
	apiKeyCRCLen     = 6
	apiKeyLookupLen  = 8 // body characters that form the public lookup prefix
	base62Alphabet   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	base62RejectFrom = 248 // 4*62: bytes >= this are redrawn to avoid bias
)

// GenerateAPIKey returns a new random API key and its public lookup prefix
// (the first 12 characters, e.g. "mst_AbC12345"), which may be stored and
// shown in listings. The key itself must be shown once and never stored.
func GenerateAPIKey() (key, prefix string, err error) {
	var b strings.Builder
	b.Grow(APIKeyLen)
	b.WriteString(APIKeyPrefix)
	buf := make([]byte, 64)
	n := 0
	for n < apiKeyBodyLen {
		if _, err := rand.Read(buf); err != nil {
			return "", "", fmt.Errorf("auth: generate API key: %w", err)
		}
		for _, c := range buf {
			if c >= base62RejectFrom {
				continue
			}
			b.WriteByte(base62Alphabet[c%62])
			if n++; n == apiKeyBodyLen {
				break
			}
		}
	}
	head := b.String()
	b.WriteString(encodeCRC(crc32.ChecksumIEEE([]byte(head))))
	key = b.String()
	return key, key[:len(APIKeyPrefix)+apiKeyLookupLen], nil
}

// IsAPIKeyLike reports whether s carries the API-key prefix, which is how
// the middleware tells API keys from JWTs (a JWT starts with "eyJ").
func IsAPIKeyLike(s string) bool { return strings.HasPrefix(s, APIKeyPrefix) }

// ParseAPIKey checks key's format and checksum offline and returns its
// public lookup prefix. It fails with ErrInvalidAPIKey for anything that is
// not a well-formed key; it never echoes the input.
func ParseAPIKey(key string) (prefix string, err error) {
	if len(key) != APIKeyLen || !IsAPIKeyLike(key) {
		return "", fmt.Errorf("%w: bad length or prefix", ErrInvalidAPIKey)
	}
	for i := len(APIKeyPrefix); i < len(key); i++ {
		if base62Value(key[i]) < 0 {
			return "", fmt.Errorf("%w: bad character", ErrInvalidAPIKey)
		}
	}
	head := key[:len(key)-apiKeyCRCLen]
	want, ok := decodeCRC(key[len(key)-apiKeyCRCLen:])
	if !ok || crc32.ChecksumIEEE([]byte(head)) != want {
		return "", fmt.Errorf("%w: bad checksum", ErrInvalidAPIKey)
	}
	return key[:len(APIKeyPrefix)+apiKeyLookupLen], nil
}

func encodeCRC(v uint32) string {
	var out [apiKeyCRCLen]byte
	n := uint64(v)
	for i := apiKeyCRCLen - 1; i >= 0; i-- {
		out[i] = base62Alphabet[n%62]
		n /= 62
	}
	return string(out[:])
}

func decodeCRC(s string) (uint32, bool) {
	var n uint64
	for i := 0; i < len(s); i++ {
		v := base62Value(s[i])
		if v < 0 {
			return 0, false
		}
		n = n*62 + uint64(v)
	}
	if n > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(n), true
}

func base62Value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}
