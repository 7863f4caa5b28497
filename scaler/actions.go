package scaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
)

// Cloud is what the scaler needs from AWS: live state and changes.
type Cloud interface {
	Cluster(ctx context.Context, account, region, id string) (*ClusterState, error)
	ASG(ctx context.Context, account, region, name string) (*ASGState, error)
	Execute(ctx context.Context, d Decision) error
}

// ErrNotImplemented is returned for decisions the scaler can take but
// not yet execute safely.
var ErrNotImplemented = errors.New("not implemented")

// RetryPolicy bounds the SDK's retries of throttled and 5xx calls: the
// scaler retries with backoff, never forever.
type RetryPolicy struct {
	MaxAttempts int
	MaxBackoff  time.Duration
}

// DefaultRetryPolicy gives a throttled control plane about a minute.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 6, MaxBackoff: 20 * time.Second}
}

// AWS implements Cloud with aws-sdk-go-v2, one client per region. The
// account in a target is checked by the config and labels; credentials
// come from the base configuration.
type AWS struct {
	base  aws.Config
	retry RetryPolicy

	mu  sync.Mutex
	rds map[string]*rds.Client
	asg map[string]*autoscaling.Client
	r53 map[string]*route53.Client

	roles   map[string]AccountRole
	assumed map[string]aws.Config

	// Log receives warnings about changes made but not recorded in AWS.
	Log *slog.Logger
}

func (a *AWS) warn(msg string, args ...any) {
	if a.Log != nil {
		a.Log.Warn(msg, args...)
	}
}

// NewAWS builds clients from a loaded configuration (whose HTTPClient the
// caller has wrapped with awshttp.Wrap).
func NewAWS(base aws.Config, rp RetryPolicy) *AWS {
	if rp.MaxAttempts < 1 {
		rp = DefaultRetryPolicy()
	}
	return &AWS{base: base, retry: rp, rds: map[string]*rds.Client{}, asg: map[string]*autoscaling.Client{},
		r53: map[string]*route53.Client{}, roles: map[string]AccountRole{}, assumed: map[string]aws.Config{}}
}

func (a *AWS) retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = a.retry.MaxAttempts
		o.MaxBackoff = a.retry.MaxBackoff
		// A scaling action waits on its own backoff, not on a shared
		// token bucket drained by an earlier throttling storm.
		o.RateLimiter = noRateLimit{}
	})
}

type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// configFor is the base configuration, or for an account with a role in
// the config's accounts list, one whose credentials assume that role.
func (a *AWS) configFor(account string) aws.Config {
	role, ok := a.roles[account]
	if !ok {
		return a.base
	}
	if cfg, ok := a.assumed[account]; ok {
		return cfg
	}
	cfg := a.base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(a.base), role.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "aurora-scaler"
		if role.ExternalID != "" {
			o.ExternalID = aws.String(role.ExternalID)
		}
	}))
	a.assumed[account] = cfg
	return cfg
}

// client returns the cached client for key, built once from the
// account's configuration.
func client[T any](a *AWS, cache map[string]T, account, key string, build func(aws.Config) T) T {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := cache[key]
	if !ok {
		c = build(a.configFor(account))
		cache[key] = c
	}
	return c
}

func (a *AWS) rdsClient(account, region string) *rds.Client {
	return client(a, a.rds, account, account+"/"+region, func(cfg aws.Config) *rds.Client {
		return rds.NewFromConfig(cfg, func(o *rds.Options) { o.Region = region; o.Retryer = a.retryer() })
	})
}

func (a *AWS) asgClient(account, region string) *autoscaling.Client {
	return client(a, a.asg, account, account+"/"+region, func(cfg aws.Config) *autoscaling.Client {
		return autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.Region = region; o.Retryer = a.retryer() })
	})
}

// route53Client: Route 53 is global, its API lives in us-east-1.
func (a *AWS) route53Client(account string) *route53.Client {
	return client(a, a.r53, account, account, func(cfg aws.Config) *route53.Client {
		return route53.NewFromConfig(cfg, func(o *route53.Options) { o.Region = "us-east-1"; o.Retryer = a.retryer() })
	})
}

// UseAccounts sets the roles to assume per account (the config's
// accounts list); accounts not listed use the base credentials.
func (a *AWS) UseAccounts(accounts []AccountRole) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range accounts {
		a.roles[r.ID] = r
	}
}

