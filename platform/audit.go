package platform

import (
	"context"
	"log/slog"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/tenancy"
)

// Security events written to the audit log. docs/platform.md describes
// each with its fields.
const (
	auditLoginSuccess    = "login.success"
	auditLoginFailure    = "login.failure"
	auditLoginLockout    = "login.lockout"
	auditLoginThrottled  = "login.throttled"
	auditLogout          = "logout"
	auditRefreshReuse    = "refresh.reuse_detected"
	auditPasswordChanged = "password.changed"
	auditPasswordFailure = "password.change_failure"
	auditKeyCreated      = "api_key.created"
	auditKeyRevoked      = "api_key.revoked"
	// auditKeyReauthFailure: a wrong current password when creating a key.
	auditKeyReauthFailure = "api_key.reauth_failure"
	auditBootstrap        = "bootstrap.admin_created"
	auditTenantCreated    = "tenant.created"
	auditTenantUpdated    = "tenant.updated"
	auditTenantDeleted    = "tenant.deleted"
	auditMemberAdded      = "member.added"
	auditMemberUpdated    = "member.role_changed"
	auditMemberRemoved    = "member.removed"
	auditCrossTenant      = "tenancy.cross_tenant"
)

// audit writes one security event to the audit log: a log record at INFO
// with "audit": true, the event name, the request id and client address of
// ctx's request, the acting principal when there is one, and attrs.
//
// Never pass a secret (password, token, key, hash) in attrs: the audit log
// identifies accounts by user id, and a failed login's submitted name only
// by auth.AccountKey (a hash), since users sometimes type a password into
// the name field.
func (s *Server) audit(ctx context.Context, event string, attrs ...slog.Attr) {
	base := []slog.Attr{slog.Bool("audit", true), slog.String("event", event)}
	if ip, ok := ctx.Value(clientIPKey{}).(string); ok {
		base = append(base, slog.String("remote", ip))
	}
	if p, ok := auth.PrincipalFrom(ctx); ok {
		base = append(base, slog.String("actor_user_id", p.UserID))
		if p.TenantID != "" {
			base = append(base, slog.String("actor_tenant_id", p.TenantID))
		}
		if p.APIKeyID != "" {
			base = append(base, slog.String("actor_api_key_id", p.APIKeyID))
		}
	}
	s.logger(ctx).LogAttrs(ctx, slog.LevelInfo, "audit", append(base, attrs...)...)
}

// auditCrossTenantStatement receives the tenancy plugin's report of each
// statement run across tenants (tenant deletion, login lookups) and writes
// it to the audit log.
func (s *Server) auditCrossTenantStatement(ctx context.Context, e tenancy.AuditEvent) {
	s.audit(ctx, auditCrossTenant, slog.String("op", e.Op), slog.String("table", e.Table),
		slog.String("reason", e.Reason))
}

// clientIPKey carries the client address in the request context, for the
// audit log.
type clientIPKey struct{}
