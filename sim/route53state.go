package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// addHostedZone creates a zone from the scenario with its SOA and NS
// records, as Route 53 does, plus the declared records (lock held).
func (w *World) addHostedZone(a *AccountState, def HostedZoneDef, now time.Time) *HostedZone {
	name := ensureDot(def.Name)
	w.seq++
	z := &HostedZone{
		ID:   fmt.Sprintf("Z%s", strings.ToUpper(resourceID("", a.ID+name)[:20])),
		Name: name, Private: def.Private, CallerRef: fmt.Sprintf("aurora-sim-%d", w.seq),
	}
	z.Records = append(z.Records,
		&RecordSet{Name: name, Type: "NS", TTL: 172800, Values: []string{"ns-1.awsdns-01.org.", "ns-2.awsdns-02.net."}},
		&RecordSet{Name: name, Type: "SOA", TTL: 900, Values: []string{"ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
	)
	region := def.Region
	if region == "" {
		region = DefaultRegion
	}
	reg := w.region(a.ID, region)
	expand := func(v string) string {
		for _, p := range []struct {
			prefix string
			name   func(string) string
		}{{"${reader_endpoint:", reg.ReaderEndpoint}, {"${cluster_endpoint:", reg.ClusterEndpoint}} {
			if strings.HasPrefix(v, p.prefix) && strings.HasSuffix(v, "}") {
				return p.name(strings.TrimSuffix(strings.TrimPrefix(v, p.prefix), "}")) + "."
			}
		}
		return v
	}
	for _, r := range def.Records {
		for i, v := range r.Values {
			r.Values[i] = expand(v)
		}
		ttl := r.TTL
		if ttl == 0 {
			ttl = 60
		}
		z.Records = append(z.Records, &RecordSet{Name: ensureDot(r.Name), Type: strings.ToUpper(r.Type), TTL: ttl, Values: r.Values})
	}
	SortRecordSets(z.Records)
	z.Served = copyRecords(z.Records)
	a.HostedZones[z.ID] = z
	return z
}

// SortRecordSets orders records as ListResourceRecordSets returns them:
// by name with labels reversed (com.example.www), then by type.
func SortRecordSets(rs []*RecordSet) {
	sort.SliceStable(rs, func(i, j int) bool { return RecordLess(rs[i], rs[j]) })
}

// RecordLess is Route 53's listing order, also the order its paging start
// keys (name, type, identifier) select from.
func RecordLess(x, y *RecordSet) bool {
	a, b := reverseLabels(x.Name), reverseLabels(y.Name)
	if a != b {
		return a < b
	}
	if x.Type != y.Type {
		return x.Type < y.Type
	}
	return x.SetIdentifier < y.SetIdentifier
}

func reverseLabels(name string) string {
	l := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return strings.Join(l, ".")
}

// SubmitChange records a change batch the Route 53 backend has validated
// and already applied to z.Records (the API view changes at once); DNS
// serves it once it propagates (lock held).
func (w *World) SubmitChange(a *AccountState, z *HostedZone, comment string, now time.Time) *Change {
	w.seq++
	SortRecordSets(z.Records)
	ch := &Change{
		ID:          fmt.Sprintf("C%s", strings.ToUpper(resourceID("", fmt.Sprintf("%s%d%s", a.ID, w.seq, now))[:20])),
		SubmittedAt: now, InSyncAt: now.Add(w.P.Route53Propagation), Comment: comment, Zone: z,
		snapshot: copyRecords(z.Records),
	}
	a.Changes[ch.ID] = ch
	if w.P.Route53Propagation <= 0 {
		w.applyChange(ch)
	}
	return ch
}

func copyRecords(rs []*RecordSet) []*RecordSet {
	out := make([]*RecordSet, len(rs))
	for i, r := range rs {
		c := *r
		c.Values = append([]string(nil), r.Values...)
		out[i] = &c
	}
	return out
}

// Status is PENDING until the change has propagated to DNS.
func (ch *Change) Status() string {
	if ch.applied {
		return "INSYNC"
	}
	return "PENDING"
}

func (w *World) applyRoute53Changes(a *AccountState, now time.Time) {
	ids := make([]string, 0, len(a.Changes))
	for id, ch := range a.Changes {
		if !ch.applied && !now.Before(ch.InSyncAt) {
			ids = append(ids, id)
		}
	}
	// Apply in submission order so later batches win.
	sort.Slice(ids, func(i, j int) bool { return a.Changes[ids[i]].SubmittedAt.Before(a.Changes[ids[j]].SubmittedAt) })
	for _, id := range ids {
		w.applyChange(a.Changes[id])
	}
}

func (w *World) applyChange(ch *Change) {
	ch.Zone.Served = ch.snapshot
	ch.applied = true
}
