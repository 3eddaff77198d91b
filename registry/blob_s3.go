package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3Config configures an S3Store.
type S3Config struct {
	// Endpoint is the service's base URL, for example
	// "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:9000" for
	// an S3-compatible server. Buckets are addressed path-style
	// (<endpoint>/<bucket>/<key>), which every S3-compatible server
	// supports.
	Endpoint string
	// Region is the signing region, for example "us-east-1".
	Region string
	// Bucket holds the blobs; it must exist.
	Bucket string
	// AccessKeyID, SecretAccessKey and the optional SessionToken are the
	// credentials. They are used only to sign requests and never appear in
	// errors.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// KeyPrefix is prepended to every object key, for sharing a bucket
	// (for example "maestro/"). Optional.
	KeyPrefix string
	// MaxSize limits one blob in bytes; 0 means no limit beyond the
	// Registry's. A negative MaxSize is invalid.
	MaxSize int64
	// TempDir is where Put spools content to learn its SHA-256 before
	// uploading; empty means os.TempDir().
	TempDir string
	// HTTPClient sends the requests; nil means a client that waits at most
	// 60 seconds for response headers and otherwise relies on the
	// context (a whole-request timeout would cut long downloads).
	HTTPClient *http.Client
}

// S3Store is a BlobStore on an S3-compatible object store, signing
// requests with AWS Signature Version 4. Put spools the content to a
// temporary file while hashing it (the key is the content's SHA-256, known
// only at the end), then uploads it in one PUT whose signed
// x-amz-content-sha256 makes the server verify the bytes it stored.
// DeletePrefix lists the objects under the prefix and deletes them one by
// one. Objects are never readable half-written: S3 makes an object
// visible only when its PUT completes.
//
// An S3Store is safe for concurrent use.
type S3Store struct {
	cfg  S3Config
	base *url.URL
	hc   *http.Client
	now  func() time.Time
}

var _ BlobStore = (*S3Store)(nil)

// NewS3Store returns an S3Store for cfg after checking it is complete. An
// incomplete or invalid cfg (including a negative MaxSize) is refused with
// ValidationErrors (ErrInvalid).
func NewS3Store(cfg S3Config) (*S3Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid("endpoint", "S3 endpoint must be an http(s) URL")
	}
	switch {
	case cfg.Region == "" || cfg.Bucket == "":
		return nil, invalid("bucket", "S3 region and bucket are required")
	case cfg.AccessKeyID == "" || cfg.SecretAccessKey == "":
		return nil, invalid("credentials", "S3 credentials are required")
	case cfg.KeyPrefix != "" && !ValidBlobPrefix(strings.TrimSuffix(cfg.KeyPrefix, "/")):
		return nil, invalid("key_prefix", "S3 key prefix is not path-safe")
	case cfg.MaxSize < 0:
		return nil, invalid("max_size", "must not be negative (0 means no limit)")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = 60 * time.Second
		hc = &http.Client{Transport: tr}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &S3Store{cfg: cfg, base: u, hc: hc, now: time.Now}, nil
}

// objectKey maps a blob key or prefix to the object key.
func (s *S3Store) objectKey(key string) string {
	p := s.cfg.KeyPrefix
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p + key
}

// objectURL returns the path-style URL of an object (or of the bucket
// when key is empty).
func (s *S3Store) objectURL(key string, query url.Values) *url.URL {
	u := *s.base
	u.Path = u.Path + "/" + s.cfg.Bucket
	if key != "" {
		u.Path += "/" + key
	}
	u.RawPath = ""
	u.RawQuery = query.Encode()
	return &u
}

// emptySHA256 is the SHA-256 of no bytes, the payload hash of bodiless
// requests.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// do signs and sends a request.
func (s *S3Store) do(ctx context.Context, method string, u *url.URL, body io.Reader, size int64, payloadSHA string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("registry: S3 request: %w", err)
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	signV4(req, payloadSHA, s.cfg.AccessKeyID, s.cfg.SecretAccessKey, s.cfg.SessionToken, s.cfg.Region, s.now().UTC())
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("registry: S3 %s: %w", method, err)
	}
	return resp, nil
}

