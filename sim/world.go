package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// World is the backend: all simulated AWS state of every account and
// region, the load model, and the time integration that moves them. Every
// operation takes the one lock and first brings the model up to the
// clock's now, so lazily-advanced real time and explicitly advanced
// virtual time behave the same.
type World struct {
	mu       sync.Mutex
	clock    Clock
	P        Params
	scenario *Scenario
	rng      *rand.Rand
	accounts map[string]*AccountState
	keys     map[string]string // access key id -> account id
	order    []string          // account ids, declaration order
	now      time.Time         // model integrated up to here
	start    time.Time
	seq      int

	ext map[string]any

	Calls           *CallCounter
	Faults          *FaultSet
	scheduledFaults []FaultDef
}

// CallContext is who is calling, from the request's SigV4 credential scope.
type CallContext struct {
	AccessKey string
	Account   string
	Region    string
	Service   string
	Operation string
	RequestID string
}

// New builds the world of a scenario; clock may be nil for a virtual clock
// starting at the scenario's start.
func New(sc *Scenario, clock Clock) (*World, error) {
	start := sc.Start
	if start.IsZero() {
		if clock != nil {
			start = clock.Now()
		} else {
			start = time.Now().UTC().Truncate(time.Minute)
		}
	}
	if clock == nil {
		clock = NewVirtualClock(start)
	}
	w := &World{
		clock:    clock,
		P:        sc.Params,
		scenario: sc,
		rng:      rand.New(rand.NewSource(sc.Params.Seed)),
		accounts: map[string]*AccountState{},
		keys:     map[string]string{},
		now:      start,
		start:    start,
		Calls:    NewCallCounter(),
		Faults:   NewFaultSet(sc.Params.Seed),
	}
	for _, a := range sc.Accounts {
		acct := w.account(a.ID)
		for _, k := range a.AccessKeys {
			w.keys[k] = a.ID
		}
		for _, r := range a.Roles {
			acct.Roles[r] = true
		}
		for _, z := range a.HostedZones {
			w.addHostedZone(acct, z, start)
		}
	}
	for _, f := range sc.Fleets {
		for n := 0; n < f.Count; n++ {
			suffix := ""
			if f.Count > 1 {
				suffix = fmt.Sprintf("-%03d", n+1)
			}
			if err := w.addFleet(f, suffix, start); err != nil {
				return nil, err
			}
		}
	}
	w.scheduledFaults = append(w.scheduledFaults, sc.Faults...)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refreshDNS(start)
	for _, id := range w.order {
		for _, r := range w.accounts[id].SortedRegions() {
			for _, c := range r.SortedClusters() {
				if err := w.startApplication(c, start); err != nil {
					return nil, err
				}
			}
		}
	}
	w.warmUp(start)
	return w, nil
}

func (w *World) Clock() Clock        { return w.clock }
func (w *World) Scenario() *Scenario { return w.scenario }
func (w *World) Start() time.Time    { return w.start }

// Now is the model's current time (synced to the clock).
func (w *World) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
	return w.now
}

// Sync integrates the model up to the clock's now. The server calls it on a
// ticker in real-time mode so metrics keep flowing without requests.
func (w *World) Sync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
}

// Advance moves a virtual clock forward and integrates the model. It
// returns an error for clocks it cannot move.
func (w *World) Advance(d time.Duration) error {
	vc, ok := w.clock.(*VirtualClock)
	if !ok {
		return fmt.Errorf("the clock is not virtual: start aurora_sim with --clock=virtual to advance it")
	}
	vc.Set(vc.Now().Add(d))
	w.Sync()
	return nil
}

// Do runs fn under the world lock with the model synced: the entry point
// of every backend operation.
func (w *World) Do(fn func(now time.Time)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
	fn(w.now)
}