// VerifyAccounts checks, for every account a target lives in, that the
// credentials the scaler would use belong to that account (STS
// GetCallerIdentity), so a change can never land in the wrong account.
func (a *AWS) VerifyAccounts(ctx context.Context, cfg *Config) error {
	seen := map[string]bool{}
	var accounts []string
	for _, t := range cfg.Clusters {
		if !seen[t.Account] {
			seen[t.Account], accounts = true, append(accounts, t.Account)
		}
	}
	for _, t := range cfg.ASGs {
		if !seen[t.Account] {
			seen[t.Account], accounts = true, append(accounts, t.Account)
		}
	}
	for _, acct := range accounts {
		a.mu.Lock()
		c := a.configFor(acct)
		a.mu.Unlock()
		out, err := sts.NewFromConfig(c, func(o *sts.Options) { o.Retryer = a.retryer() }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("account %s: GetCallerIdentity: %w", acct, err)
		}
		if got := aws.ToString(out.Account); got != acct {
			return fmt.Errorf("targets in account %s, but the credentials belong to account %s: add it under accounts: with a role_arn to assume", acct, got)
		}
	}
	return nil
}

// Cluster reads the cluster and its instances with their tags, which
// carry the scaler's own history (decision id, time, readers before).
func (a *AWS) Cluster(ctx context.Context, account, region, id string) (*ClusterState, error) {
	cl, err := rdsfleet.Describe(ctx, a.rdsClient(account, region), id)
	if err != nil {
		return nil, err
	}
	st := &ClusterState{ID: id, Status: aws.ToString(cl.Status), Engine: aws.ToString(cl.Engine)}
	if sv := cl.ServerlessV2ScalingConfiguration; sv != nil {
		st.Serverless, st.MinACU, st.MaxACU = true, aws.ToFloat64(sv.MinCapacity), aws.ToFloat64(sv.MaxCapacity)
	}
	for _, t := range cl.TagList {
		if aws.ToString(t.Key) == TagACUChange {
			if e, ok := parseACUChange(aws.ToString(t.Value)); ok {
				st.History = append(st.History, e)
			}
		}
	}
	for _, in := range cl.Instances {
		iid := aws.ToString(in.DBInstanceIdentifier)
		tags := rdsfleet.Tags(in)
		inst := Instance{
			ID: iid, Status: aws.ToString(in.DBInstanceStatus), Class: aws.ToString(in.DBInstanceClass),
			Tier: int(aws.ToInt32(in.PromotionTier)), Writer: cl.IsWriter(iid), From: -1,
			Managed: tags[rdsfleet.TagManaged] == "true", DecisionID: tags[TagDecisionID], Event: tags[rdsfleet.TagEvent],
		}
		inst.DecidedAt, _ = time.Parse(time.RFC3339Nano, tags[TagDecidedAt])
		if n, err := strconv.Atoi(tags[TagFrom]); err == nil {
			inst.From = n
		}
		st.Instances = append(st.Instances, inst)
	}
	return st, nil
}

// ASG reads one Auto Scaling group.
func (a *AWS) ASG(ctx context.Context, account, region, name string) (*ASGState, error) {
	out, err := a.asgClient(account, region).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("DescribeAutoScalingGroups %s: %w", name, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return nil, fmt.Errorf("DescribeAutoScalingGroups %s: %d groups returned", name, len(out.AutoScalingGroups))
	}
	g := out.AutoScalingGroups[0]
	st := &ASGState{Name: name, Min: int(aws.ToInt32(g.MinSize)), Max: int(aws.ToInt32(g.MaxSize)), Desired: int(aws.ToInt32(g.DesiredCapacity))}
	acts, err := a.asgClient(account, region).DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(name), MaxRecords: aws.Int32(100)})
	if err != nil {
		return nil, fmt.Errorf("DescribeScalingActivities %s: %w", name, err)
	}
	for _, act := range acts.Activities {
		m := capacityChange.FindStringSubmatch(aws.ToString(act.Cause))
		if m == nil {
			continue
		}
		from, _ := strconv.Atoi(m[1])
		to, _ := strconv.Atoi(m[2])
		dir := DirOut
		if to < from {
			dir = DirIn
		}
		st.History = append(st.History, Event{DecisionID: "activity:" + aws.ToString(act.ActivityId), Dimension: DimASG, Direction: dir,
			At: aws.ToTime(act.StartTime), From: float64(from), To: float64(to), External: true})
	}
	return st, nil
}

// capacityChange reads EC2 Auto Scaling's activity cause ("... changing the
// desired capacity from 4 to 6.").
var capacityChange = regexp.MustCompile(`changing the desired capacity from (\d+) to (\d+)`)

func parseACUChange(v string) (Event, bool) {
	parts := strings.Split(v, "|")
	if len(parts) != 4 {
		return Event{}, false
	}
	at, err1 := time.Parse(time.RFC3339Nano, parts[1])
	from, err2 := strconv.ParseFloat(parts[2], 64)
	to, err3 := strconv.ParseFloat(parts[3], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Event{}, false
	}
	dir := DirOut
	if to < from {
		dir = DirIn
	}
	return Event{DecisionID: parts[0], Dimension: DimACU, Direction: dir, At: at, From: from, To: to}, true
}

