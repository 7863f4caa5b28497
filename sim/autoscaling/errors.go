package autoscaling

import "github.com/aurora-surge/aurora-surge/sim"

// Auto Scaling reports most client errors as ValidationError.
func validation(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(400, "ValidationError", format, args...)
}

func errGroupNotFound(name string) *sim.APIError {
	return validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
}

// errInvalidNextToken is what the Describe operations document for a
// token they did not hand out.
func errInvalidNextToken(token string) *sim.APIError {
	return sim.NewAPIError(400, "InvalidNextToken", "The token %q is invalid.", token)
}
