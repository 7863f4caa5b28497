package sim

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// syncLocked integrates the model from w.now to the clock's now in steps of
// at most Params.Tick, so state transitions land within one tick of their
// due time whatever the clock does. On a wall clock only whole ticks are
// stepped: every request syncs, and a step per request (each a full pass
// over a large fleet) would cost far more than the tick of lag. A virtual
// clock moves only when told, so it is followed exactly.
func (w *World) syncLocked() {
	target := w.clock.Now()
	_, exact := w.clock.(*VirtualClock)
	for w.now.Before(target) {
		next := w.now.Add(w.P.Tick)
		if next.After(target) {
			if !exact {
				return
			}
			next = target
		}
		dt := next.Sub(w.now)
		w.now = next
		w.step(next, dt)
	}
}

func (w *World) step(now time.Time, dt time.Duration) {
	w.applyScheduledFaults(now)
	for _, id := range w.order {
		a := w.accounts[id]
		w.applyRoute53Changes(a, now)
		for _, r := range a.SortedRegions() {
			w.stepLifecycle(r, now)
			for _, g := range r.SortedASGs() {
				w.stepASG(g, now)
			}
			for _, c := range r.SortedClusters() {
				w.stepCluster(c, now, dt)
			}
			w.sampleMetrics(r, now, dt)
			w.sampleMonitoring(r, now, dt)
		}
	}
	w.refreshDNS(now)
}

func (w *World) stepLifecycle(r *Region, now time.Time) {
	for _, in := range r.SortedInstances() {
		switch in.Status {
		case StatusCreating, StatusRebooting, StatusModifying:
			if !now.Before(in.AvailableAt) {
				in.Status = StatusAvailable
			}
		case StatusDeleting:
			if !now.Before(in.GoneAt) {
				w.removeInstance(r, in)
			}
		}
	}
	for _, c := range r.Clusters {
		if c.Status == ClusterFailingOver && !now.Before(c.dnsWriterSwitch) {
			c.Status = StatusAvailable
			c.DNSWriter = c.Writer
		}
		if c.Status == StatusModifying {
			c.Status = StatusAvailable
		}
	}
}

func (w *World) removeInstance(r *Region, in *Instance) {
	delete(r.Instances, in.ID)
	c := in.Cluster
	for i, m := range c.Members {
		if m == in.ID {
			c.Members = append(c.Members[:i], c.Members[i+1:]...)
			break
		}
	}
	// A deleted reader keeps its round-robin slot for the linger time
	// (counted from when deletion began, set in DeleteInstance).
	for _, ce := range c.CustomEndpoints {
		ce.Static = without(ce.Static, in.ID)
		ce.Excluded = without(ce.Excluded, in.ID)
	}
}

