package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/auth"
)

func TestCheckPasswordPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pw     string
		inputs []string
		ok     bool
	}{
		{"correct horse battery staple", nil, true},
		{"Zebra-Kettle-Orbit-42", nil, true},
		{"ünïcödé pässwörd", nil, true},
		{strings.Repeat("ab1", 42) + "xy", nil, true}, // 128 characters
		{"short", nil, false},
		{"elevenchars", nil, false},
		{strings.Repeat("ab1", 43), nil, false}, // 129 characters
		{"aaaaaaaaaaaaaaaa", nil, false},
		{"abcabcabcabcabc", nil, false},
		{"123456789012", nil, false},
		{"qwertyuiopasdfghjkl", nil, false},
		{"PasswordPassword", nil, false},
		{"password2024!!", nil, false},
		{"!!Password12345", nil, false},
		{"P@ssw0rd12345", nil, false},
		{"iloveyou123456", nil, false},
		{"Welcome2026!!", nil, false},
		{"maestro-rocks-alice!", []string{"alice"}, false},
		{"my mailbox is bob.smith forever", []string{"bob.smith@example.com"}, false},
		{"a perfectly fine secret", []string{"al"}, true}, // inputs shorter than 3 are ignored
		{"invalid \xff utf8 password", nil, false},
	}
	for _, tc := range cases {
		err := auth.CheckPasswordPolicy(tc.pw, tc.inputs...)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPasswordPolicy(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
			continue
		}
		if err != nil {
			var pe *auth.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, auth.ErrWeakPassword) || pe.Reason == "" {
				t.Errorf("%q: error %v is not a *PolicyError wrapping ErrWeakPassword", tc.pw, err)
			}
			if strings.Contains(err.Error(), tc.pw) {
				t.Errorf("error message repeats the password: %v", err)
			}
		}
	}
}
