package route53

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Typed inputs and outputs of the backend; restxml.go maps them to Route
// 53's REST-XML protocol.

type ListHostedZonesInput struct {
	Marker   string
	MaxItems *int // nil: 100
}

type HostedZone struct {
	ID, Name, CallerReference, Comment string // ID is /hostedzone/<id>
	Private                            bool
	RecordSetCount                     int
}

type ListHostedZonesOutput struct {
	HostedZones        []HostedZone
	Marker, NextMarker string
	IsTruncated        bool
	MaxItems           int
}

type ListResourceRecordSetsInput struct {
	HostedZoneID                                            string
	StartRecordName, StartRecordType, StartRecordIdentifier string
	MaxItems                                                *int // nil: 300
}

// RecordSet is a record set as the API shows it: either TTL and values,
// or an alias target.
type RecordSet struct {
	Name, Type, SetIdentifier string
	Weight, TTL               *int64
	Values                    []string
	AliasTarget               *sim.AliasTarget
}

type ListResourceRecordSetsOutput struct {
	RecordSets                                           []RecordSet
	IsTruncated                                          bool
	NextRecordName, NextRecordType, NextRecordIdentifier string
	MaxItems                                             int
}

type Change struct {
	Action    string // CREATE, DELETE or UPSERT
	RecordSet RecordSet
}

type ChangeResourceRecordSetsInput struct {
	HostedZoneID, Comment string
	Changes               []Change
}

type ChangeInfo struct {
	ID, Status, Comment string // ID is /change/<id>
	SubmittedAt         time.Time
}

type ChangeInfoOutput struct{ ChangeInfo ChangeInfo }

type GetChangeInput struct{ ID string }

type backend struct{ w *sim.World }

// Limits of the real service.
const (
	maxZonesPerPage   = 100
	maxRecordsPerPage = 300
	// A batch holds at most 1000 ResourceRecord elements; an UPSERT's
	// count twice.
	maxBatchRecords = 1000
)

// The SDK strips the /hostedzone/ and /change/ prefixes; other clients
// may send either form.
func bareID(id string) string {
	id = strings.TrimPrefix(id, "/hostedzone/")
	id = strings.TrimPrefix(id, "hostedzone/")
	id = strings.TrimPrefix(id, "/change/")
	return strings.TrimPrefix(id, "change/")
}

func maxItems(v *int, limit int) (int, *sim.APIError) {
	if v == nil {
		return limit, nil
	}
	if *v < 1 {
		return 0, errInvalidInput("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", *v)
	}
	return min(*v, limit), nil
}

func recordView(r *sim.RecordSet) RecordSet {
	out := RecordSet{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight}
	if r.AliasTarget != nil {
		a := *r.AliasTarget
		out.AliasTarget = &a
		return out
	}
	ttl := r.TTL
	out.TTL = &ttl
	out.Values = append([]string(nil), r.Values...)
	return out
}

func changeView(ch *sim.Change) ChangeInfo {
	return ChangeInfo{ID: "/change/" + ch.ID, Status: ch.Status(), SubmittedAt: ch.SubmittedAt, Comment: ch.Comment}
}

