package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrNonLoopback is returned (wrapped) when a target or a connection would
// leave the machine and Config.AllowNonLoopback is not set.
var ErrNonLoopback = errors.New("loadtest: target is not a loopback address")

// CheckTarget parses target, an http or https base URL such as
// "http://127.0.0.1:8080", and returns it without a trailing slash. Unless
// allowNonLoopback is true, the host must be "localhost" or a loopback IP
// literal (127.0.0.0/8, ::1); host names are not resolved, so a name that
// merely points at a loopback address is refused too.
func CheckTarget(target string, allowNonLoopback bool) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("loadtest: target %q: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("loadtest: target %q: scheme must be http or https", target)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("loadtest: target %q: want scheme://host:port with an optional path", target)
	}
	if !allowNonLoopback && !isLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("%w: %q (pass the explicit override to allow it)", ErrNonLoopback, u.Hostname())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// loopbackOnly is a net.Dialer Control function that refuses to connect to
// anything but a loopback address. It runs after name resolution, for each
// address tried, so "localhost" resolving elsewhere is refused as well.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrNonLoopback, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%w: %q", ErrNonLoopback, address)
	}
	return nil
}

// dialer returns the dial function of the harness's transport.
func dialer(allowNonLoopback bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !allowNonLoopback {
		d.Control = loopbackOnly
	}
	return d.DialContext
}