func without(list []string, id string) []string {
	out := list[:0]
	for _, v := range list {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}

// Users is the traffic curve at now: linear between keyframes, flat before
// the first and after the last.
func (t *Traffic) UsersAt(now time.Time) float64 {
	if t.Override != nil {
		return *t.Override
	}
	k := t.Def.Keyframes
	if len(k) == 0 {
		return 0
	}
	rel := now.Sub(t.T0)
	if t.Def.Repeat > 0 {
		span := t.Def.Repeat
		first := k[0].At
		rel = first + time.Duration(math.Mod(float64(rel-first), float64(span)))
		if rel < first {
			rel += span
		}
	}
	if rel <= k[0].At {
		return k[0].Users
	}
	for i := 1; i < len(k); i++ {
		if rel <= k[i].At {
			a, b := k[i-1], k[i]
			if b.At == a.At {
				return b.Users
			}
			f := float64(rel-a.At) / float64(b.At-a.At)
			return a.Users + f*(b.Users-a.Users)
		}
	}
	return k[len(k)-1].Users
}

// classCapacityACU maps provisioned classes to an ACU equivalent (1 ACU is
// about 2 GiB of memory with matching CPU), so one capacity model serves
// both kinds of instance. It runs every tick for every provisioned
// instance, so its tables are package variables, built once.
func classCapacityACU(class string) (float64, bool) {
	for i := len(class) - 1; i > 0; i-- {
		if class[i] == '.' {
			fam, size := class[:i], class[i+1:]
			if !classFamilies[fam] {
				return 0, false
			}
			v, ok := classSizes[size]
			if (fam == "db.t3" || fam == "db.t4g") && size != "medium" && size != "large" {
				return 0, false
			}
			return v, ok
		}
	}
	return 0, false
}

var (
	classSizes = map[string]float64{
		"medium": 2, "large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64,
		"8xlarge": 128, "12xlarge": 192, "16xlarge": 256, "24xlarge": 384,
	}
	classFamilies = map[string]bool{"db.r5": true, "db.r6g": true, "db.r6i": true, "db.r7g": true, "db.r7i": true,
		"db.r8g": true, "db.t3": true, "db.t4g": true, "db.x2g": true}
)

// ValidInstanceClass reports whether CreateDBInstance accepts the class.
func ValidInstanceClass(class string) bool {
	_, ok := classCapacityACU(class)
	return ok || class == ServerlessClass
}

// writeCost is how many reads one write costs in CPU.
const writeCost = 3

// stepCluster is the load model; its equations are documented in
// sim/README.md. The application's clients send reads and writes to the
// instances their cached DNS answers name, so DNS lag and client caching
// show up as failed queries exactly as they did in the field.
func (w *World) stepCluster(c *Cluster, now time.Time, dt time.Duration) {
	r := c.Region
	t := c.Traffic
	t.Users = t.UsersAt(now)
	users := t.Users
	d := t.Def
	reads := users * d.ReadsPerUserSecond
	writes := users * d.WritesPerUserSecond
	conns := users * d.ConnectionsPerUser
	readConns := conns * d.ReadConnectionShare
	writeConns := conns - readConns
	sec := dt.Seconds()
	app := c.App
	st := &app.stats
	st.ReadsTotal += reads * sec
	st.WritesTotal += writes * sec

	demand := map[string]float64{}
	readQPS := map[string]float64{}
	writeQPS := map[string]float64{}
	connsOf := map[string]float64{}

	readShares, writeShares := w.route(app, now)
	n := float64(len(app.clients))
	for _, s := range readShares {
		f := float64(s.clients) / n
		in := s.target.instance(c)
		if !serving(in) {
			st.ReadsFailedTotal += reads * f * sec
			continue
		}
		demand[in.ID] += reads * f
		readQPS[in.ID] += reads * f
		connsOf[in.ID] += readConns * f
	}
	for _, s := range writeShares {
		f := float64(s.clients) / n
		in := s.target.instance(c)
		// A write anywhere but the serving writer fails: a rebooting old
		// writer in a failover's DNS window, or an instance that is a
		// reader now (read-only transactions).
		if !serving(in) || in.ID != c.Writer || now.Before(in.RefusesWritesUntil) {
			st.WritesFailedTotal += writes * f * sec
		} else {
			demand[in.ID] += writes * f * writeCost
			writeQPS[in.ID] += writes * f
		}
		if c.Proxy == nil && in != nil {
			connsOf[in.ID] += writeConns * f
		}
	}
	writer := r.Instances[c.DNSWriter]
	if p := c.Proxy; p != nil {
		p.ClientConnections = writeConns
		p.PinnedConnections = writeConns * p.PinnedFraction
		p.DatabaseConnections = p.PinnedConnections + (writeConns-p.PinnedConnections)*p.Multiplexing
		if writer != nil {
			connsOf[writer.ID] += p.DatabaseConnections
		}
	}

	var writerACU float64
	members := make([]*Instance, 0, len(c.Members))
	for _, id := range c.Members {
		if in := r.Instances[id]; in != nil {
			members = append(members, in)
		}
	}
	// Writer first: tier 0-1 readers keep at least its capacity.
	sort.SliceStable(members, func(i, j int) bool { return members[i].ID == c.Writer && members[j].ID != c.Writer })
	for _, in := range members {
		if in.Status != StatusAvailable && in.Status != StatusModifying && in.Status != StatusRebooting {
			in.CPU, in.Connections, in.ReadQPS, in.WriteQPS, in.Util = 0, 0, 0, 0, 0
			continue
		}
		load := demand[in.ID]
		capACU := w.capacity(c, in, load, writerACU, sec)
		if in.ID == c.Writer {
			writerACU = capACU
		}
		util := load / (capACU * w.P.QueriesPerACUSecond)
		in.CPU = math.Min(100, math.Max(1, 100*util))
		in.ReadLatency = latency(w.P.BaseReadLatency, util)
		in.WriteLatency = latency(w.P.BaseWriteLatency, util)
		in.Connections = math.Round(w.P.BaseConnections + connsOf[in.ID])
		in.ReadQPS = readQPS[in.ID]
		in.WriteQPS = writeQPS[in.ID]
		in.Util, in.CapacityACU = util, capACU
		if in.ReadQPS > 0 {
			st.ReadLatency.observe(in.ReadLatency, in.ReadQPS*sec)
		}
		if in.WriteQPS > 0 {
			st.WriteLatency.observe(in.WriteLatency, in.WriteQPS*sec)
		}
	}
}

// capacity returns the instance's capacity in ACU for this tick, moving a
// Serverless v2 instance toward the ACU that would hold CPU at the target
// utilisation: up by a fraction of current capacity per second (seconds
// to reach max), down slowly.
func (w *World) capacity(c *Cluster, in *Instance, load, writerACU, sec float64) float64 {
	if !in.Serverless() || c.Serverless == nil {
		v, _ := classCapacityACU(in.Class)
		return v
	}
	min, max := c.Serverless.Min, c.Serverless.Max
	target := load / (w.P.QueriesPerACUSecond * w.P.ACUTargetUtilization)
	if in.ID != c.Writer && in.Tier <= 1 && target < writerACU {
		target = writerACU
	}
	target = math.Max(min, math.Min(max, math.Ceil(target*2)/2))
	cur := in.ACU
	if cur < min {
		cur = min
	}
	if cur > max {
		cur = max
	}
	switch {
	case target > cur:
		cur = math.Min(target, cur+math.Max(0.5, cur*w.P.ACUScaleUpFraction)*sec)
	case target < cur:
		cur = math.Max(target, cur-w.P.ACUScaleDownPerSecond*sec)
	}
	in.ACU = cur
	// Capacity below 0.5 would make CPU meaningless at zero scale.
	return math.Max(0.5, math.Ceil(cur*2)/2)
}

// latency grows as 1/(1-u): flat at low utilisation, steep near
// saturation, and still rising (linearly) past it.
func latency(base time.Duration, util float64) float64 {
	b := base.Seconds()
	if util < 0.97 {
		return b / (1 - util)
	}
	return b / 0.03 * (1 + 10*(util-0.97))
}

func (w *World) stepASG(g *AutoScalingGroup, now time.Time) {
	names := make([]string, 0, len(g.Scheduled))
	for n := range g.Scheduled {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := g.Scheduled[n]
		if a.Done || now.Before(a.StartTime) {
			continue
		}
		if a.Min != nil {
			g.Min = *a.Min
		}
		if a.Max != nil {
			g.Max = *a.Max
		}
		before := g.Desired
		if a.Desired != nil {
			g.Desired = *a.Desired
		}
		g.Desired = clampInt(g.Desired, g.Min, g.Max)
		g.RecordCapacityChange(now, fmt.Sprintf("a scheduled action update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d", g.Min, g.Max, g.Desired), before, g.Desired)
		a.Done = true
		// A one-time action is removed once it has run, as in AWS.
		delete(g.Scheduled, n)
	}
	live := g.Instances[:0]
	for _, in := range g.Instances {
		if in.LifecycleState == "Pending" && !now.Before(in.ReadyAt) {
			in.LifecycleState = "InService"
		}
		live = append(live, in)
	}
	g.Instances = live
	for len(g.Instances) < g.Desired {
		w.launchASGInstance(g, now, false)
	}
	// Scale-in terminates the newest instances first (simplified default
	// termination policy) and they leave the target group at once.
	if len(g.Instances) > g.Desired {
		g.Instances = g.Instances[:g.Desired]
	}
	inService := 0
	for _, in := range g.Instances {
		if in.LifecycleState == "InService" {
			inService++
		}
	}
	t := g.Cluster.Traffic
	rpm := t.Users * t.Def.RequestsPerUserMinute * g.RequestShare
	if inService > 0 {
		g.RequestsPerInstance = rpm / float64(inService)
		g.CPU = math.Min(100, math.Max(1, g.RequestsPerInstance/w.P.ASGRequestsPerCPUPoint))
	} else {
		g.RequestsPerInstance, g.CPU = 0, 0
	}
	for _, tg := range g.TargetGroups {
		tg.RequestsPerTargetMinute = g.RequestsPerInstance
	}
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// InServiceCount counts instances in service.
func (g *AutoScalingGroup) InServiceCount() int {
	n := 0
	for _, in := range g.Instances {
		if in.LifecycleState == "InService" {
			n++
		}
	}
	return n
}
