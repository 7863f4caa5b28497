package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"golang.org/x/sync/errgroup"
)

// Discovery describes the fleet (RDS clusters, instances, endpoints,
// proxies; Auto Scaling groups and their target groups) on its own
// interval. It is the only source of identities: CloudWatch queries are
// built from it, so no ListMetrics call is ever needed.
type Discovery struct {
	clients *ClientSet
	clock   Clock
	inv     atomic.Pointer[Inventory]

	mu sync.Mutex
	// Last good results per scope: a scope that fails keeps its previous
	// inventory while the others refresh.
	byScope map[Scope]*Inventory
	// proxyCluster caches proxy -> cluster (DescribeDBProxyTargets), which
	// changes only when a proxy is re-pointed.
	proxyCluster map[string]string
}

func NewDiscovery(clients *ClientSet, clock Clock) *Discovery {
	return &Discovery{clients: clients, clock: clock, byScope: map[Scope]*Inventory{}, proxyCluster: map[string]string{}}
}

func (d *Discovery) Name() string { return "discovery" }

// Inventory is the newest merged inventory (nil before the first success).
func (d *Discovery) Inventory() *Inventory { return d.inv.Load() }

func (d *Discovery) Refresh(ctx context.Context) error {
	scopes := d.clients.Scopes()
	results := make([]*Inventory, len(scopes))
	errs := make([]error, len(scopes))
	var wg sync.WaitGroup
	for i, sc := range scopes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = d.discoverScope(ctx, sc)
		}()
	}
	wg.Wait()

	d.mu.Lock()
	defer d.mu.Unlock()
	var failed []error
	for i, sc := range scopes {
		if errs[i] != nil {
			failed = append(failed, fmt.Errorf("%s/%s: %w", sc.Scope.Account, sc.Scope.Region, errs[i]))
			continue
		}
		d.byScope[sc.Scope] = results[i]
	}
	merged := &Inventory{FetchedAt: d.clock.Now()}
	keys := make([]Scope, 0, len(d.byScope))
	for k := range d.byScope {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].Account+"/"+keys[i].Region < keys[j].Account+"/"+keys[j].Region
	})
	for _, k := range keys {
		in := d.byScope[k]
		merged.Clusters = append(merged.Clusters, in.Clusters...)
		merged.Proxies = append(merged.Proxies, in.Proxies...)
		merged.ASGs = append(merged.ASGs, in.ASGs...)
		merged.Records = append(merged.Records, in.Records...)
	}
	if len(failed) == len(scopes) && len(scopes) > 0 {
		return errors.Join(failed...)
	}
	d.inv.Store(merged)
	return errors.Join(failed...)
}

func (d *Discovery) discoverScope(ctx context.Context, sc *ScopeClients) (*Inventory, error) {
	inv := &Inventory{}
	clusters, err := d.clusters(ctx, sc)
	if err != nil {
		return nil, err
	}
	inv.Clusters = clusters
	if len(clusters) > 0 {
		if err := d.instances(ctx, sc, clusters); err != nil {
			return nil, err
		}
		if err := d.customEndpoints(ctx, sc, clusters); err != nil {
			return nil, err
		}
	}
	if inv.Proxies, err = d.proxies(ctx, sc, clusters); err != nil {
		return nil, err
	}
	if inv.ASGs, err = d.asgs(ctx, sc); err != nil {
		return nil, err
	}
	for _, r := range sc.Target.Route53Records {
		inv.Records = append(inv.Records, RecordInfo{Scope: sc.Scope, Name: r})
	}
	return inv, nil
}

func matchesTags(want map[string]string, key func(i int) (string, string), n int) bool {
	if len(want) == 0 {
		return true
	}
	found := 0
	for i := 0; i < n; i++ {
		k, v := key(i)
		if wv, ok := want[k]; ok && wv == v {
			found++
		}
	}
	return found == len(want)
}

