package rds

import "github.com/aurora-surge/aurora-surge/sim"

// RDS error codes and statuses as the service returns them.
func errClusterNotFound(id string) *sim.APIError {
	return sim.NewAPIError(404, "DBClusterNotFoundFault", "DBCluster %s not found.", id)
}

func errInstanceNotFound(id string) *sim.APIError {
	return sim.NewAPIError(404, "DBInstanceNotFound", "DBInstance %s not found.", id)
}

func errInstanceExists(id string) *sim.APIError {
	return sim.NewAPIError(400, "DBInstanceAlreadyExists", "DB instance already exists: %s", id)
}

func errProxyNotFound(name string) *sim.APIError {
	return sim.NewAPIError(404, "DBProxyNotFoundFault", "The specified proxy name %s doesn't correspond to a proxy owned by your Amazon Web Services account in the specified Amazon Web Services Region.", name)
}

func errProxyTargetGroupNotFound(name string) *sim.APIError {
	return sim.NewAPIError(404, "DBProxyTargetGroupNotFoundFault", "The specified target group %s doesn't exist for the proxy.", name)
}

func errEndpointNotFound(id string) *sim.APIError {
	return sim.NewAPIError(400, "DBClusterEndpointNotFoundFault", "DBClusterEndpoint %s not found.", id)
}

func errInstanceQuota(cluster string) *sim.APIError {
	return sim.NewAPIError(400, "InstanceQuotaExceeded", "DB cluster %s already has %d readers, the Aurora maximum.", cluster, sim.MaxReaders)
}

// errTagQuota: AddTagsToResource lists no quota error of its own, so the
// 50-tag limit is the common InvalidParameterValue.
func errTagQuota(arn string) *sim.APIError {
	return sim.NewAPIError(400, "InvalidParameterValue", "Resource %s would have more than 50 tags.", arn)
}
