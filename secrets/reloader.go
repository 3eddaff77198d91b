package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of CertReloader.
const (
	// DefaultReloadInterval is how often, at most, a CertReloader looks for
	// new material during handshakes.
	DefaultReloadInterval = 10 * time.Second
	// reloadTimeout bounds a reload started by a handshake.
	reloadTimeout = 10 * time.Second
	// maxPEMSize bounds a certificate chain or key read by a CertReloader.
	maxPEMSize = 1 << 20
)

// CertReloader serves a certificate and key that may change while the
// server runs, such as files renewed by certbot or cert-manager, or PEM
// values in a secret store. Install its GetCertificate method with
// TLSGetCertificate.
//
// During a handshake, at most once per interval (DefaultReloadInterval),
// the reloader looks for new material: for files it compares their
// modification times and sizes, for a provider it fetches both values and
// compares them. Only the handshake that performs the check waits for it;
// concurrent handshakes keep using the current certificate. Reload forces
// a check, for example on SIGHUP.
//
// New material is used only if the key matches the certificate and the
// certificate is valid now; otherwise the previous certificate stays in
// service and the error goes to the ReloadErrorHandler (and is returned by
// Reload). A CertReloader is safe for concurrent use.
type CertReloader struct {
	source   certSource
	interval time.Duration
	now      func() time.Time
	onError  func(error)

	cur       atomic.Pointer[tls.Certificate]
	lastCheck atomic.Int64 // unix nanoseconds of the last check

	mu      sync.Mutex // serialises checks; guards the fields below
	stamp   string     // cheap fingerprint of the source at the last load
	content [32]byte   // hash of the PEM material in service
}

// certSource is where a CertReloader's material comes from.
type certSource interface {
	// stamp returns a cheap fingerprint of the material, or "" when the
	// only way to learn whether it changed is to load it.
	stamp(ctx context.Context) (string, error)
	// load returns the certificate chain and key in PEM form.
	load(ctx context.Context) (certPEM, keyPEM []byte, err error)
}

// ReloaderOption configures a CertReloader. An option given an invalid
// value makes NewCertReloader and NewProviderCertReloader fail with an
// error wrapping ErrInvalid.
type ReloaderOption func(*CertReloader) error

// ReloadInterval sets how often, at most, handshakes look for new material
// (default DefaultReloadInterval). d must be positive.
func ReloadInterval(d time.Duration) ReloaderOption {
	return func(r *CertReloader) error {
		if d <= 0 {
			return invalidf("cert reloader: interval %s is not positive", d)
		}
		r.interval = d
		return nil
	}
}

// ReloadErrorHandler sets a function that receives the errors of reloads
// started by handshakes (for logging); such errors never fail the
// handshake while a previous certificate is in service. The error never
// contains key material. A nil function is invalid.
func ReloadErrorHandler(fn func(error)) ReloaderOption {
	return func(r *CertReloader) error {
		if fn == nil {
			return invalidf("cert reloader: nil error handler")
		}
		r.onError = fn
		return nil
	}
}

// ReloadClock replaces time.Now, for tests. A nil clock is invalid.
func ReloadClock(now func() time.Time) ReloaderOption {
	return func(r *CertReloader) error {
		if now == nil {
			return invalidf("cert reloader: nil clock")
		}
		r.now = now
		return nil
	}
}

// NewCertReloader returns a reloader for the PEM certificate chain in
// certFile and the PEM private key in keyFile. It loads them once before
// returning, so that a missing or broken certificate stops start-up.
func NewCertReloader(certFile, keyFile string, opts ...ReloaderOption) (*CertReloader, error) {
	return newCertReloader(context.Background(), fileCertSource{certFile, keyFile}, opts)
}

// NewProviderCertReloader returns a reloader whose certificate chain and
// private key are the PEM values of the secrets certName and keyName in p.
// It loads them once before returning.
func NewProviderCertReloader(ctx context.Context, p Provider, certName, keyName string, opts ...ReloaderOption) (*CertReloader, error) {
	if p == nil {
		return nil, invalidf("cert reloader: nil provider")
	}
	return newCertReloader(ctx, providerCertSource{p, certName, keyName}, opts)
}