func (b *backend) ListHostedZones(c sim.CallContext, in *ListHostedZonesInput) (*ListHostedZonesOutput, *sim.APIError) {
	max, err := maxItems(in.MaxItems, maxZonesPerPage)
	if err != nil {
		return nil, err
	}
	marker := in.Marker
	out := &ListHostedZonesOutput{Marker: marker, MaxItems: max}
	err = b.w.InAccount(c, func(a *sim.AccountState, _ time.Time) *sim.APIError {
		ids := make([]string, 0, len(a.HostedZones))
		for id := range a.HostedZones {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		start := 0
		if marker != "" {
			start = sort.SearchStrings(ids, bareID(marker))
			if start == len(ids) || ids[start] != bareID(marker) {
				return errInvalidInput("Invalid marker: %s", marker)
			}
		}
		for i := start; i < len(ids); i++ {
			if len(out.HostedZones) == max {
				out.IsTruncated, out.NextMarker = true, ids[i]
				break
			}
			z := a.HostedZones[ids[i]]
			out.HostedZones = append(out.HostedZones, HostedZone{
				ID: "/hostedzone/" + z.ID, Name: z.Name, CallerReference: z.CallerRef,
				Comment: z.Comment, Private: z.Private, RecordSetCount: len(z.Records),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) ListResourceRecordSets(c sim.CallContext, in *ListResourceRecordSetsInput) (*ListResourceRecordSetsOutput, *sim.APIError) {
	max, err := maxItems(in.MaxItems, maxRecordsPerPage)
	if err != nil {
		return nil, err
	}
	name, typ := in.StartRecordName, in.StartRecordType
	if typ != "" && name == "" {
		return nil, errInvalidInput("The input is not valid: type requires name")
	}
	if typ != "" && !validType(strings.ToUpper(typ)) {
		return nil, errInvalidInput("Invalid type: %s", typ)
	}
	out := &ListResourceRecordSetsOutput{MaxItems: max}
	err = b.w.InAccount(c, func(a *sim.AccountState, _ time.Time) *sim.APIError {
		z := a.HostedZones[bareID(in.HostedZoneID)]
		if z == nil {
			return errNoSuchHostedZone(bareID(in.HostedZoneID))
		}
		// Records are kept in Route 53's listing order; a start key
		// selects the first record at or after it in that order.
		first := 0
		if name != "" {
			probe := &sim.RecordSet{Name: canonical(name), Type: strings.ToUpper(typ), SetIdentifier: in.StartRecordIdentifier}
			first = sort.Search(len(z.Records), func(i int) bool { return !sim.RecordLess(z.Records[i], probe) })
		}
		for i := first; i < len(z.Records); i++ {
			r := z.Records[i]
			if len(out.RecordSets) == max {
				out.IsTruncated = true
				out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = r.Name, r.Type, r.SetIdentifier
				break
			}
			out.RecordSets = append(out.RecordSets, recordView(r))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

var recordTypes = map[string]bool{"A": true, "AAAA": true, "CAA": true, "CNAME": true, "DS": true, "MX": true, "NAPTR": true, "NS": true, "PTR": true, "SOA": true, "SPF": true, "SRV": true, "TXT": true}

func validType(t string) bool { return recordTypes[t] }

// batchRecords counts a batch's ResourceRecord elements as Route 53's
// limit does: an alias counts one, an UPSERT twice.
func batchRecords(changes []Change) int {
	n := 0
	for _, ch := range changes {
		k := max(len(ch.RecordSet.Values), 1)
		if ch.Action == "UPSERT" {
			k *= 2
		}
		n += k
	}
	return n
}

// ChangeResourceRecordSets applies a batch atomically: every change is
// checked against the zone as the earlier changes left it, and if any
// fails nothing is applied and every problem is reported at once, as
// Route 53 does (InvalidChangeBatch).
func (b *backend) ChangeResourceRecordSets(c sim.CallContext, in *ChangeResourceRecordSetsInput) (*ChangeInfoOutput, *sim.APIError) {
	if len(in.Changes) == 0 {
		return nil, errInvalidInput("1 validation error detected: Value null at 'changeBatch.changes' failed to satisfy constraint: Member must not be null")
	}
	if batchRecords(in.Changes) > maxBatchRecords {
		return nil, errInvalidChangeBatch([]string{fmt.Sprintf("Number of records limit of %d exceeded.", maxBatchRecords)})
	}
	var out *ChangeInfoOutput
	err := b.w.InAccount(c, func(a *sim.AccountState, now time.Time) *sim.APIError {
		z := a.HostedZones[bareID(in.HostedZoneID)]
		if z == nil {
			return errNoSuchHostedZone(bareID(in.HostedZoneID))
		}
		records := append([]*sim.RecordSet(nil), z.Records...)
		var problems []string
		for _, ch := range in.Changes {
			rs, perr := toRecord(ch.RecordSet, z)
			if perr != "" {
				problems = append(problems, perr)
				continue
			}
			idx := -1
			for i, r := range records {
				if r.Name == rs.Name && r.Type == rs.Type && r.SetIdentifier == rs.SetIdentifier {
					idx = i
					break
				}
			}
			desc := fmt.Sprintf("[name='%s', type='%s'%s]", rs.Name, rs.Type, setIDDesc(rs))
			switch ch.Action {
			case "CREATE":
				if idx >= 0 {
					problems = append(problems, fmt.Sprintf("Tried to create resource record set %s but it already exists", desc))
					continue
				}
				if msg := conflict(records, rs); msg != "" {
					problems = append(problems, msg)
					continue
				}
				records = append(records, rs)
			case "UPSERT":
				if idx >= 0 {
					records[idx] = rs
					continue
				}
				if msg := conflict(records, rs); msg != "" {
					problems = append(problems, msg)
					continue
				}
				records = append(records, rs)
			case "DELETE":
				if idx < 0 || !equalRecord(records[idx], rs) {
					problems = append(problems, fmt.Sprintf("Tried to delete resource record set %s but it was not found", desc))
					continue
				}
				if rs.Name == z.Name && (rs.Type == "SOA" || rs.Type == "NS") {
					problems = append(problems, fmt.Sprintf("A HostedZone must contain at least one NS record and one SOA record for the zone apex: %s", desc))
					continue
				}
				records = append(records[:idx:idx], records[idx+1:]...)
			default:
				problems = append(problems, fmt.Sprintf("Invalid action %q: must be CREATE, DELETE or UPSERT", ch.Action))
			}
		}
		if len(problems) > 0 {
			return errInvalidChangeBatch(problems)
		}
		z.Records = records
		change := b.w.SubmitChange(a, z, in.Comment, now)
		out = &ChangeInfoOutput{ChangeInfo: changeView(change)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func setIDDesc(r *sim.RecordSet) string {
	if r.SetIdentifier == "" {
		return ""
	}
	return fmt.Sprintf(", identifier='%s'", r.SetIdentifier)
}

// conflict reports CNAME exclusivity: a name with a CNAME may hold no
// other record type, and a CNAME may not join other types.
func conflict(records []*sim.RecordSet, rs *sim.RecordSet) string {
	for _, r := range records {
		if r.Name != rs.Name || r.Type == rs.Type {
			continue
		}
		if rs.Type == "CNAME" || r.Type == "CNAME" {
			return fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type %s with the same DNS name already exists in zone", rs.Type, strings.TrimSuffix(rs.Name, "."), r.Type)
		}
	}
	return ""
}

func equalRecord(a, b *sim.RecordSet) bool {
	if (a.AliasTarget == nil) != (b.AliasTarget == nil) {
		return false
	}
	if a.AliasTarget != nil {
		return canonical(a.AliasTarget.DNSName) == canonical(b.AliasTarget.DNSName)
	}
	if a.TTL != b.TTL || len(a.Values) != len(b.Values) {
		return false
	}
	av, bv := append([]string(nil), a.Values...), append([]string(nil), b.Values...)
	sort.Strings(av)
	sort.Strings(bv)
	for i := range av {
		if av[i] != bv[i] {
			return false
		}
	}
	return true
}

// toRecord validates one record set the way Route 53 does and returns the
// problem as Route 53 words it.
func toRecord(x RecordSet, z *sim.HostedZone) (*sim.RecordSet, string) {
	if x.Name == "" {
		return nil, "Invalid request: Missing field 'Name' in Change"
	}
	name := canonical(x.Name)
	typ := strings.ToUpper(x.Type)
	if !validType(typ) {
		return nil, fmt.Sprintf("Invalid Resource Record: Invalid type %q", x.Type)
	}
	if name != z.Name && !strings.HasSuffix(name, "."+z.Name) {
		return nil, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", strings.TrimSuffix(name, "."), strings.TrimSuffix(z.Name, "."))
	}
	if typ == "CNAME" && name == z.Name {
		return nil, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", strings.TrimSuffix(name, "."), strings.TrimSuffix(z.Name, "."))
	}
	if (x.Weight != nil) != (x.SetIdentifier != "") {
		return nil, fmt.Sprintf("Invalid request: SetIdentifier and Weight must be given together for %s", name)
	}
	rs := &sim.RecordSet{Name: name, Type: typ, SetIdentifier: x.SetIdentifier, Weight: x.Weight}
	if x.AliasTarget != nil {
		if x.TTL != nil || x.Values != nil {
			return nil, fmt.Sprintf("Invalid request: Alias target and TTL or ResourceRecords are mutually exclusive for %s", name)
		}
		if x.AliasTarget.DNSName == "" || x.AliasTarget.HostedZoneID == "" {
			return nil, fmt.Sprintf("Invalid request: AliasTarget requires DNSName and HostedZoneId for %s", name)
		}
		rs.AliasTarget = &sim.AliasTarget{HostedZoneID: x.AliasTarget.HostedZoneID, DNSName: canonical(x.AliasTarget.DNSName), EvaluateTargetHealth: x.AliasTarget.EvaluateTargetHealth}
		return rs, ""
	}
	if x.TTL == nil {
		return nil, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=..., Name=%s, Type=%s]", name, typ)
	}
	if *x.TTL < 0 || *x.TTL > 2147483647 {
		return nil, fmt.Sprintf("Invalid request: TTL %d out of range for %s", *x.TTL, name)
	}
	if len(x.Values) == 0 {
		return nil, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Name=%s, Type=%s]", name, typ)
	}
	rs.TTL = *x.TTL
	for _, raw := range x.Values {
		v := strings.TrimSpace(raw)
		switch typ {
		case "A":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
				return nil, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '%s''", v)
			}
		case "AAAA":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is6() {
				return nil, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address encountered with '%s''", v)
			}
		case "CNAME":
			if len(x.Values) > 1 {
				return nil, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: RRDATANotSingleField (Value contains spaces) encountered with '%s''", v)
			}
			v = canonical(v)
		}
		rs.Values = append(rs.Values, v)
	}
	return rs, ""
}

func (b *backend) GetChange(c sim.CallContext, in *GetChangeInput) (*ChangeInfoOutput, *sim.APIError) {
	var out *ChangeInfoOutput
	err := b.w.InAccount(c, func(a *sim.AccountState, _ time.Time) *sim.APIError {
		ch := a.Changes[bareID(in.ID)]
		if ch == nil {
			return errNoSuchChange(bareID(in.ID))
		}
		out = &ChangeInfoOutput{ChangeInfo: changeView(ch)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
