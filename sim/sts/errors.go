package sts

import "github.com/aurora-surge/aurora-surge/sim"

func errAccessDenied(caller, arn string) *sim.APIError {
	return sim.NewAPIError(403, "AccessDenied", "User: arn:aws:iam::%s:user/aurora-sim is not authorized to perform: sts:AssumeRole on resource: %s", caller, arn)
}

// errExpiredTokenException is AssumeRole's documented answer to a caller
// whose temporary credentials have expired.
func errExpiredTokenException() *sim.APIError {
	return sim.NewAPIError(400, "ExpiredTokenException", "The security token included in the request is expired")
}

// errExpiredToken is the common error other operations answer with.
func errExpiredToken() *sim.APIError {
	return sim.NewAPIError(403, "ExpiredToken", "The security token included in the request is expired")
}