func (d *Discovery) clusters(ctx context.Context, sc *ScopeClients) ([]*ClusterInfo, error) {
	sel := sc.Target.Clusters
	in := &rds.DescribeDBClustersInput{}
	if len(sel.Names) > 0 {
		in.Filters = []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: sel.Names}}
	}
	var out []*ClusterInfo
	p := rds.NewDescribeDBClustersPaginator(sc.RDS, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeDBClusters: %w", err)
		}
		for _, c := range page.DBClusters {
			if !matchesTags(sel.Tags, func(i int) (string, string) {
				return aws.ToString(c.TagList[i].Key), aws.ToString(c.TagList[i].Value)
			}, len(c.TagList)) {
				continue
			}
			ci := &ClusterInfo{
				Scope: sc.Scope, ID: aws.ToString(c.DBClusterIdentifier), Engine: aws.ToString(c.Engine),
				EngineVersion: aws.ToString(c.EngineVersion), Status: aws.ToString(c.Status),
				Endpoint: aws.ToString(c.Endpoint), ReaderEndpoint: aws.ToString(c.ReaderEndpoint),
			}
			if s := c.ServerlessV2ScalingConfiguration; s != nil {
				ci.Serverless = true
				ci.MinACU, ci.MaxACU = aws.ToFloat64(s.MinCapacity), aws.ToFloat64(s.MaxCapacity)
			}
			for _, m := range c.DBClusterMembers {
				role := RoleReader
				if aws.ToBool(m.IsClusterWriter) {
					role = RoleWriter
					ci.Writer = aws.ToString(m.DBInstanceIdentifier)
				}
				ci.Instances = append(ci.Instances, &InstanceInfo{
					ID: aws.ToString(m.DBInstanceIdentifier), Role: role, Tier: int(aws.ToInt32(m.PromotionTier)),
				})
			}
			out = append(out, ci)
		}
	}
	return out, nil
}

// instances fills class, AZ, status and address from DescribeDBInstances,
// filtered to the selected clusters (one paged call, not one per cluster).
func (d *Discovery) instances(ctx context.Context, sc *ScopeClients, clusters []*ClusterInfo) error {
	byID := map[string]*InstanceInfo{}
	ids := make([]string, 0, len(clusters))
	for _, c := range clusters {
		ids = append(ids, c.ID)
		for _, in := range c.Instances {
			byID[in.ID] = in
		}
	}
	// RDS accepts up to 100 filter values; page through batches of them.
	for start := 0; start < len(ids); start += 100 {
		end := min(start+100, len(ids))
		p := rds.NewDescribeDBInstancesPaginator(sc.RDS, &rds.DescribeDBInstancesInput{
			Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: ids[start:end]}},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("DescribeDBInstances: %w", err)
			}
			for _, di := range page.DBInstances {
				in := byID[aws.ToString(di.DBInstanceIdentifier)]
				if in == nil {
					continue // created after DescribeDBClusters; next refresh
				}
				in.Class = aws.ToString(di.DBInstanceClass)
				in.AZ = aws.ToString(di.AvailabilityZone)
				in.Status = aws.ToString(di.DBInstanceStatus)
				in.ResourceID = aws.ToString(di.DbiResourceId)
				in.MonitoringInterval = int(aws.ToInt32(di.MonitoringInterval))
				in.PerformanceInsights = aws.ToBool(di.PerformanceInsightsEnabled)
				if di.Endpoint != nil {
					in.Address = strings.ToLower(aws.ToString(di.Endpoint.Address))
				}
			}
		}
	}
	for _, c := range clusters {
		for _, in := range c.Instances {
			if in.Status == "" {
				in.Status = "unknown"
			}
		}
	}
	return nil
}

// customEndpoints lists the custom endpoints of the whole account and
// region in one paginated call (no cluster identifier) rather than one
// call per cluster, and keeps those of the selected clusters.
func (d *Discovery) customEndpoints(ctx context.Context, sc *ScopeClients, clusters []*ClusterInfo) error {
	byID := map[string]*ClusterInfo{}
	for _, c := range clusters {
		byID[c.ID] = c
	}
	p := rds.NewDescribeDBClusterEndpointsPaginator(sc.RDS, &rds.DescribeDBClusterEndpointsInput{
		Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-endpoint-type"), Values: []string{"custom"}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("DescribeDBClusterEndpoints: %w", err)
		}
		for _, e := range page.DBClusterEndpoints {
			c := byID[aws.ToString(e.DBClusterIdentifier)]
			if c == nil || !strings.EqualFold(aws.ToString(e.EndpointType), "CUSTOM") {
				continue
			}
			c.CustomEndpoints = append(c.CustomEndpoints, &CustomEndpointInfo{
				ID: aws.ToString(e.DBClusterEndpointIdentifier), Endpoint: strings.ToLower(aws.ToString(e.Endpoint)),
				Type: aws.ToString(e.CustomEndpointType), Static: e.StaticMembers, Excluded: e.ExcludedMembers,
			})
		}
	}
	return nil
}

