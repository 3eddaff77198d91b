package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the Vault provider.
const (
	// DefaultVaultMount is the mount path of the KV version 2 engine that
	// `vault server -dev` enables and most installations keep.
	DefaultVaultMount = "secret"
	// DefaultVaultTimeout bounds each request to Vault, including reading
	// the response.
	DefaultVaultTimeout = 10 * time.Second
	// maxVaultResponse bounds a Vault response body.
	maxVaultResponse = 1 << 20
)

// VaultProvider reads secrets from a HashiCorp Vault KV version 2 secrets
// engine over Vault's HTTP API. See Vault for the naming rules.
//
// Every Get is one HTTP request: nothing is cached (wrap the provider in
// Cached for that), so a new version written to Vault is seen by the next
// Get. A VaultProvider is safe for concurrent use.
type VaultProvider struct {
	addr      *url.URL
	mount     []string
	path      []string
	namespace string
	token     func(context.Context) (string, error)
	client    *http.Client
	timeout   time.Duration
	allowHTTP bool
}

// VaultOption configures a VaultProvider. An option given an invalid value
// makes Vault fail with an error wrapping ErrInvalid.
type VaultOption func(*VaultProvider) error

// VaultToken sets a fixed Vault token. An empty token is invalid.
func VaultToken(token string) VaultOption {
	return func(v *VaultProvider) error {
		if token == "" {
			return invalidf("vault: empty token")
		}
		v.token = func(context.Context) (string, error) { return token, nil }
		return nil
	}
}

// VaultTokenFrom reads the Vault token from p, under name, before every
// request, so that a token rotated in its source (a file renewed by Vault
// Agent, say) is picked up without a restart. A nil provider or an empty
// name is invalid.
func VaultTokenFrom(p Provider, name string) VaultOption {
	return func(v *VaultProvider) error {
		if p == nil || name == "" {
			return invalidf("vault: token source needs a provider and a name")
		}
		v.token = func(ctx context.Context) (string, error) { return p.Get(ctx, name) }
		return nil
	}
}

// VaultMount sets the mount path of the KV version 2 engine; the default
// is DefaultVaultMount ("secret"). Nested mounts such as "team/kv" are
// allowed.
func VaultMount(mount string) VaultOption {
	return func(v *VaultProvider) error { v.mount = splitVaultPath(mount); return nil }
}

// VaultPath sets the path, below the mount, of the secret whose keys the
// provider serves, for example "maestro/production".
func VaultPath(path string) VaultOption {
	return func(v *VaultProvider) error { v.path = splitVaultPath(path); return nil }
}

// VaultNamespace sends the X-Vault-Namespace header (Vault Enterprise and
// HCP Vault).
func VaultNamespace(ns string) VaultOption {
	return func(v *VaultProvider) error { v.namespace = ns; return nil }
}

// VaultTimeout bounds each request; the default is DefaultVaultTimeout.
// d must be positive.
func VaultTimeout(d time.Duration) VaultOption {
	return func(v *VaultProvider) error {
		if d <= 0 {
			return invalidf("vault: timeout %s is not positive", d)
		}
		v.timeout = d
		return nil
	}
}

// VaultHTTPClient sets the HTTP client, for example one whose transport
// trusts a private certificate authority. The provider uses a copy of the
// client that never follows redirects, because the token travels in a
// header that Go's client would forward to any redirect target. A nil
// client is invalid.
func VaultHTTPClient(c *http.Client) VaultOption {
	return func(v *VaultProvider) error {
		if c == nil {
			return invalidf("vault: nil HTTP client")
		}
		v.client = c
		return nil
	}
}

// VaultAllowHTTP permits an http:// address. Without it the provider
// refuses to send its token over plain HTTP; use it only for a Vault on the
// loopback interface or in tests.
func VaultAllowHTTP() VaultOption {
	return func(v *VaultProvider) error { v.allowHTTP = true; return nil }
}