// InRegion runs fn on the caller's region. A region the scenario does not
// declare answers like a real region with nothing in it (empty lists, not
// errors) but is not added to the world: nothing can be created in it
// (every resource hangs off a declared cluster or group), and the ground
// truth lists only the scenario's regions.
func (w *World) InRegion(c CallContext, fn func(r *Region, now time.Time) *APIError) *APIError {
	var err *APIError
	w.Do(func(now time.Time) {
		r := w.accounts[c.Account].lookupRegion(c.Region)
		if r == nil {
			r = w.newRegion(c.Account, c.Region)
		}
		err = fn(r, now)
	})
	return err
}

func (a *AccountState) lookupRegion(name string) *Region {
	if a == nil {
		return nil
	}
	return a.Regions[name]
}

// InAccount runs fn on the caller's account (for global services).
func (w *World) InAccount(c CallContext, fn func(a *AccountState, now time.Time) *APIError) *APIError {
	var err *APIError
	w.Do(func(now time.Time) {
		err = fn(w.account(c.Account), now)
	})
	return err
}

// AccountForKey maps an access key to its account; keys nobody declared
// belong to the first account so any static credentials work.
func (w *World) AccountForKey(key string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if a, ok := w.keys[key]; ok {
		return a
	}
	return w.order[0]
}

// IssueKey registers a temporary access key for an account (AssumeRole).
func (w *World) IssueKey(account string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	key := fmt.Sprintf("ASIA%s%012d", account[:4], w.seq) // 20 characters, as AWS's
	w.keys[key] = account
	return key
}

// HasRole reports whether account declares the named role.
func (w *World) HasRole(account, role string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.accounts[account]
	return ok && a.Roles[role]
}

// HasAccount reports whether the account exists in the scenario.
func (w *World) HasAccount(account string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.accounts[account]
	return ok
}

// Rand gives backend code the world's seeded randomness (lock held).
func (w *World) Rand() *rand.Rand { return w.rng }

// NextID returns a process-unique sequence number (lock held).
func (w *World) NextID() int {
	w.seq++
	return w.seq
}

// Accounts returns the accounts in declaration order (lock held).
func (w *World) Accounts() []*AccountState {
	out := make([]*AccountState, 0, len(w.order))
	for _, id := range w.order {
		out = append(out, w.accounts[id])
	}
	return out
}

func (w *World) account(id string) *AccountState {
	a, ok := w.accounts[id]
	if !ok {
		a = &AccountState{ID: id, Regions: map[string]*Region{}, HostedZones: map[string]*HostedZone{}, Changes: map[string]*Change{}, Roles: map[string]bool{}}
		w.accounts[id] = a
		w.order = append(w.order, id)
	}
	return a
}

func (w *World) region(account, name string) *Region {
	a := w.account(account)
	r, ok := a.Regions[name]
	if !ok {
		r = w.newRegion(account, name)
		a.Regions[name] = r
	}
	return r
}

// newRegion is an empty region, not yet part of the world.
func (w *World) newRegion(account, name string) *Region {
	sum := sha256.Sum256([]byte(account + "/" + name))
	return &Region{
		Account: account, Name: name, Hash: hex.EncodeToString(sum[:])[:12],
		Clusters: map[string]*Cluster{}, Instances: map[string]*Instance{},
		Proxies: map[string]*Proxy{}, ASGs: map[string]*AutoScalingGroup{},
		TargetGroups: map[string]*TargetGroup{}, LoadBalancers: map[string]*LoadBalancer{},
		Metrics:    NewMetricStore(60*time.Second, w.P.MetricRetention),
		Monitoring: newMonitoringStore(),
	}
}

