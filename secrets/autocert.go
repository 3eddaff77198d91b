package secrets

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// AutocertOptions configures AutocertManager. HostPolicy or Hosts, Cache or
// CacheDir, and AcceptTOS are required.
type AutocertOptions struct {
	// Hosts are the only host names for which certificates are requested.
	// Exactly one of Hosts and HostPolicy must be set.
	Hosts []string
	// HostPolicy decides, per host name, whether to request a certificate.
	// Exactly one of Hosts and HostPolicy must be set. Without a policy
	// anyone could make the server request certificates for arbitrary
	// names and exhaust the CA's rate limits.
	HostPolicy autocert.HostPolicy
	// Cache stores account keys and certificates. Exactly one of Cache and
	// CacheDir must be set. Without a cache every restart requests new
	// certificates and soon hits the CA's rate limits.
	Cache autocert.Cache
	// CacheDir is a directory for an autocert.DirCache, created with mode
	// 0700 when first written. It holds private keys: keep it private.
	CacheDir string
	// AcceptTOS records that the operator accepts the CA's terms of
	// service. It must be true.
	AcceptTOS bool
	// Email is the optional contact address of the ACME account, used by
	// the CA for expiry and incident notices.
	Email string
	// DirectoryURL is the ACME directory; empty means Let's Encrypt's
	// production directory (autocert.DefaultACMEDirectory). Use a staging
	// directory while testing. It must be an https URL.
	DirectoryURL string
	// RenewBefore is how long before expiry certificates are renewed;
	// zero means autocert's default (30 days).
	RenewBefore time.Duration
}

// AutocertManager returns an autocert.Manager that obtains and renews
// certificates from an ACME CA such as Let's Encrypt. It refuses to build
// a manager without a host policy (or host list), without a cache, or
// without acceptance of the CA's terms, because each omission only shows up
// later, at the first handshake or at the CA's rate limits.
//
// Serve the manager's certificates with the intermediate profile:
//
//	cfg := secrets.TLSConfig(
//		secrets.TLSGetCertificate(m.GetCertificate),
//		secrets.TLSNextProtos("h2", "http/1.1", acme.ALPNProto),
//	)
//
// and answer HTTP-01 challenges on port 80 with m.HTTPHandler(redirect),
// where redirect comes from RedirectHTTPS.
func AutocertManager(opts AutocertOptions) (*autocert.Manager, error) {
	var policy autocert.HostPolicy
	switch {
	case opts.HostPolicy != nil && len(opts.Hosts) > 0:
		return nil, errors.New("secrets: autocert: set either Hosts or HostPolicy, not both")
	case opts.HostPolicy != nil:
		policy = opts.HostPolicy
	case len(opts.Hosts) > 0:
		hosts := slices.Clone(opts.Hosts)
		for i, h := range hosts {
			if strings.HasPrefix(h, "*.") || !validHostname(h) {
				return nil, fmt.Errorf("secrets: autocert: invalid host %s (no wildcards: ACME HTTP-01 and TLS-ALPN-01 cannot issue them)", quoteName(h))
			}
			hosts[i] = strings.ToLower(strings.TrimSuffix(h, "."))
		}
		policy = autocert.HostWhitelist(hosts...)
	default:
		return nil, errors.New("secrets: autocert: a host policy is required (set Hosts or HostPolicy)")
	}

	var cache autocert.Cache
	switch {
	case opts.Cache != nil && opts.CacheDir != "":
		return nil, errors.New("secrets: autocert: set either Cache or CacheDir, not both")
	case opts.Cache != nil:
		cache = opts.Cache
	case opts.CacheDir != "":
		cache = autocert.DirCache(opts.CacheDir)
	default:
		return nil, errors.New("secrets: autocert: a cache is required (set Cache or CacheDir)")
	}

	if !opts.AcceptTOS {
		return nil, errors.New("secrets: autocert: the CA's terms of service must be accepted (AcceptTOS)")
	}
	if opts.RenewBefore < 0 {
		return nil, errors.New("secrets: autocert: RenewBefore must not be negative")
	}
	m := &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		Cache:       cache,
		HostPolicy:  policy,
		Email:       opts.Email,
		RenewBefore: opts.RenewBefore,
	}
	if opts.DirectoryURL != "" {
		u, err := url.Parse(opts.DirectoryURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, errors.New("secrets: autocert: DirectoryURL must be an https URL")
		}
		m.Client = &acme.Client{DirectoryURL: opts.DirectoryURL}
	}
	return m, nil
}