// s3Error turns an error response into an error naming the S3 code.
func s3Error(op string, resp *http.Response) error {
	defer resp.Body.Close()
	var e struct {
		Code string `xml:"Code"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = xml.Unmarshal(b, &e)
	if resp.StatusCode == http.StatusNotFound && (e.Code == "" || e.Code == "NoSuchKey") {
		return fmt.Errorf("%w: blob", ErrNotFound)
	}
	return fmt.Errorf("registry: S3 %s: HTTP %d %s", op, resp.StatusCode, e.Code)
}

// Put implements BlobStore.
func (s *S3Store) Put(ctx context.Context, prefix string, r io.Reader) (BlobInfo, error) {
	if !ValidBlobPrefix(prefix) {
		return BlobInfo{}, badPrefix(prefix)
	}
	if err := ctx.Err(); err != nil {
		return BlobInfo{}, err
	}
	f, err := os.CreateTemp(s.cfg.TempDir, "maestro-s3-put-*")
	if err != nil {
		return BlobInfo{}, fmt.Errorf("registry: S3 spool file: %w", err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	var src io.Reader = ctxReader{ctx, r}
	if s.cfg.MaxSize > 0 {
		src = &limitReader{r: src, n: s.cfg.MaxSize, max: s.cfg.MaxSize}
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		return BlobInfo{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return BlobInfo{}, fmt.Errorf("registry: S3 spool file: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := prefix + "/" + sum
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, err := s.do(ctx, http.MethodPut, s.objectURL(s.objectKey(key), nil), f, n, sum, hdr)
	if err != nil {
		return BlobInfo{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return BlobInfo{}, s3Error("put", resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return BlobInfo{Key: key, SHA256: sum, Size: n}, nil
}

// Get implements BlobStore.
func (s *S3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if _, _, ok := SplitBlobKey(key); !ok {
		return nil, badKey(key)
	}
	resp, err := s.do(ctx, http.MethodGet, s.objectURL(s.objectKey(key), nil), nil, 0, emptySHA256, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, s3Error("get", resp)
	}
	return resp.Body, nil
}

// Stat implements BlobStore.
func (s *S3Store) Stat(ctx context.Context, key string) (BlobInfo, error) {
	_, sum, ok := SplitBlobKey(key)
	if !ok {
		return BlobInfo{}, badKey(key)
	}
	resp, err := s.do(ctx, http.MethodHead, s.objectURL(s.objectKey(key), nil), nil, 0, emptySHA256, nil)
	if err != nil {
		return BlobInfo{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return BlobInfo{}, s3Error("head", resp)
	}
	_ = resp.Body.Close()
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		return BlobInfo{}, errors.New("registry: S3 head: no Content-Length")
	}
	return BlobInfo{Key: key, SHA256: sum, Size: size}, nil
}

// Delete implements BlobStore.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	if _, _, ok := SplitBlobKey(key); !ok {
		return badKey(key)
	}
	return s.deleteObject(ctx, s.objectKey(key))
}

func (s *S3Store) deleteObject(ctx context.Context, objectKey string) error {
	resp, err := s.do(ctx, http.MethodDelete, s.objectURL(objectKey, nil), nil, 0, emptySHA256, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		if err := s3Error("delete", resp); !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	}
	_ = resp.Body.Close()
	return nil
}

// listResult is the part of a ListObjectsV2 answer the store reads.
type listResult struct {
	Contents []struct {
		Key string `xml:"Key"`
	} `xml:"Contents"`
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
}

// DeletePrefix implements BlobStore. It lists the objects under
// "<prefix>/" (so "tenant-a" never matches "tenant-ab") and deletes them.
func (s *S3Store) DeletePrefix(ctx context.Context, prefix string) error {
	if !ValidBlobPrefix(prefix) {
		return badPrefix(prefix)
	}
	full := s.objectKey(prefix) + "/"
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {full}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		resp, err := s.do(ctx, http.MethodGet, s.objectURL("", q), nil, 0, emptySHA256, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return s3Error("list", resp)
		}
		var res listResult
		err = xml.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&res)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("registry: S3 list: %w", err)
		}
		for _, c := range res.Contents {
			if !strings.HasPrefix(c.Key, full) {
				continue
			}
			if err := s.deleteObject(ctx, c.Key); err != nil {
				return err
			}
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return nil
		}
		token = res.NextContinuationToken
	}
}

// signV4 signs req with AWS Signature Version 4 for the s3 service,
// signing the host and every header already set on req plus
// x-amz-date, x-amz-content-sha256 and (when given) x-amz-security-token.
func signV4(req *http.Request, payloadSHA, accessKey, secret, token, region string, t time.Time) {
	amzDate := t.Format("20060102T150405Z")
	day := t.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadSHA)
	if token != "" {
		req.Header.Set("X-Amz-Security-Token", token)
	}
	headers := map[string]string{"host": req.URL.Host}
	for k, v := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(strings.Fields(strings.Join(v, ",")), " ")
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{
		req.Method,
		uriEncode(req.URL.Path, true),
		canonicalQuery(req.URL.Query()),
		canonHeaders.String(),
		signed,
		payloadSHA,
	}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	digest := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(digest[:])
	key := hmacSHA256([]byte("AWS4"+secret), day)
	for _, part := range []string{region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// uriEncode percent-encodes s as SigV4 requires: every byte except
// A-Z a-z 0-9 - _ . ~, and '/' too unless keepSlash.
func uriEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonicalQuery is the SigV4 canonical query string: encoded keys and
// values, sorted by key then value.
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k, false)+"="+uriEncode(v, false))
		}
	}
	return strings.Join(parts, "&")
}