// SortedRegions lists an account's regions by name (lock held).
func (a *AccountState) SortedRegions() []*Region {
	out := make([]*Region, 0, len(a.Regions))
	for _, r := range a.Regions {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SortedClusters lists clusters by identifier, the order RDS describes them.
func (r *Region) SortedClusters() []*Cluster {
	out := make([]*Cluster, 0, len(r.Clusters))
	for _, c := range r.Clusters {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SortedInstances lists instances by identifier.
func (r *Region) SortedInstances() []*Instance {
	out := make([]*Instance, 0, len(r.Instances))
	for _, i := range r.Instances {
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SortedASGs lists groups by name.
func (r *Region) SortedASGs() []*AutoScalingGroup {
	out := make([]*AutoScalingGroup, 0, len(r.ASGs))
	for _, g := range r.ASGs {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SortedProxies lists proxies by name.
func (r *Region) SortedProxies() []*Proxy {
	out := make([]*Proxy, 0, len(r.Proxies))
	for _, p := range r.Proxies {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ARN builds an ARN in this region.
func (r *Region) ARN(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.Name, r.Account, resource)
}

// RDS endpoint names, as AWS forms them.
func (r *Region) ClusterEndpoint(c string) string {
	return fmt.Sprintf("%s.cluster-%s.%s.rds.amazonaws.com", c, r.Hash, r.Name)
}
func (r *Region) ReaderEndpoint(c string) string {
	return fmt.Sprintf("%s.cluster-ro-%s.%s.rds.amazonaws.com", c, r.Hash, r.Name)
}
func (r *Region) CustomEndpointName(e string) string {
	return fmt.Sprintf("%s.cluster-custom-%s.%s.rds.amazonaws.com", e, r.Hash, r.Name)
}
func (r *Region) InstanceEndpoint(i string) string {
	return fmt.Sprintf("%s.%s.%s.rds.amazonaws.com", i, r.Hash, r.Name)
}
func (r *Region) ProxyEndpoint(p string) string {
	return fmt.Sprintf("%s.proxy-%s.%s.rds.amazonaws.com", p, r.Hash, r.Name)
}

// allocIP hands out loopback addresses: DNS answers must name something,
// and loopback guarantees nothing outside this machine is ever contacted.
func (r *Region) allocIP() netip.Addr {
	r.nextIP++
	sum := sha256.Sum256([]byte(r.Account + "/" + r.Name))
	n := r.nextIP
	return netip.AddrFrom4([4]byte{127, 64 + sum[0]%64, byte(n >> 8), byte(n)})
}

func resourceID(prefix string, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return prefix + strings.ToUpper(hex.EncodeToString(sum[:])[:26])
}

func tagsFromMap(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (w *World) addFleet(f FleetDef, suffix string, now time.Time) error {
	r := w.region(f.Account, f.Region)
	cd := f.Cluster
	cid := cd.ID + suffix
	if _, dup := r.Clusters[cid]; dup {
		return fmt.Errorf("cluster %q declared twice in %s/%s", cid, f.Account, f.Region)
	}
	c := &Cluster{
		ID: cid, ARN: r.ARN("rds", "cluster:"+cid), ResourceID: resourceID("cluster-", r.Account+cid),
		Region: r, Engine: cd.Engine, EngineVersion: cd.EngineVersion, Status: StatusAvailable, CreateTime: now.Add(-24 * time.Hour),
		Tags: tagsFromMap(cd.Tags), CustomEndpoints: map[string]*CustomEndpoint{}, lingering: map[string]time.Time{},
		MonitoringInterval: cd.MonitoringInterval, PerformanceInsights: cd.PerformanceInsights,
	}
	if c.Engine == "" {
		c.Engine = EnginePostgreSQL
	}
	if c.EngineVersion == "" {
		c.EngineVersion = DefaultEngineVersion(c.Engine)
	}
	if cd.ServerlessV2 != nil {
		rng := *cd.ServerlessV2
		c.Serverless = &rng
	}
	c.Traffic = &Traffic{Def: f.Traffic, T0: now.Add(f.Traffic.EventStart)}
	c.App = newApplication(f, c, suffix)
	r.Clusters[cid] = c
	for _, id := range cd.Instances {
		in := w.newInstance(r, c, id.ID+suffix, id.Class, id.AZ, id.Tier, tagsFromMap(id.Tags), now.Add(-24*time.Hour))
		in.Status = StatusAvailable
		in.AvailableAt = in.CreateTime
		if id.MonitoringInterval != nil {
			in.MonitoringInterval = *id.MonitoringInterval
		}
		if id.PerformanceInsights != nil {
			in.PerformanceInsights = *id.PerformanceInsights
		}
		if id.Writer {
			c.Writer = in.ID
			c.DNSWriter = in.ID
		}
	}
	for _, e := range cd.CustomEndpoints {
		typ := strings.ToUpper(e.Type)
		if typ == "" {
			typ = "ANY"
		}
		ce := &CustomEndpoint{ID: e.ID + suffix, Type: typ, Status: StatusAvailable}
		for _, m := range e.Static {
			ce.Static = append(ce.Static, m+suffix)
		}
		for _, m := range e.Excluded {
			ce.Excluded = append(ce.Excluded, m+suffix)
		}
		c.CustomEndpoints[ce.ID] = ce
	}
	if p := f.Proxy; p != nil {
		name := p.Name + suffix
		px := &Proxy{
			Name: name, ARN: r.ARN("rds", "db-proxy:"+resourceID("prx-", r.Account+name)[:21]), Region: r, Cluster: c,
			Status: StatusAvailable, CreateTime: now.Add(-24 * time.Hour), PinnedFraction: p.PinnedFraction,
			Multiplexing: p.Multiplexing, Tags: tagsFromMap(p.Tags),
		}
		if px.Multiplexing == 0 {
			px.Multiplexing = 0.2
		}
		r.Proxies[name] = px
		c.Proxy = px
	}
	for _, gd := range f.ASGs {
		name := gd.Name + suffix
		g := &AutoScalingGroup{
			Name: name, Region: r, Cluster: c, Tier: gd.Tier, Min: gd.Min, Max: gd.Max, Desired: gd.Desired,
			Scheduled: map[string]*ScheduledAction{}, RequestShare: gd.RequestShare, Tags: tagsFromMap(gd.Tags),
			CreateTime: now.Add(-24 * time.Hour),
		}
		g.ARN = r.ARN("autoscaling", fmt.Sprintf("autoScalingGroup:%s:autoScalingGroupName/%s", resourceUUID(r.Account+name), name))
		if g.RequestShare == 0 {
			g.RequestShare = 1 / float64(len(f.ASGs))
		}
		if g.Max < g.Min || g.Desired < g.Min || g.Desired > g.Max {
			return fmt.Errorf("asg %q: need min <= desired <= max", name)
		}
		lbName := f.Name + suffix + "-alb"
		lb, ok := r.LoadBalancers[lbName]
		if !ok {
			lbID := resourceID("", r.Account+lbName)[:16]
			lb = &LoadBalancer{Name: lbName, ARN: r.ARN("elasticloadbalancing", "loadbalancer/app/"+lbName+"/"+strings.ToLower(lbID)),
				DNS: fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", lbName, strings.ToLower(lbID[:8]), r.Name)}
			r.LoadBalancers[lbName] = lb
		}
		tgName := gd.TargetGroup + suffix
		if gd.TargetGroup == "" {
			tgName = name + "-tg"
		}
		tgID := strings.ToLower(resourceID("", r.Account+tgName)[:16])
		tg := &TargetGroup{Name: tgName, ARN: r.ARN("elasticloadbalancing", "targetgroup/"+tgName+"/"+tgID), LoadBalancer: lb, Port: 8080, Protocol: "HTTP", ASG: g}
		r.TargetGroups[tgName] = tg
		g.TargetGroups = append(g.TargetGroups, tg)
		for i := 0; i < g.Desired; i++ {
			w.launchASGInstance(g, now, true)
		}
		r.ASGs[name] = g
		c.ASGs = append(c.ASGs, g)
	}
	return nil
}

// NewInstance creates an instance record in a cluster (lock held). It does
// not decide status; callers do.
func (w *World) NewInstance(r *Region, c *Cluster, id, class, az string, tier int, tags []Tag, now time.Time) *Instance {
	return w.newInstance(r, c, id, class, az, tier, tags, now)
}

func (w *World) newInstance(r *Region, c *Cluster, id, class, az string, tier int, tags []Tag, now time.Time) *Instance {
	if az == "" {
		az = r.Name + string(rune('a'+len(c.Members)%3))
	}
	in := &Instance{
		ID: id, ARN: r.ARN("rds", "db:"+id), ResourceID: resourceID("db-", r.Account+id+now.String()),
		Cluster: c, Class: class, AZ: az, Tier: tier, Status: StatusCreating, CreateTime: now,
		Tags: tags, IP: r.allocIP(),
	}
	if in.Serverless() && c.Serverless != nil {
		in.ACU = c.Serverless.Min
	}
	in.MonitoringInterval, in.PerformanceInsights = c.MonitoringInterval, c.PerformanceInsights
	r.Instances[id] = in
	c.Members = append(c.Members, id)
	return in
}

func (w *World) launchASGInstance(g *AutoScalingGroup, now time.Time, ready bool) {
	w.seq++
	azs := []string{"a", "b", "c"}
	inst := &ASGInstance{
		ID: fmt.Sprintf("i-%017x", uint64(w.rng.Int63())&0xfffffffffffffff), AZ: g.Region.Name + azs[len(g.Instances)%3],
		LifecycleState: "Pending", Health: "Healthy", LaunchedAt: now, ReadyAt: now.Add(w.P.ASGLaunchDelay),
	}
	if ready {
		inst.LifecycleState = "InService"
		inst.ReadyAt = now
	}
	g.Instances = append(g.Instances, inst)
}

func resourceUUID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// validateACURange applies Aurora's Serverless v2 rules.
func validateACURange(min, max float64) *APIError {
	half := func(v float64) bool { return v*2 == float64(int64(v*2)) }
	switch {
	case min < 0 || max <= 0:
		return ErrInvalidParameterValue("Serverless v2 MinCapacity must be >= 0 and MaxCapacity > 0.")
	case !half(min) || !half(max):
		return ErrInvalidParameterValue("Serverless v2 capacity must be a multiple of 0.5 ACU.")
	case max > 256:
		return ErrInvalidParameterValue("Serverless v2 MaxCapacity %g exceeds the maximum of 256 ACUs.", max)
	case min > max:
		return ErrInvalidParameterCombination("Serverless v2 MinCapacity %g is greater than MaxCapacity %g.", min, max)
	}
	return nil
}

// ValidateACURange is exported for the RDS backend and config checks.
func ValidateACURange(min, max float64) *APIError { return validateACURange(min, max) }

// warmUp settles Serverless v2 capacity and load for the fleet as it
// stands at start, without publishing metrics, so the first datapoints
// show a fleet already in equilibrium rather than every instance at min.
func (w *World) warmUp(now time.Time) {
	for i := 0; i < 120; i++ {
		for _, a := range w.accounts {
			for _, r := range a.Regions {
				for _, c := range r.Clusters {
					w.stepCluster(c, now, time.Second)
				}
				for _, g := range r.ASGs {
					w.stepASG(g, now)
				}
			}
		}
	}
	// The application's totals count from the scenario's start.
	for _, a := range w.accounts {
		for _, r := range a.Regions {
			for _, c := range r.Clusters {
				c.App.stats = AppStats{ReadLatency: newLatencyHistogram(), WriteLatency: newLatencyHistogram()}
			}
		}
	}
	// The fleet has been running before the scenario starts: CloudWatch
	// holds its settled state for the backfill period, so a client (the
	// demo's exporter) sees datapoints at once instead of after the
	// publication delay.
	const tick = 5 * time.Second
	for t := now.Add(-backfill + tick); !t.After(now); t = t.Add(tick) {
		for _, id := range w.order {
			for _, r := range w.accounts[id].SortedRegions() {
				w.sampleMetrics(r, t, tick)
			}
		}
	}
}

// backfill is how much settled history a new world's CloudWatch holds.
const backfill = 15 * time.Minute
