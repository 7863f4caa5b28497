package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// MonitoringStore holds what Enhanced Monitoring and Performance
// Insights have recorded in a region, by DbiResourceId. Both are opt-in
// per instance and bounded by their retention, so a large fleet with the
// features off costs nothing.
type MonitoringStore struct {
	OS map[string]*OSStream
	PI map[string]*PISeries
}

func newMonitoringStore() *MonitoringStore {
	return &MonitoringStore{OS: map[string]*OSStream{}, PI: map[string]*PISeries{}}
}

// OSStream is one instance's stream in the RDSOSMetrics log group.
type OSStream struct {
	ResourceID string
	InstanceID string
	// Docs are the documents, oldest first.
	Docs []OSDocument
}

// OSDocument is one Enhanced Monitoring document: the OS as of
// Timestamp, delivered to CloudWatch Logs at Ingested.
type OSDocument struct {
	Timestamp time.Time
	Ingested  time.Time
	Message   string
}

// Created is when the stream appeared (its first delivery).
func (s *OSStream) Created() time.Time { return s.Docs[0].Ingested }

// PISeries is one instance's Performance Insights samples.
type PISeries struct {
	ResourceID string
	InstanceID string
	Engine     string
	Samples    []PISample // one per model tick, oldest first
}

// PISample is the model over one tick ending at T, lasting Dt.
type PISample struct {
	T  time.Time
	Dt time.Duration
	// Values by PICounter.
	Values [PICounterCount]float64
}

// PICounter indexes what the model records for Performance Insights.
type PICounter int

const (
	PIDBLoad      PICounter = iota // average active sessions
	PICPU                          // OS CPU %, total
	PILoadOne                      // OS load average, one minute
	PIQueries                      // statements per second (reads + writes)
	PICommits                      // transactions committed per second (writes)
	PIReads                        // reads per second
	PIConnections                  // client connections
	PICounterCount
)

// VCPUs of an instance: a provisioned class's (an ACU is about 2 GiB and
// Aurora's memory-optimised classes have 8 GiB per vCPU), or a Serverless
// v2 instance's current capacity on the same scale; at least one.
func (in *Instance) VCPUs() int {
	acu := in.CapacityACU
	if acu == 0 {
		if v, ok := classCapacityACU(in.Class); ok {
			acu = v
		} else {
			acu = in.ACU
		}
	}
	return int(math.Max(1, math.Round(acu/4)))
}

// ActiveSessions is the model's average active sessions: utilisation
// times vCPUs, so it exceeds the vCPUs exactly when demand exceeds
// capacity (CPU pinned at 100 %, work queueing).
func (in *Instance) ActiveSessions() float64 {
	return in.Util * float64(in.VCPUs())
}

func (w *World) sampleMonitoring(r *Region, now time.Time, dt time.Duration) {
	m := r.Monitoring
	w.expireMonitoring(m, now)
	// Kernel-style exponentially damped load averages over 1, 5 and 15
	// minutes: the tick's decay factors are the same for every instance.
	sec := dt.Seconds()
	k1, k5, k15 := 1-math.Exp(-sec/60), 1-math.Exp(-sec/300), 1-math.Exp(-sec/900)
	// Map order is fine: each instance's record depends on it alone, and
	// sorting every tick would cost large fleets for nothing.
	for _, in := range r.Instances {
		running := in.Status == StatusAvailable || in.Status == StatusModifying
		aas := 0.0
		if running {
			aas = in.ActiveSessions()
		}
		in.load1 += (aas - in.load1) * k1
		in.load5 += (aas - in.load5) * k5
		in.load15 += (aas - in.load15) * k15
		if !running {
			continue
		}
		if in.PerformanceInsights {
			s := m.PI[in.ResourceID]
			if s == nil {
				s = &PISeries{ResourceID: in.ResourceID, InstanceID: in.ID, Engine: in.Cluster.Engine}
				m.PI[in.ResourceID] = s
			}
			var v [PICounterCount]float64
			v[PIDBLoad], v[PICPU], v[PILoadOne] = aas, in.CPU, in.load1
			v[PIQueries], v[PICommits], v[PIReads], v[PIConnections] = in.ReadQPS+in.WriteQPS, in.WriteQPS, in.ReadQPS, in.Connections
			s.Samples = append(s.Samples, PISample{T: now, Dt: dt, Values: v})
		}
		if iv := time.Duration(in.MonitoringInterval) * time.Second; iv > 0 {
			if in.nextOSDoc.IsZero() || in.nextOSDoc.Sub(now) > iv {
				in.nextOSDoc = now.Truncate(iv)
			}
			if !now.Before(in.nextOSDoc) {
				s := m.OS[in.ResourceID]
				if s == nil {
					s = &OSStream{ResourceID: in.ResourceID, InstanceID: in.ID}
					m.OS[in.ResourceID] = s
				}
				ts := now.Truncate(time.Second)
				s.Docs = append(s.Docs, OSDocument{Timestamp: ts, Ingested: ts.Add(w.P.EnhancedMonitoringDelay), Message: w.osDocument(in, ts)})
				in.nextOSDoc = now.Truncate(iv).Add(iv)
			}
		}
	}
}