// Vault returns a provider for the Vault server at addr, such as
// "https://vault.internal:8200". A token is required (VaultToken or
// VaultTokenFrom).
//
// Get(ctx, name) reads the secret at <mount>/data/<path> and returns its
// key name. A name containing '#' is read as "sub/path#key": key of the
// secret at <path>/sub/path. Path segments may hold ASCII letters, digits,
// '.', '_' and '-' and may not be "." or ".."; keys may hold any printable
// character (including '#', after the first). Results map onto this
// package's errors:
//
//   - 404, a deleted or destroyed version, or a missing key: ErrNotFound;
//   - 401 and 403: ErrPermission;
//   - 429, 502, 503 (a sealed or standby Vault) and 504: ErrUnavailable;
//   - an unreadable body, or a key whose value is not a string: ErrMalformed.
//
// Errors carry Vault's own messages in a *VaultError but never the token.
func Vault(addr string, opts ...VaultOption) (*VaultProvider, error) {
	v := &VaultProvider{
		mount:   []string{DefaultVaultMount},
		timeout: DefaultVaultTimeout,
		client:  &http.Client{},
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidf("vault: nil option")
		}
		if err := opt(v); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, invalidf("vault: invalid address: %w", err)
	}
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && v.allowHTTP):
		return nil, invalidf("vault: address must use https (see VaultAllowHTTP)")
	case u.Host == "":
		return nil, invalidf("vault: address has no host")
	case u.User != nil, u.RawQuery != "", u.Fragment != "":
		return nil, invalidf("vault: address must not carry credentials, a query or a fragment")
	case v.token == nil:
		return nil, invalidf("vault: no token configured (see VaultToken)")
	}
	if err := validVaultSegments(v.mount, "mount"); err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrInvalid)
	}
	if err := validVaultSegments(v.path, "path"); err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrInvalid)
	}
	if len(v.mount) == 0 {
		return nil, invalidf("vault: empty mount")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	v.addr = u
	c := *v.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.client = &c
	return v, nil
}

// VaultError reports an unsuccessful answer from Vault.
type VaultError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Messages are the entries of Vault's "errors" array, bounded in
	// number and length, with the token removed should Vault ever echo it.
	Messages []string
	kind     error
}

// Error describes the status and Vault's messages.
func (e *VaultError) Error() string {
	s := "vault answered HTTP " + strconv.Itoa(e.StatusCode)
	if len(e.Messages) > 0 {
		s += ": " + strings.Join(e.Messages, "; ")
	}
	if e.kind != nil {
		s += " (" + e.kind.Error() + ")"
	}
	return s
}

// Unwrap returns the sentinel error matching the status: ErrNotFound,
// ErrPermission, ErrUnavailable, or nil for other statuses.
func (e *VaultError) Unwrap() error { return e.kind }

// kvResponse is the part of a KV version 2 read response the provider uses.
type kvResponse struct {
	Data *struct {
		Data     map[string]json.RawMessage `json:"data"`
		Metadata struct {
			DeletionTime string `json:"deletion_time"`
			Destroyed    bool   `json:"destroyed"`
			Version      int    `json:"version"`
		} `json:"metadata"`
	} `json:"data"`
	Errors []string `json:"errors"`
}

// Get reads the key name from Vault; see Vault for the naming rules.
func (v *VaultProvider) Get(ctx context.Context, name string) (string, error) {
	sub, key, err := parseVaultName(name)
	if err != nil {
		return "", lookupErr("vault", name, err)
	}
	token, err := v.token(ctx)
	if err != nil {
		// The token's own provider already produced a safe error; do not
		// let its ErrNotFound read as "this secret is absent".
		return "", lookupErr("vault", name, fmt.Errorf("reading the vault token: %w", hideNotFound(err)))
	}
	if token == "" {
		return "", lookupErr("vault", name, fmt.Errorf("%w: empty vault token", ErrPermission))
	}
	v2, err := v.read(ctx, token, sub)
	if err != nil {
		return "", lookupErr("vault", name, redact(err, token))
	}
	raw, ok := v2[key]
	if !ok {
		return "", lookupErr("vault", name, ErrNotFound)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || strings.TrimSpace(string(raw)) == "null" {
		return "", lookupErr("vault", name, fmt.Errorf("%w: value of key is not a string", ErrMalformed))
	}
	return s, nil
}

// read fetches the data of the secret at v.path/sub.
func (v *VaultProvider) read(ctx context.Context, token string, sub []string) (map[string]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()

	segs := make([]string, 0, len(v.mount)+1+len(v.path)+len(sub))
	segs = append(segs, v.mount...)
	segs = append(segs, "data")
	segs = append(segs, v.path...)
	segs = append(segs, sub...)
	if len(segs) == len(v.mount)+1 {
		return nil, fmt.Errorf("%w: no secret path (see VaultPath)", ErrInvalidName)
	}
	u := *v.addr
	u.Path = v.addr.Path + "/v1/" + strings.Join(segs, "/")
	u.RawPath = "" // every segment is plain ASCII and needs no escaping
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", token)
	req.Header.Set("X-Vault-Request", "true")
	req.Header.Set("Accept", "application/json")
	if v.namespace != "" {
		req.Header.Set("X-Vault-Namespace", v.namespace)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading response: %w", ErrUnavailable, err)
	}
	if len(body) > maxVaultResponse {
		return nil, fmt.Errorf("%w: response exceeds %d bytes", ErrTooLarge, maxVaultResponse)
	}
	var kv kvResponse
	jsonErr := json.Unmarshal(body, &kv)
	if resp.StatusCode != http.StatusOK {
		verr := &VaultError{StatusCode: resp.StatusCode, Messages: boundMessages(kv.Errors)}
		switch resp.StatusCode {
		case http.StatusNotFound:
			verr.kind = ErrNotFound
		case http.StatusUnauthorized, http.StatusForbidden:
			verr.kind = ErrPermission
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			verr.kind = ErrUnavailable
		}
		return nil, verr
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, jsonErr)
	}
	if kv.Data == nil {
		return nil, fmt.Errorf("%w: no data in response", ErrMalformed)
	}
	md := kv.Data.Metadata
	if md.Destroyed || md.DeletionTime != "" || kv.Data.Data == nil {
		return nil, fmt.Errorf("%w: version %d is deleted or destroyed", ErrNotFound, md.Version)
	}
	return kv.Data.Data, nil
}

