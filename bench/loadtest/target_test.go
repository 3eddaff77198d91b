package loadtest

import (
	"context"
	"errors"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target string
		allow  bool
		want   string
		err    error // nil: success; ErrNonLoopback or errAny
	}{
		{"http://127.0.0.1:8080", false, "http://127.0.0.1:8080", nil},
		{"http://127.0.0.1:8080/", false, "http://127.0.0.1:8080", nil},
		{"https://localhost:8443/base/", false, "https://localhost:8443/base", nil},
		{"http://[::1]:80", false, "http://[::1]:80", nil},
		{"http://127.9.9.9:1", false, "http://127.9.9.9:1", nil},
		{"http://10.0.0.1:8080", false, "", ErrNonLoopback},
		{"http://example.com", false, "", ErrNonLoopback},
		{"http://localhost.example.com", false, "", ErrNonLoopback},
		{"http://[::ffff:10.0.0.1]:80", false, "", ErrNonLoopback},
		{"http://10.0.0.1:8080", true, "http://10.0.0.1:8080", nil},
		{"ftp://127.0.0.1", false, "", errAny},
		{"127.0.0.1:8080", false, "", errAny},
		{"http://user:pw@127.0.0.1", false, "", errAny},
		{"http://127.0.0.1/?q=1", false, "", errAny},
		{"http://%zz", false, "", errAny},
		{"http://", false, "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got, err := CheckTarget(tt.target, tt.allow)
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.err == nil && got != tt.want:
				t.Errorf("got %q, want %q", got, tt.want)
			case tt.err == errAny && err == nil, tt.err == ErrNonLoopback && !errors.Is(err, ErrNonLoopback):
				t.Errorf("error %v, want %v", err, tt.err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestDialerRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	// The Control hook runs before connect, so no packet leaves the machine.
	_, err := dialer(false)(context.Background(), "tcp", "192.0.2.1:80")
	if !errors.Is(err, ErrNonLoopback) {
		t.Fatalf("dial to a documentation address: %v, want ErrNonLoopback", err)
	}
	for _, addr := range []string{"127.0.0.1:80", "[::1]:80"} {
		if err := loopbackOnly("tcp", addr, nil); err != nil {
			t.Errorf("loopbackOnly(%s) = %v", addr, err)
		}
	}
	for _, addr := range []string{"192.0.2.1:80", "nonsense", "[::ffff:192.0.2.1]:80"} {
		if err := loopbackOnly("tcp", addr, nil); !errors.Is(err, ErrNonLoopback) {
			t.Errorf("loopbackOnly(%s) = %v", addr, err)
		}
	}
}
