package secrets

import (
	"context"
	"errors"
)

// ChainProvider asks a list of providers in order and returns the first
// value found. See Chain.
type ChainProvider struct {
	providers []Provider
}

// Chain returns a provider that asks each of providers in turn:
//
//   - a value (including the empty string) ends the search;
//   - an error wrapping ErrNotFound moves on to the next provider;
//   - any other error ends the search and is returned as is, so that a
//     permission problem or an unreachable backend is never papered over
//     by a value from a later, possibly less trusted, provider.
//
// When no provider has the secret, Get returns an error wrapping
// ErrNotFound. Nil providers are skipped. The list is copied, so later
// changes to the caller's slice do not affect the chain. A ChainProvider is
// safe for concurrent use if its providers are.
func Chain(providers ...Provider) *ChainProvider {
	c := &ChainProvider{providers: make([]Provider, 0, len(providers))}
	for _, p := range providers {
		if p != nil {
			c.providers = append(c.providers, p)
		}
	}
	return c
}

// Get returns the value from the first provider that has the secret.
func (c *ChainProvider) Get(ctx context.Context, name string) (string, error) {
	for _, p := range c.providers {
		if err := ctx.Err(); err != nil {
			return "", lookupErr("chain", name, err)
		}
		v, err := p.Get(ctx, name)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	return "", lookupErr("chain", name, ErrNotFound)
}
