package registry

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSignV4KnownAnswer checks the signer against the GET Object example
// of the Amazon S3 Signature Version 4 documentation.
func TestSignV4KnownAnswer(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	signV4(req, emptySHA256, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", "us-east-1",
		time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization =\n%s\nwant\n%s", got, want)
	}
	if uriEncode("a b/c~", true) != "a%20b/c~" || uriEncode("a/b", false) != "a%2Fb" {
		t.Fatal("uriEncode")
	}
	req2, _ := http.NewRequest(http.MethodGet, "https://h/b?prefix=x/y&list-type=2", nil)
	signV4(req2, emptySHA256, "AK", "S", "tok", "eu-west-1", time.Now())
	if !strings.Contains(req2.Header.Get("Authorization"), "x-amz-security-token") || canonicalQuery(req2.URL.Query()) != "list-type=2&prefix=x%2Fy" {
		t.Fatalf("query and token signing: %s", req2.Header.Get("Authorization"))
	}
}
