package platform

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"

	"github.com/maestro-ml/maestro/secrets"
)

// tlsConfig returns the server's TLS configuration when a certificate is
// configured, else nil. MAESTRO_TLS_CERT and MAESTRO_TLS_KEY are either
// file paths, reloaded when the files change (certbot, cert-manager), or
// PEM values (typically given as MAESTRO_TLS_CERT_FILE / _KEY_FILE or
// from a secret store), re-read through the secrets provider. Either way
// the library's TLS configuration applies: Mozilla's intermediate profile.
func tlsConfig(ctx context.Context, cfg Config, log *slog.Logger) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	onError := secrets.ReloadErrorHandler(func(err error) {
		log.Warn("TLS certificate reload failed; keeping the previous one", slog.String("error", err.Error()))
	})
	var (
		reloader *secrets.CertReloader
		err      error
	)
	if isPEM(cfg.TLSCert) {
		reloader, err = secrets.NewProviderCertReloader(ctx, cfg.secrets, envTLSCert, envTLSKey, onError)
	} else {
		reloader, err = secrets.NewCertReloader(cfg.TLSCert, cfg.TLSKey, onError)
	}
	if err != nil {
		return nil, err
	}
	return secrets.TLSConfig(secrets.TLSGetCertificate(reloader.GetCertificate)), nil
}

// isPEM reports whether v holds PEM text rather than a path.
func isPEM(v string) bool { return strings.Contains(v, "-----BEGIN ") }
