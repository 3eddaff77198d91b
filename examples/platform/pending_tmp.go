package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/maestro-ml/maestro/auth"
	"gorm.io/gorm"
)

func (s *server) routesTenants(rt *router)  {}
func (s *server) tenantScope(next http.Handler) http.Handler { return next }
func (s *server) refreshSubject(ctx context.Context, sub auth.Subject) (auth.Subject, error) {
	return sub, nil
}
func (s *server) checkPrincipal(ctx context.Context, p auth.Principal) error { return nil }
func cmdInitDB(ctx context.Context, cfg config, log *slog.Logger) error  { return nil }
func prepareDatabase(ctx context.Context, cfg config, db *gorm.DB, d dialect, log *slog.Logger) error {
	return nil
}
func (s *server) bootstrap(ctx context.Context) error { return nil }

func (s *server) verifyLogin(ctx context.Context, in loginRequest) (auth.Subject, error) {
	return auth.Subject{}, errBadCredentials
}
func (s *server) user(ctx context.Context, id string) (userBody, error) { return userBody{}, nil }
func (s *server) tenant(ctx context.Context, id string) (tenantRef, error) { return tenantRef{}, nil }
func (s *server) checkPassword(ctx context.Context, id, pw string) error { return nil }
func (s *server) setPassword(ctx context.Context, id, pw string) error { return nil }
