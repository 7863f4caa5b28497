package wire

import (
	"net/http"
	"strings"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Credential is the part of a SigV4 signature the emulator uses: the key
// (which account) and the scope (which region and service). Signatures
// are not verified: any static credentials work, as the issue requires.
type Credential struct {
	AccessKey, Date, Region, Service string
}

// ParseSigV4 reads the Authorization header (or presigned query). A
// missing or malformed one gets the error AWS answers with.
func ParseSigV4(r *http.Request) (Credential, *sim.APIError) {
	auth := r.Header.Get("Authorization")
	scope := ""
	if auth != "" {
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
			return Credential{}, sim.NewAPIError(http.StatusBadRequest, "IncompleteSignature", "Authorization header must use AWS4-HMAC-SHA256")
		}
		for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
			part = strings.TrimSpace(part)
			if v, ok := strings.CutPrefix(part, "Credential="); ok {
				scope = v
			}
		}
	} else {
		scope = r.URL.Query().Get("X-Amz-Credential")
	}
	if scope == "" {
		return Credential{}, sim.NewAPIError(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	f := strings.Split(scope, "/")
	if len(f) != 5 || f[4] != "aws4_request" || f[0] == "" {
		return Credential{}, sim.NewAPIError(http.StatusBadRequest, "IncompleteSignature", "Credential scope %q is not <key>/<date>/<region>/<service>/aws4_request", scope)
	}
	return Credential{AccessKey: f[0], Date: f[1], Region: f[2], Service: f[3]}, nil
}
