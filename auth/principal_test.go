package auth_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

func TestRoles(t *testing.T) {
	t.Parallel()
	if !(auth.RoleViewer < auth.RoleMember && auth.RoleMember < auth.RoleAdmin) {
		t.Fatal("roles are not ordered")
	}
	for _, r := range []auth.Role{auth.RoleViewer, auth.RoleMember, auth.RoleAdmin} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back auth.Role
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Fatalf("round trip of %v: %s -> %v, %v", r, b, back, err)
		}
	}
	if _, err := json.Marshal(auth.RoleNone); err == nil {
		t.Error("RoleNone marshalled")
	}
	var r auth.Role
	if err := json.Unmarshal([]byte(`"owner"`), &r); err == nil {
		t.Error("unknown role unmarshalled")
	}
	if auth.RoleNone.String() != "none" || auth.Role(42).Valid() || auth.RoleAdmin.AtLeast(auth.RoleNone) {
		t.Error("RoleNone semantics")
	}
	if _, ok := auth.PrincipalFrom(context.Background()); ok {
		t.Error("principal in an empty context")
	}
}

func TestAPIKeyUsable(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		k    auth.APIKey
		want bool
	}{
		{auth.APIKey{}, true},
		{auth.APIKey{ExpiresAt: now.Add(time.Hour)}, true},
		{auth.APIKey{ExpiresAt: now}, false},
		{auth.APIKey{RevokedAt: now.Add(-time.Hour)}, false},
	} {
		if got := tc.k.Usable(now); got != tc.want {
			t.Errorf("Usable(%+v) = %v", tc.k, got)
		}
	}
}
