package registry

import (
	"net/http"
	"time"
)

// SignV4ForTest signs req with an empty payload for tests.
func SignV4ForTest(req *http.Request, accessKey, secret, region string) {
	signV4(req, emptySHA256, accessKey, secret, "", region, time.Now().UTC())
}
