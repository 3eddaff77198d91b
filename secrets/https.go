package secrets

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HSTS defaults and bounds.
const (
	// DefaultHSTSMaxAge is the max-age HSTS sends unless told otherwise:
	// two years, as in Mozilla's Server Side TLS guidelines.
	DefaultHSTSMaxAge = 2 * 365 * 24 * time.Hour
	// MinHSTSMaxAge is the least max-age HSTS accepts: one year, the
	// minimum for inclusion in browsers' preload lists.
	MinHSTSMaxAge = 365 * 24 * time.Hour
)

type hstsConfig struct {
	maxAge            time.Duration
	includeSubDomains bool
	preload           bool
	always            bool
}

// HSTSOption configures HSTS. An option given an invalid value makes HSTS
// fail with an error wrapping ErrInvalid.
type HSTSOption func(*hstsConfig) error

// HSTSMaxAge sets how long browsers remember to use HTTPS only; at least
// MinHSTSMaxAge. The default is DefaultHSTSMaxAge.
func HSTSMaxAge(d time.Duration) HSTSOption {
	return func(c *hstsConfig) error {
		if d < MinHSTSMaxAge {
			return invalidf("hsts: max-age must be at least %d seconds (one year)", int64(MinHSTSMaxAge/time.Second))
		}
		c.maxAge = d
		return nil
	}
}

// HSTSIncludeSubDomains extends the policy to every subdomain. Enable it
// only once every subdomain serves HTTPS.
func HSTSIncludeSubDomains() HSTSOption {
	return func(c *hstsConfig) error { c.includeSubDomains = true; return nil }
}

// HSTSPreload adds the preload directive, which asks browser vendors to
// ship the policy built in (https://hstspreload.org). It requires
// HSTSIncludeSubDomains. Removal from the preload lists takes months.
func HSTSPreload() HSTSOption {
	return func(c *hstsConfig) error { c.preload = true; return nil }
}

// HSTSBehindProxy sends the header on every response, for servers whose
// TLS is terminated by a proxy in front of them. By default the header is
// sent only on responses over TLS, as RFC 6797 §7.2 requires.
func HSTSBehindProxy() HSTSOption {
	return func(c *hstsConfig) error { c.always = true; return nil }
}

// HSTS returns net/http middleware that adds a Strict-Transport-Security
// header (RFC 6797) to every response served over TLS, by default
// "max-age=63072000". It returns an error wrapping ErrInvalid when max-age
// is below one year or when preload is asked for without
// includeSubDomains.
func HSTS(opts ...HSTSOption) (func(http.Handler) http.Handler, error) {
	c := hstsConfig{maxAge: DefaultHSTSMaxAge}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidf("hsts: nil option")
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.preload && !c.includeSubDomains {
		return nil, invalidf("hsts: preload requires includeSubDomains")
	}
	value := "max-age=" + strconv.FormatInt(int64(c.maxAge/time.Second), 10)
	if c.includeSubDomains {
		value += "; includeSubDomains"
	}
	if c.preload {
		value += "; preload"
	}
	always := c.always
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if always || r.TLS != nil {
				w.Header().Set("Strict-Transport-Security", value)
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// RedirectOption configures RedirectHTTPS. An option given an invalid
// value makes RedirectHTTPS fail with an error wrapping ErrInvalid.
type RedirectOption func(*redirectConfig) error

type redirectConfig struct{ port int }

// RedirectPort sets the port of the HTTPS server when it is not 443; it
// must be between 1 and 65535.
func RedirectPort(port int) RedirectOption {
	return func(c *redirectConfig) error {
		if port < 1 || port > 65535 {
			return invalidf("redirect: port must be between 1 and 65535")
		}
		c.port = port
		return nil
	}
}

// RedirectHTTPS returns a handler for the plain HTTP listener that sends
// every request to the same path and query over HTTPS: 301 Moved
// Permanently for GET and HEAD, 308 Permanent Redirect (which keeps the
// method and body) otherwise.
//
// Only the host names in hosts (or IP addresses) are redirected; a request
// for any other Host gets 400 Bad Request. The target host is taken from
// the list, never copied from the request, so the handler cannot be used as
// an open redirect. Matching ignores case, a port and a trailing dot.
func RedirectHTTPS(hosts []string, opts ...RedirectOption) (http.Handler, error) {
	c := redirectConfig{port: 443}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidf("redirect: nil option")
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if len(hosts) == 0 {
		return nil, invalidf("redirect: at least one allowed host is required")
	}
	allowed := make(map[string]string, len(hosts))
	for _, h := range hosts {
		key := normalizeHost(h)
		switch {
		case net.ParseIP(key) != nil:
			allowed[key] = hostWithPort(key, c.port)
		case validHostname(key) && !strings.Contains(key, "*"):
			allowed[key] = hostWithPort(key, c.port)
		default:
			return nil, invalidf("redirect: invalid host %s", quoteName(h))
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		target, ok := allowed[normalizeHost(host)]
		if !ok {
			http.Error(w, "unknown host", http.StatusBadRequest)
			return
		}
		u := url.URL{Scheme: "https", Host: target, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		if u.Path == "" {
			u.Path = "/"
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		http.Redirect(w, r, u.String(), code)
	}), nil
}

// normalizeHost lower-cases a host name and removes a trailing dot and
// IPv6 brackets.
func normalizeHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// hostWithPort renders host for a URL, with the port unless it is 443.
func hostWithPort(host string, port int) string {
	if port == 443 {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
