package securitytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
	"github.com/maestro-ml/maestro/secrets"
)

// platformBinary is the path of the server binary built once by TestMain.
var platformBinary string

// TestMain builds examples/platform once for every test of the package.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "maestro-securitytest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "securitytest:", err)
		os.Exit(1)
	}
	platformBinary = filepath.Join(dir, "platform")
	cmd := exec.Command("go", "build", "-o", platformBinary, "./examples/platform") // #nosec G204 -- fixed command, output path in a fresh temporary directory
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "securitytest: go build ./examples/platform: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root (the parent of this package's directory).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// randHex returns n random bytes, hex-encoded.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// strongPassword returns a password that passes the server's policy.
func strongPassword() string { return "Sx-" + randHex(12) + "-pw" }

// randomLoopback returns a random address in 127.0.0.0/8 other than
// 127.0.0.1. Linux routes the whole block to the loopback interface, so a
// client bound to it reaches the server as a distinct client IP: per-IP
// login throttling of one test (or of an earlier run against the same
// Redis) cannot affect another.
func randomLoopback() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(250*250))
	v := int(n.Int64())
	return fmt.Sprintf("127.%d.%d.%d", 1+v/250, 1+v%250, 2+v%200)
}

// options configure a platform process.
type options struct {
	env       []string // extra environment, NAME=value
	noSecrets bool     // leave MAESTRO_JWT_SECRET and MAESTRO_ADMIN_PASSWORD unset: the server generates them
}

// proc is one running examples/platform process and a client for it.
type proc struct {
	name          string // backend name, for messages
	base          string // https://127.0.0.1:port
	addr          string // 127.0.0.1:port
	roots         *x509.CertPool
	jwtSecret     []byte
	adminPassword string
	log           *syncBuffer // the server's stderr (JSON log lines)
	scan          *scanner    // every response body is checked here
	clientIP      string      // local address the default client binds to
	client        *http.Client
	home          string
	dbURL         string // PostgreSQL only: the application role's URL the server uses
	certFile      string
	keyFile       string
	env           []string
	cmd           *exec.Cmd
	done          chan struct{}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// startPlatform starts the server with HTTPS on, a known JWT secret and
// admin password, MAESTRO_HOME in a fresh directory, and the extra
// environment of o (database, Redis, embeddings). It waits until
// /health/live answers and stops the process when the test ends.
func startPlatform(t testing.TB, name string, o options) *proc {
	t.Helper()
	home := t.TempDir()
	_, pem, err := secrets.SelfSigned("127.0.0.1", "localhost")
	if err != nil {
		t.Fatalf("SelfSigned: %v", err)
	}
	certDir := t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "tls-cert.pem"), filepath.Join(certDir, "tls-key.pem")
	if err := os.WriteFile(certFile, pem.Cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem.Cert) {
		t.Fatal("cannot parse the generated certificate")
	}
	p := &proc{
		name:          name,
		roots:         roots,
		jwtSecret:     []byte(randHex(32)),
		adminPassword: strongPassword(),
		log:           &syncBuffer{},
		scan:          newScanner(),
		clientIP:      randomLoopback(),
		home:          home,
		certFile:      certFile,
		keyFile:       keyFile,
	}
	p.scan.forbidValue("the JWT secret", string(p.jwtSecret))
	p.scan.forbidValue("the admin password", p.adminPassword)
	p.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"MAESTRO_HOME=" + filepath.Join(home, "maestro"),
		"MAESTRO_TLS_CERT=" + certFile,
		"MAESTRO_TLS_KEY=" + keyFile,
		"MAESTRO_LOG_LEVEL=info",
	}
	if o.noSecrets {
		p.jwtSecret, p.adminPassword = nil, ""
	} else {
		p.env = append(p.env, "MAESTRO_JWT_SECRET="+string(p.jwtSecret), "MAESTRO_ADMIN_PASSWORD="+p.adminPassword)
	}
	p.env = append(p.env, o.env...)
	p.client = p.newClient(p.clientIP)
	p.start(t)
	return p
}

// start launches the process (again, after stop) on a new port.
func (p *proc) start(t testing.TB) {
	t.Helper()
	p.addr = freeAddr(t)
	p.base = "https://" + p.addr
	cmd := exec.Command(platformBinary, "serve", "--addr", p.addr) // #nosec G204 -- the binary TestMain built, a loopback address
	cmd.Env = p.env
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start platform: %v", err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("%s: platform exited during start-up:\n%s", p.name, tail(p.log.String(), 3000))
		default:
		}
		resp, err := p.client.Get(p.base + "/health/live")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: platform not live after 30s (last error %v):\n%s", p.name, err, tail(p.log.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process with SIGTERM (graceful shutdown) and waits.