func (w *World) expireMonitoring(m *MonitoringStore, now time.Time) {
	emCut := now.Add(-w.P.EnhancedMonitoringRetention)
	for id, s := range m.OS {
		if s.Docs = dropBefore(s.Docs, emCut, func(d *OSDocument) time.Time { return d.Timestamp }); len(s.Docs) == 0 {
			delete(m.OS, id)
		}
	}
	piCut := now.Add(-w.P.PerformanceInsightsRetention)
	for id, s := range m.PI {
		if s.Samples = dropBefore(s.Samples, piCut, func(p *PISample) time.Time { return p.T }); len(s.Samples) == 0 {
			delete(m.PI, id)
		}
	}
}

// dropBefore drops the leading items (oldest first) timed before cut. It
// re-slices rather than copying the rest down: this runs every tick and
// drops about one item each time, and append reallocates once the dead
// prefix has used up the capacity, so trimming costs amortised O(1) per
// item instead of a copy of the whole retained series per tick.
func dropBefore[T any](items []T, cut time.Time, at func(*T) time.Time) []T {
	i := 0
	for i < len(items) && at(&items[i]).Before(cut) {
		i++
	}
	return items[i:]
}

// osDocument renders an Enhanced Monitoring document in AWS's shape
// (field names as RDS writes them). CPU total and the load averages come
// from the model; the rest is derived simply from them and the class so
// that every documented field is present and consistent.
func (w *World) osDocument(in *Instance, ts time.Time) string {
	vcpus := in.VCPUs()
	memKB := int64(in.CapacityACU * 2 * 1024 * 1024)
	if memKB == 0 {
		memKB = int64(vcpus) * 8 * 1024 * 1024
	}
	total := round2(in.CPU)
	user, system := round2(total*0.7), round2(total*0.2)
	wait, steal := round2(total*0.05), 0.05
	nice := round2(math.Max(0, total-user-system-wait-steal))
	up := ts.Sub(in.AvailableAt)
	if up < 0 {
		up = 0
	}
	qps := in.ReadQPS + in.WriteQPS
	engineName := "AuroraPostgreSQL"
	procName := "postgres"
	if in.Cluster.Engine == EngineMySQL {
		engineName, procName = "Aurora", "aurora"
	}
	used := float64(memKB) * 0.6
	doc := map[string]any{
		"engine": engineName, "instanceID": in.ID, "instanceResourceID": in.ResourceID,
		"timestamp": ts.UTC().Format(time.RFC3339), "version": 1.0, "uptime": uptimeString(up), "numVCPUs": vcpus,
		"cpuUtilization": map[string]float64{"guest": 0, "irq": 0, "system": system, "wait": wait, "idle": round2(100 - total),
			"user": user, "total": total, "steal": steal, "nice": nice},
		"loadAverageMinute": map[string]float64{"one": round2(in.load1), "five": round2(in.load5), "fifteen": round2(in.load15)},
		"memory": map[string]int64{"writeback": 0, "hugePagesFree": 0, "hugePagesRsvd": 0, "hugePagesSurp": 0, "cached": memKB / 4,
			"hugePagesSize": 2048, "free": memKB / 10, "hugePagesTotal": 0, "inactive": memKB / 8, "pageTables": memKB / 500, "dirty": 0,
			"mapped": memKB / 2, "active": int64(used), "total": memKB, "slab": memKB / 40, "buffers": memKB / 60},
		"tasks":   map[string]int{"sleeping": 200 + int(in.Connections), "zombie": 0, "running": int(math.Ceil(in.ActiveSessions())), "stopped": 0, "total": 200 + int(in.Connections) + int(math.Ceil(in.ActiveSessions())), "blocked": 0},
		"swap":    map[string]int{"cached": 0, "total": 0, "free": 0},
		"network": []map[string]any{{"interface": "eth0", "rx": round2(qps * 1024), "tx": round2(qps * 4096)}},
		"diskIO": []map[string]any{{"device": "rdsdev", "readIOsPS": round2(in.ReadQPS * 0.05), "writeIOsPS": round2(in.WriteQPS),
			"readKbPS": round2(in.ReadQPS * 0.4), "writeKbPS": round2(in.WriteQPS * 16), "await": round2(1000 * in.WriteLatency),
			"util": round2(math.Min(100, total/2)), "avgQueueLen": round2(in.ActiveSessions() / 10), "tps": round2(in.ReadQPS*0.05 + in.WriteQPS)}},
		"fileSys": []map[string]any{{"name": "rdsfilesys", "mountPoint": "/rdsdbdata", "total": 30828540, "used": 7006720,
			"usedPercent": 22.73, "maxFiles": 1966080, "usedFiles": 2650, "usedFilePercent": 0.13}},
		"processList": []map[string]any{
			{"name": procName, "id": 8455, "parentID": 1, "tgid": 8455, "cpuUsedPc": round2(total * 0.95), "memoryUsedPc": 60.0, "rss": int64(used), "vss": memKB * 7 / 10},
			{"name": "OS processes", "id": 0, "parentID": 0, "tgid": 0, "cpuUsedPc": round2(total * 0.02), "memoryUsedPc": 0.2, "rss": memKB / 500, "vss": memKB / 25},
			{"name": "RDS processes", "id": 0, "parentID": 0, "tgid": 0, "cpuUsedPc": round2(total * 0.03), "memoryUsedPc": 2.8, "rss": memKB / 35, "vss": memKB / 5},
		},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// uptimeString is the document's uptime as RDS writes it: "10 days, 1:53:04".
func uptimeString(d time.Duration) string {
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	hms := fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}
