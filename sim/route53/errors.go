package route53

import (
	"net/http"
	"strings"

	"github.com/aurora-surge/aurora-surge/sim"
)

func errInvalidInput(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "InvalidInput", format, args...)
}

func errNoSuchHostedZone(id string) *sim.APIError {
	return sim.NewAPIError(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
}

func errNoSuchChange(id string) *sim.APIError {
	return sim.NewAPIError(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: %s", id)
}

// errInvalidChangeBatch lists every problem of a batch. Route 53's message
// is the list in brackets, comma-separated, which is what botocore (both
// AWS CLIs) prints; the SDKs also read each problem from Messages.
func errInvalidChangeBatch(problems []string) *sim.APIError {
	e := sim.NewAPIError(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", strings.Join(problems, ", "))
	e.Messages = problems
	return e
}