// Execute makes the change a decision asks for. Every call is idempotent
// towards the decision's absolute target.
func (a *AWS) Execute(ctx context.Context, d Decision) error {
	switch d.Action {
	case ActionAddReaders:
		return a.addReaders(ctx, d)
	case ActionRaiseMaxACU:
		out, err := a.rdsClient(d.Account, d.Region).ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
			DBClusterIdentifier: aws.String(clusterName(d.Target)),
			ApplyImmediately:    aws.Bool(true),
			ServerlessV2ScalingConfiguration: &rdstypes.ServerlessV2ScalingConfiguration{
				MinCapacity: aws.Float64(d.MinACU), MaxCapacity: aws.Float64(d.To),
			},
		})
		if err != nil {
			return fmt.Errorf("ModifyDBCluster: %w", err)
		}
		// The change is made; recording it on the cluster lets a restarted
		// scaler or another replica see its cooldown. A failed tag only
		// costs that, so it does not fail the action.
		if out.DBCluster != nil && out.DBCluster.DBClusterArn != nil {
			val := fmt.Sprintf("%s|%s|%g|%g", d.ID, d.At.UTC().Format(time.RFC3339Nano), d.From, d.To)
			if _, err := a.rdsClient(d.Account, d.Region).AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: out.DBCluster.DBClusterArn,
				Tags: []rdstypes.Tag{{Key: aws.String(TagACUChange), Value: aws.String(val)}}}); err != nil {
				a.warn("recording the max ACU change on the cluster failed; its cooldown lives in this process only", "cluster", d.Target, "err", err)
			}
		}
		return nil
	case ActionScaleASG:
		_, err := a.asgClient(d.Account, d.Region).SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
			AutoScalingGroupName: aws.String(clusterName(d.Target)),
			DesiredCapacity:      aws.Int32(int32(d.To)),
			// The scaler applies its own cooldowns; the group's would
			// silently drop an avalanche's second step.
			HonorCooldown: aws.Bool(false),
		})
		if err != nil {
			return fmt.Errorf("SetDesiredCapacity: %w", err)
		}
		return nil
	case ActionRemoveReaders:
		// Not a single call: the procedures runner drains then deletes
		// (withProcedures, which New wires in front of this adapter).
		return fmt.Errorf("%w: safe reader scale-in needs the procedures runner", ErrNotImplemented)
	}
	return fmt.Errorf("%w: action %s", ErrNotImplemented, d.Action)
}

func (a *AWS) addReaders(ctx context.Context, d Decision) error {
	c := a.rdsClient(d.Account, d.Region)
	cluster := clusterName(d.Target)
	// A reader runs the cluster's engine (aurora-mysql or
	// aurora-postgresql); RDS refuses any other. The decision carries it
	// from the state it was decided on.
	if d.Engine == "" {
		return fmt.Errorf("add readers to %s: the cluster's engine is unknown (DescribeDBClusters gave none)", cluster)
	}
	engine := aws.String(d.Engine)
	var errs []error
	for _, id := range d.Instances {
		_, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id),
			DBClusterIdentifier:  aws.String(cluster),
			DBInstanceClass:      aws.String(d.Class),
			Engine:               engine,
			PromotionTier:        aws.Int32(ManagedTier),
			Tags: []rdstypes.Tag{
				{Key: aws.String(rdsfleet.TagManaged), Value: aws.String("true")},
				{Key: aws.String(TagDecisionID), Value: aws.String(d.ID)},
				{Key: aws.String(TagDecidedAt), Value: aws.String(d.At.UTC().Format(time.RFC3339Nano))},
				{Key: aws.String(TagFrom), Value: aws.String(strconv.Itoa(int(d.From)))},
			},
		})
		// Another replica or an earlier delivery created it: the
		// identifier is the decision, so that is success.
		if err != nil && !IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("CreateDBInstance %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// IsAlreadyExists recognises RDS's answer to creating an existing
// instance.
func IsAlreadyExists(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() == "DBInstanceAlreadyExists" || ae.ErrorCode() == "DBInstanceAlreadyExistsFault"
	}
	return false
}

// clusterName strips the kind from a target ("cluster/events-db").
// describeCluster reads one cluster (without its instances, unlike
// rdsfleet.Describe).
func describeCluster(ctx context.Context, c *rds.Client, id string) (*rdstypes.DBCluster, error) {
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("DescribeDBClusters %s: %w", id, err)
	}
	if len(out.DBClusters) != 1 {
		return nil, fmt.Errorf("DescribeDBClusters %s: %d clusters returned", id, len(out.DBClusters))
	}
	return &out.DBClusters[0], nil
}

func clusterName(target string) string {
	if _, name, ok := strings.Cut(target, "/"); ok {
		return name
	}
	return target
}