func newCertReloader(ctx context.Context, src certSource, opts []ReloaderOption) (*CertReloader, error) {
	r := &CertReloader{source: src, interval: DefaultReloadInterval, now: time.Now}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidf("cert reloader: nil option")
		}
		if err := opt(r); err != nil {
			return nil, err
		}
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate returns the certificate in service, first looking for new
// material if the interval has passed. Its signature fits
// tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := r.now()
	if now.UnixNano()-r.lastCheck.Load() >= int64(r.interval) && r.mu.TryLock() {
		ctx := context.Background()
		if hello != nil && hello.Context() != nil {
			ctx = hello.Context()
		}
		ctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		err := r.checkLocked(ctx, false)
		cancel()
		r.mu.Unlock()
		if err != nil && r.onError != nil {
			r.onError(err)
		}
	}
	cert := r.cur.Load()
	if cert == nil {
		return nil, errors.New("secrets: cert reloader: no certificate loaded")
	}
	return cert, nil
}

// Reload looks for new material now and puts it in service if it changed.
// It returns an error if the material cannot be read or is invalid, in
// which case the previous certificate stays in service.
func (r *CertReloader) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checkLocked(ctx, true)
}

// Leaf returns the parsed leaf certificate in service, for monitoring its
// expiry. The caller must not modify it.
func (r *CertReloader) Leaf() *x509.Certificate {
	if c := r.cur.Load(); c != nil {
		return c.Leaf
	}
	return nil
}

// checkLocked loads new material if the source changed (or always, if
// force is set). r.mu must be held.
func (r *CertReloader) checkLocked(ctx context.Context, force bool) error {
	r.lastCheck.Store(r.now().UnixNano())
	stamp, err := r.source.stamp(ctx)
	if err != nil {
		return fmt.Errorf("secrets: cert reloader: %w", err)
	}
	if !force && stamp != "" && stamp == r.stamp {
		return nil
	}
	certPEM, keyPEM, err := r.source.load(ctx)
	if err != nil {
		return fmt.Errorf("secrets: cert reloader: %w", err)
	}
	sum := sha256.Sum256(append(append(bytes.Clone(certPEM), 0), keyPEM...))
	if r.cur.Load() != nil && sum == r.content {
		r.stamp = stamp
		return nil
	}
	cert, err := parseKeyPair(certPEM, keyPEM, r.now())
	if err != nil {
		return err
	}
	r.cur.Store(cert)
	r.stamp, r.content = stamp, sum
	return nil
}

// parseKeyPair parses PEM material and checks that the key matches the
// certificate and that the certificate is valid at now.
func parseKeyPair(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// tls.X509KeyPair's errors describe the structure of the input,
		// never the key itself.
		return nil, fmt.Errorf("secrets: cert reloader: invalid key pair: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("secrets: cert reloader: %w", err)
		}
	}
	if now.Before(cert.Leaf.NotBefore) || now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("secrets: cert reloader: certificate is valid only from %s to %s",
			cert.Leaf.NotBefore.UTC().Format(time.RFC3339), cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

// fileCertSource reads a certificate and key from two files.
type fileCertSource struct{ certFile, keyFile string }

func (s fileCertSource) stamp(context.Context) (string, error) {
	var b []byte
	for _, name := range [...]string{s.certFile, s.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, fi.Size(), 10)
		b = append(b, ';')
	}
	return string(b), nil
}

func (s fileCertSource) load(context.Context) (certPEM, keyPEM []byte, err error) {
	c, err := readSecretFile(osFS{}, s.certFile, maxPEMSize)
	if err != nil {
		return nil, nil, err
	}
	k, err := readSecretFile(osFS{}, s.keyFile, maxPEMSize)
	if err != nil {
		return nil, nil, err
	}
	return []byte(c), []byte(k), nil
}

// providerCertSource reads a certificate and key from a Provider.
type providerCertSource struct {
	p                 Provider
	certName, keyName string
}

func (providerCertSource) stamp(context.Context) (string, error) { return "", nil }

func (s providerCertSource) load(ctx context.Context) (certPEM, keyPEM []byte, err error) {
	c, err := s.p.Get(ctx, s.certName)
	if err != nil {
		return nil, nil, err
	}
	k, err := s.p.Get(ctx, s.keyName)
	if err != nil {
		return nil, nil, err
	}
	return []byte(c), []byte(k), nil
}
