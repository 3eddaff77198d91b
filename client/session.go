package client

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// refreshEarly is how long before its expiry an access token is renewed.
const refreshEarly = 30 * time.Second

// session is WithLogin's token pair. Its mutex serialises renewals: the
// server rotates refresh tokens and treats a spent one presented again as
// theft (ending the session), so two goroutines must never spend the same
// one. The pair is replaced whole, under the lock.
type session struct {
	creds loginRequest

	mu      sync.Mutex
	pair    TokenPair // zero: not logged in
	expires time.Time // when pair.AccessToken expires
	gen     uint64    // counts the pairs; a 401 names the one it refused
}

// access returns a valid access token and its generation, logging in or
// refreshing when there is none or it is about to expire.
func (s *session) access(ctx context.Context, c *Client) (string, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pair.AccessToken != "" && time.Until(s.expires) > refreshEarly {
		return s.pair.AccessToken, s.gen, nil
	}
	if err := s.renewLocked(ctx, c); err != nil {
		return "", 0, err
	}
	return s.pair.AccessToken, s.gen, nil
}

// renew replaces the pair of generation gen, which the server refused;
// when another goroutine replaced it already, there is nothing to do.
func (s *session) renew(ctx context.Context, c *Client, gen uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return nil
	}
	return s.renewLocked(ctx, c)
}

// renewLocked spends the refresh token for a new pair, or logs in when
// there is none or the server refuses it. s.mu is held.
func (s *session) renewLocked(ctx context.Context, c *Client) error {
	if s.pair.RefreshToken != "" {
		var pair TokenPair
		err := c.postPublic(ctx, "/api/v1/auth/refresh", refreshRequest{RefreshToken: s.pair.RefreshToken}, &pair)
		if err == nil {
			s.set(pair)
			return nil
		}
		if !errors.Is(err, ErrUnauthorized) {
			return err
		}
		// The session ended (logout, password change, expiry): sign in.
	}
	var pair TokenPair
	if err := c.postPublic(ctx, "/api/v1/auth/login", s.creds, &pair); err != nil {
		return err
	}
	s.set(pair)
	return nil
}

// set stores a new pair. s.mu is held.
func (s *session) set(pair TokenPair) {
	s.pair = pair
	s.expires = time.Now().Add(time.Duration(pair.ExpiresIn) * time.Second)
	s.gen++
}

// clear forgets the pair (after logout). s.mu is not held.
func (s *session) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pair = TokenPair{}
	s.gen++
}

// tokens returns the current pair.
func (s *session) tokens() TokenPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pair
}

// postPublic posts a JSON body to a public route and decodes the answer.
func (c *Client) postPublic(ctx context.Context, path string, in, out any) error {
	b, err := marshal(in)
	if err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: path, body: b, public: true, out: out})
}
