package collector

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aurora-surge/aurora-surge/internal/awspi"
)

// The AWS operations each source uses, as small interfaces defined where
// they are used, so unit tests of pure logic can stub them; end-to-end
// tests use the real clients against aurora_sim.
type rdsAPI interface {
	rds.DescribeDBClustersAPIClient
	rds.DescribeDBInstancesAPIClient
	rds.DescribeDBProxiesAPIClient
	rds.DescribeDBProxyTargetsAPIClient
	rds.DescribeDBClusterEndpointsAPIClient
}

type autoscalingAPI interface {
	autoscaling.DescribeAutoScalingGroupsAPIClient
}

type cloudwatchAPI interface {
	cloudwatch.GetMetricDataAPIClient
}

type logsAPI interface {
	cloudwatchlogs.FilterLogEventsAPIClient
}

type piAPI interface {
	GetResourceMetrics(ctx context.Context, in *awspi.GetResourceMetricsInput) (*awspi.GetResourceMetricsOutput, error)
}

type stsAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// ScopeClients are the clients of one account and region.
type ScopeClients struct {
	Scope       Scope
	Target      *Target
	RDS         rdsAPI
	AutoScaling autoscalingAPI
	CloudWatch  cloudwatchAPI
	Logs        logsAPI // Enhanced Monitoring (log group RDSOSMetrics)
	PI          piAPI   // Performance Insights
}

// ClientSet builds and caches clients per target and region. The account
// label comes from the target's name or, once, from GetCallerIdentity.
type ClientSet struct {
	base aws.Config

	mu     sync.Mutex
	scopes []*ScopeClients
}

// NewClientSet resolves every target's scopes. base carries the endpoint,
// credentials chain and API options (call counting) for all clients.
func NewClientSet(ctx context.Context, base aws.Config, targets []Target) (*ClientSet, error) {
	cs := &ClientSet{base: base}
	for i := range targets {
		t := &targets[i]
		cfg := base.Copy()
		if t.RoleARN != "" {
			provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), t.RoleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "aurora-exporter"
				if t.ExternalID != "" {
					o.ExternalID = aws.String(t.ExternalID)
				}
			})
			cfg.Credentials = aws.NewCredentialsCache(provider)
		}
		account := t.Name
		if account == "" {
			var err error
			account, err = callerAccount(ctx, sts.NewFromConfig(cfg, func(o *sts.Options) { o.Region = t.Regions[0] }))
			if err != nil {
				return nil, fmt.Errorf("target %d: identifying the account (set targets[%d].name to skip): %w", i, i, err)
			}
		}
		for _, region := range t.Regions {
			rc := cfg.Copy()
			rc.Region = region
			cs.scopes = append(cs.scopes, &ScopeClients{
				Scope:       Scope{Account: account, Region: region},
				Target:      t,
				RDS:         rds.NewFromConfig(rc),
				AutoScaling: autoscaling.NewFromConfig(rc),
				CloudWatch:  cloudwatch.NewFromConfig(rc),
				Logs:        cloudwatchlogs.NewFromConfig(rc),
				PI:          awspi.New(rc),
			})
		}
	}
	return cs, nil
}

func callerAccount(ctx context.Context, c stsAPI) (string, error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	if a := strings.TrimSpace(aws.ToString(out.Account)); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("GetCallerIdentity returned no account")
}

// Scopes returns every account and region to watch.
func (cs *ClientSet) Scopes() []*ScopeClients {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]*ScopeClients(nil), cs.scopes...)
}

// ByScope indexes the scopes' clients by account and region, for sources
// that plan per scope from the inventory.
func (cs *ClientSet) ByScope() map[Scope]*ScopeClients {
	out := map[Scope]*ScopeClients{}
	for _, sc := range cs.Scopes() {
		out[sc.Scope] = sc
	}
	return out
}

// forEachScope runs fn at once for every scope of work, with the scope's
// clients, and waits for all of them. It returns the failed scopes'
// errors, each prefixed with its account and region; a scope with no
// clients (its account or region no longer configured) fails without fn.
func forEachScope[T any](cs *ClientSet, work map[Scope]T, fn func(sc *ScopeClients, w T) error) map[Scope]error {
	clients := cs.ByScope()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[Scope]error{}
	)
	for scope, w := range work {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if sc := clients[scope]; sc != nil {
				err = fn(sc, w)
			} else {
				err = fmt.Errorf("no clients for %s/%s", scope.Account, scope.Region)
			}
			if err != nil {
				mu.Lock()
				failed[scope] = fmt.Errorf("%s/%s: %w", scope.Account, scope.Region, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}
