package elbv2

import "github.com/aurora-surge/aurora-surge/sim"

func errTargetGroupNotFound(what string) *sim.APIError {
	return sim.NewAPIError(400, "TargetGroupNotFound", "One or more target groups not found: %s", what)
}

func errLoadBalancerNotFound(arn string) *sim.APIError {
	return sim.NewAPIError(400, "LoadBalancerNotFound", "One or more load balancers not found: %s", arn)
}

func validation(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(400, "ValidationError", format, args...)
}