func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// newClient returns an HTTPS client trusting the server's certificate whose
// connections come from the local address ip.
func (p *proc) newClient(ip string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: p.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 8,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// response is a complete HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object (status %d): %v: %.300s", r.status, err, r.body)
	}
	return m
}

// str returns the string field key of a JSON object body.
func (r response) str(t testing.TB, key string) string {
	t.Helper()
	v, _ := r.json(t)[key].(string)
	if v == "" {
		t.Fatalf("response has no string %q (status %d): %.300s", key, r.status, r.body)
	}
	return v
}

// code returns the problem code of an error body ("" when none).
func (r response) code() string {
	var m struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.body, &m)
	return m.Code
}

// req describes one request.
type req struct {
	method, path string
	token        string            // bearer credential
	body         any               // JSON-encoded unless []byte or string
	contentType  string            // default application/json when body != nil
	header       map[string]string // extra headers
	client       *http.Client      // default p.client
	owner        string            // tenant whose credential this is: its responses must not hold another tenant's data
	allow503     bool              // a dependency is down on purpose
}

// do sends rq and returns the answer after running every generic check
// on it (security headers, leaks, other tenants' data).
func (p *proc) do(t testing.TB, rq req) response {
	t.Helper()
	var body io.Reader
	var sent []byte
	switch b := rq.body.(type) {
	case nil:
	case []byte:
		sent = b
	case string:
		sent = []byte(b)
	default:
		var err error
		if sent, err = json.Marshal(b); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	}
	if rq.body != nil {
		body = bytes.NewReader(sent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, rq.method, p.base+rq.path, body)
	if err != nil {
		t.Fatalf("request %s %s: %v", rq.method, rq.path, err)
	}
	if rq.body != nil {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if rq.token != "" {
		hr.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	c := rq.client
	if c == nil {
		c = p.client
	}
	resp, err := c.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", rq.method, rq.path, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	p.scan.check(t, rq, sent, r)
	return r
}

// want fails the test unless r has status.
func want(t testing.TB, r response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d: %.400s", what, r.status, status, r.body)
	}
}

// mustStatus is want that stops the test: for set-up steps.
func mustStatus(t testing.TB, r response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %.400s", what, r.status, status, r.body)
	}
}

// login logs username in (tenant slug optional) through the client and
// returns the pair.
func (p *proc) login(t testing.TB, username, password, tenant string) (access, refresh string) {
	t.Helper()
	pair, err := p.api(t, "", "").Login(context.Background(), username, password, tenant)
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	access, refresh = pair.AccessToken, pair.RefreshToken
	if access == "" || refresh == "" {
		t.Fatalf("login %s: no tokens: %+v", username, pair)
	}
	// Issued tokens appear in this answer only: no endpoint echoes a
	// credential, and none is logged.
	p.scan.forbidValue("an access token", access)
	p.scan.forbidValue("a refresh token", refresh)
	p.scan.forbidValue("the hash of a refresh token", sha256hex(refresh))
	return access, refresh
}

// api returns a platform client (package client) authenticated with
// token ("" for none) whose every answer the scanner checks as it checks
// do's, with owner the tenant whose credential token is. Normal calls of
// the suite go through it; do stays for the requests an attack makes
// bad on purpose (forged tokens, malformed bodies, odd headers).
func (p *proc) api(t testing.TB, token, owner string) *client.Client {
	t.Helper()
	opts := []client.Option{client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second,
		Transport:     &scanTransport{t: t, p: p, owner: owner, base: p.client.Transport},
		CheckRedirect: p.client.CheckRedirect})}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	c, err := client.New(p.base, opts...)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

// scanTransport runs the scanner's checks on every answer of a client.
type scanTransport struct {
	t     testing.TB
	p     *proc
	owner string
	base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (s *scanTransport) RoundTrip(hr *http.Request) (*http.Response, error) {
	var sent []byte
	if hr.Body != nil {
		b, err := io.ReadAll(hr.Body)
		_ = hr.Body.Close()
		if err != nil {
			return nil, err
		}
		sent = b
		hr.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := s.base.RoundTrip(hr)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	s.p.scan.check(s.t, req{method: hr.Method, path: hr.URL.RequestURI(), owner: s.owner},
		sent, response{status: resp.StatusCode, header: resp.Header, body: b})
	return resp, nil
}

// routeExists reports whether the server registers pattern ("METHOD
// /path/{x}"), according to platform.Routes.
func routeExists(pattern string) bool {
	_, ok := serverRoutes()[pattern]
	return ok
}
