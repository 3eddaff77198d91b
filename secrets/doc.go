// Package secrets gives a Maestro host its secret material: keys,
// passwords, database URLs and TLS certificates.
//
// # Providers
//
// A Provider looks a secret up by name:
//
//	type Provider interface {
//		Get(ctx context.Context, name string) (string, error)
//	}
//
// An absent secret is an error wrapping ErrNotFound. A secret that is set to
// the empty string is present: Get returns "" and no error, and an empty
// MAESTRO_JWT_SECRET shadows the providers after it in a chain. Check values
// with CheckStrength (or at least for emptiness) where an empty one would be
// unsafe.
//
// The package provides:
//
//   - Env: environment variables, with the NAME_FILE convention of Docker
//     and Kubernetes (MAESTRO_JWT_SECRET_FILE=/run/secrets/jwt). Setting
//     both NAME and NAME_FILE is an error wrapping ErrConflict.
//   - Dir: one file per secret in a directory such as /run/secrets.
//   - Vault: a HashiCorp Vault KV version 2 engine, over its HTTP API.
//   - Chain: asks providers in order; ErrNotFound falls through to the next,
//     any other error stops the search.
//   - Cached: remembers another provider's values for a while.
//   - ProviderFunc: any function with Get's signature.
//
// A host typically builds one chain at start-up and reads every secret
// through it:
//
//	p := secrets.Chain(
//		secrets.Env(),               // MAESTRO_X or MAESTRO_X_FILE
//		secrets.Dir("/run/secrets"), // Docker and Kubernetes secrets
//	)
//	key, err := p.Get(ctx, "MAESTRO_JWT_SECRET")
//	if err != nil {
//		return err // absent, unreadable, or set twice: refuse to start
//	}
//	if err := secrets.CheckStrength(key); err != nil {
//		return err // says why, never what
//	}
//
// # Rotation
//
// Env, Dir and Vault read on demand: every Get consults the environment,
// the file or the server again, so a rotated secret is seen by the next Get
// and nothing is ever copied into package-level state. A host that keeps a
// value (a signing key in a JWT manager, say) rotates it by calling Get
// again, on a timer or a signal, and handing the new value over. Wrap a
// costly provider in Cached to bound the number of reads; its Refresh and
// Invalidate methods force a new read. CertReloader does the same for TLS
// certificates, checking for new files during handshakes.
//
// # Generation and strength
//
// Generate returns random secrets from crypto/rand in URL-safe base64;
// Generate(KeyBytes) is a 256-bit key. CheckStrength refuses short,
// low-entropy and well-known default values with a *WeakSecretError whose
// message says what is required and never repeats the secret.
//
// # TLS
//
// Certificates are secret material too. TLSConfig builds a server
// tls.Config following Mozilla's "intermediate" profile (TLS 1.2 and 1.3,
// forward-secret AEAD cipher suites, X25519, P-256 and P-384). Certificates
// come from a CertReloader (files or a Provider, reloaded on change), from
// SelfSigned (development), or from AutocertManager (ACME, for example
// Let's Encrypt), which refuses to run without a host policy and a cache.
// HSTS and RedirectHTTPS are the net/http middleware that keep browsers on
// HTTPS.
//
// # Errors
//
// Lookups fail with a *LookupError naming the provider and the secret,
// wrapping one of ErrNotFound, ErrInvalidName, ErrConflict, ErrTooLarge,
// ErrPermission, ErrUnavailable or ErrMalformed where one applies. No error
// of this package contains a secret value or a credential.
//
// An invalid argument or option value (a size or duration that is not
// positive, a nil function, an empty token, a port out of range, ...) is
// never ignored: it is an error wrapping ErrInvalid. Constructors that
// return an error (Vault, HSTS, RedirectHTTPS, NewCertReloader,
// NewProviderCertReloader) and CheckStrength return it; Cached, Dir and
// Env, which return only the provider, record it, report it from Err and
// fail every Get with it; TLSConfig returns a Config whose every handshake
// fails with it, and CheckTLSOptions reports it at start-up.
package secrets
