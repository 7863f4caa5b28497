package awshttp

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// StaticConfig is an SDK configuration for an endpoint other than AWS's
// (aurora_sim): static credentials, the standard retryer with at most
// attempts tries per call, and Wrap's client. The machine's shared config
// and credentials files are not read, so they cannot leak into an
// emulated world.
func StaticConfig(ctx context.Context, endpoint, region, key, secret string, attempts int) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")),
		config.WithBaseEndpoint(endpoint),
		config.WithRetryer(func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), attempts) }),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		return aws.Config{}, err
	}
	cfg.HTTPClient = Wrap(cfg.HTTPClient)
	return cfg, nil
}