// parseVaultName splits a name into the path below the provider's path and
// the key: "key" or "sub/path#key".
func parseVaultName(name string) (sub []string, key string, err error) {
	key = name
	if i := strings.IndexByte(name, '#'); i >= 0 {
		sub, key = splitVaultPath(name[:i]), name[i+1:]
		if len(sub) == 0 {
			return nil, "", fmt.Errorf("%w: empty path before '#'", ErrInvalidName)
		}
		if err := validVaultSegments(sub, "name"); err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrInvalidName, err)
		}
	}
	if key == "" || len(key) > 1024 {
		return nil, "", fmt.Errorf("%w: key must be 1 to 1024 bytes", ErrInvalidName)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return nil, "", fmt.Errorf("%w: key holds a control character or invalid UTF-8", ErrInvalidName)
		}
	}
	return sub, key, nil
}

// splitVaultPath splits p at slashes. Empty segments are kept so that
// validVaultSegments can refuse them, but leading and trailing slashes are
// dropped.
func splitVaultPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// validVaultSegments checks that each path segment is a plain name.
func validVaultSegments(segs []string, what string) error {
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || len(s) > 255 {
			return fmt.Errorf("secrets: vault: invalid %s segment %s", what, quoteName(s))
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("secrets: vault: invalid %s segment %s", what, quoteName(s))
			}
		}
	}
	return nil
}

// boundMessages copies at most five of Vault's messages, each cut to 200
// bytes and with control characters replaced by spaces, so that a hostile
// server cannot flood or forge log lines.
func boundMessages(msgs []string) []string {
	const maxMsgs, maxLen = 5, 200
	if len(msgs) > maxMsgs {
		msgs = msgs[:maxMsgs]
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if len(m) > maxLen {
			m = m[:maxLen] + "..."
		}
		out = append(out, strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, m))
	}
	return out
}

// redact removes the token from err. The provider never puts the token in
// an error itself; this guards against a server or proxy that echoes it.
// Vault's messages are edited in place; should the token still show, the
// details are dropped and only the error's kind is kept.
func redact(err error, token string) error {
	if !strings.Contains(err.Error(), token) {
		return err
	}
	var verr *VaultError
	if errors.As(err, &verr) {
		for i, m := range verr.Messages {
			verr.Messages[i] = strings.ReplaceAll(m, token, "[redacted]")
		}
		if !strings.Contains(err.Error(), token) {
			return err
		}
	}
	for _, kind := range []error{ErrNotFound, ErrPermission, ErrUnavailable, ErrMalformed, ErrTooLarge} {
		if errors.Is(err, kind) {
			return fmt.Errorf("%w (details withheld: they contained the token)", kind)
		}
	}
	return errors.New("vault request failed (details withheld: they contained the token)")
}

// hideNotFound turns an ErrNotFound from a credential's provider into a
// plain error that no longer matches ErrNotFound.
func hideNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return errors.New(strings.ReplaceAll(err.Error(), ErrNotFound.Error(), "credential not found"))
	}
	return err
}