// proxies selects proxies in front of the selected clusters (or the named
// ones: DescribeDBProxies carries no tags); the proxy -> cluster link is cached between refreshes.
func (d *Discovery) proxies(ctx context.Context, sc *ScopeClients, clusters []*ClusterInfo) ([]*ProxyInfo, error) {
	sel := sc.Target.Proxies
	wanted := map[string]bool{}
	for _, c := range clusters {
		wanted[c.ID] = true
	}
	names := map[string]bool{}
	for _, n := range sel.Names {
		names[n] = true
	}
	var all []string
	p := rds.NewDescribeDBProxiesPaginator(sc.RDS, &rds.DescribeDBProxiesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeDBProxies: %w", err)
		}
		for _, px := range page.DBProxies {
			all = append(all, aws.ToString(px.DBProxyName))
		}
	}
	// The proxy -> cluster link needs one DescribeDBProxyTargets per
	// proxy; it is cached, and the first discovery asks for the missing
	// ones a few at a time rather than one after another.
	key := func(name string) string { return sc.Scope.Account + "/" + sc.Scope.Region + "/" + name }
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(describeConcurrency)
	for _, name := range all {
		d.mu.Lock()
		_, cached := d.proxyCluster[key(name)]
		d.mu.Unlock()
		if cached {
			continue
		}
		g.Go(func() error {
			cluster, err := d.proxyTarget(gctx, sc, name)
			if err != nil {
				return err
			}
			d.mu.Lock()
			d.proxyCluster[key(name)] = cluster
			d.mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []*ProxyInfo
	for _, name := range all {
		d.mu.Lock()
		cluster := d.proxyCluster[key(name)]
		d.mu.Unlock()
		// Named proxies are taken as given; otherwise every proxy in
		// front of a selected cluster.
		if !names[name] && (len(names) > 0 || !wanted[cluster]) {
			continue
		}
		out = append(out, &ProxyInfo{Scope: sc.Scope, Name: name, Cluster: cluster, TargetGroups: []string{"default"}})
	}
	return out, nil
}

// describeConcurrency bounds the Describe calls one discovery has in
// flight per account and region (RDS's control plane throttles bursts).
const describeConcurrency = 8

func (d *Discovery) proxyTarget(ctx context.Context, sc *ScopeClients, proxy string) (string, error) {
	p := rds.NewDescribeDBProxyTargetsPaginator(sc.RDS, &rds.DescribeDBProxyTargetsInput{DBProxyName: aws.String(proxy)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("DescribeDBProxyTargets %s: %w", proxy, err)
		}
		for _, t := range page.Targets {
			if t.Type == rdstypes.TargetTypeTrackedCluster {
				return aws.ToString(t.RdsResourceId), nil
			}
		}
	}
	return "", nil
}

func (d *Discovery) asgs(ctx context.Context, sc *ScopeClients) ([]*ASGInfo, error) {
	sel := sc.Target.ASGs
	if sel.Empty() {
		return nil, nil
	}
	in := &autoscaling.DescribeAutoScalingGroupsInput{}
	if len(sel.Names) > 0 {
		in.AutoScalingGroupNames = sel.Names
	}
	for k, v := range sel.Tags {
		in.Filters = append(in.Filters, astypes.Filter{Name: aws.String("tag:" + k), Values: []string{v}})
	}
	var out []*ASGInfo
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(sc.AutoScaling, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeAutoScalingGroups: %w", err)
		}
		for _, g := range page.AutoScalingGroups {
			ai := &ASGInfo{
				Scope: sc.Scope, Name: aws.ToString(g.AutoScalingGroupName),
				Min: int(aws.ToInt32(g.MinSize)), Max: int(aws.ToInt32(g.MaxSize)), Desired: int(aws.ToInt32(g.DesiredCapacity)),
			}
			for _, i := range g.Instances {
				if i.LifecycleState == astypes.LifecycleStateInService {
					ai.InService++
				}
			}
			for _, arn := range g.TargetGroupARNs {
				ai.TargetGroups = append(ai.TargetGroups, targetGroupFromARN(arn))
			}
			out = append(out, ai)
		}
	}
	return out, nil
}

// targetGroupFromARN derives the CloudWatch dimension from the ARN
// (arn:...:targetgroup/<name>/<id> -> targetgroup/<name>/<id>), saving a
// DescribeTargetGroups call per group.
func targetGroupFromARN(arn string) TargetGroupInfo {
	tg := TargetGroupInfo{ARN: arn, Dimension: arn, Name: arn}
	if i := strings.Index(arn, ":targetgroup/"); i >= 0 {
		tg.Dimension = arn[i+1:]
		parts := strings.Split(tg.Dimension, "/")
		if len(parts) >= 2 {
			tg.Name = parts[1]
		}
	}
	return tg
}
