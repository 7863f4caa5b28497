package route53

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

type backend struct{ w *sim.World }

func errInvalidInput(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "InvalidInput", format, args...)
}

func errNoSuchHostedZone(id string) *sim.APIError {
	return sim.NewAPIError(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
}

// The SDK strips the /hostedzone/ and /change/ prefixes; other clients
// may send either form.
func bareID(id string) string {
	id = strings.TrimPrefix(id, "/hostedzone/")
	id = strings.TrimPrefix(id, "hostedzone/")
	id = strings.TrimPrefix(id, "/change/")
	return strings.TrimPrefix(id, "change/")
}

// Wire shapes (Route 53 2013-04-01 XML).

type zoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type hostedZoneXML struct {
	ID                     string     `xml:"Id"`
	Name                   string     `xml:"Name"`
	CallerReference        string     `xml:"CallerReference"`
	Config                 zoneConfig `xml:"Config"`
	ResourceRecordSetCount int        `xml:"ResourceRecordSetCount"`
}

type listHostedZonesOut struct {
	HostedZones []hostedZoneXML `xml:"HostedZones>HostedZone"`
	Marker      string          `xml:"Marker,omitempty"`
	IsTruncated bool            `xml:"IsTruncated"`
	NextMarker  string          `xml:"NextMarker,omitempty"`
	MaxItems    int             `xml:"MaxItems"`
}

type aliasXML struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type recordSetXML struct {
	Name            string           `xml:"Name"`
	Type            string           `xml:"Type"`
	SetIdentifier   string           `xml:"SetIdentifier,omitempty"`
	Weight          *int64           `xml:"Weight,omitempty"`
	TTL             *int64           `xml:"TTL,omitempty"`
	ResourceRecords []resourceRecord `xml:"ResourceRecords>ResourceRecord,omitempty"`
	AliasTarget     *aliasXML        `xml:"AliasTarget,omitempty"`
}

type resourceRecord struct {
	Value string `xml:"Value"`
}

type listRecordSetsOut struct {
	ResourceRecordSets   []recordSetXML `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool           `xml:"IsTruncated"`
	NextRecordName       string         `xml:"NextRecordName,omitempty"`
	NextRecordType       string         `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string         `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             int            `xml:"MaxItems"`
}

type changeRequest struct {
	XMLName     xml.Name    `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch changeBatch `xml:"ChangeBatch"`
}

type changeBatch struct {
	Comment string `xml:"Comment"`
	Changes []struct {
		Action            string       `xml:"Action"`
		ResourceRecordSet recordSetXML `xml:"ResourceRecordSet"`
	} `xml:"Changes>Change"`
}

type changeInfo struct {
	ID          string    `xml:"Id"`
	Status      string    `xml:"Status"`
	SubmittedAt time.Time `xml:"SubmittedAt"`
	Comment     string    `xml:"Comment,omitempty"`
}

type changeInfoOut struct {
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

func toXML(r *sim.RecordSet) recordSetXML {
	out := recordSetXML{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight}
	if r.AliasTarget != nil {
		out.AliasTarget = &aliasXML{HostedZoneID: r.AliasTarget.HostedZoneID, DNSName: r.AliasTarget.DNSName, EvaluateTargetHealth: r.AliasTarget.EvaluateTargetHealth}
		return out
	}
	ttl := r.TTL
	out.TTL = &ttl
	for _, v := range r.Values {
		out.ResourceRecords = append(out.ResourceRecords, resourceRecord{Value: v})
	}
	return out
}

func info(ch *sim.Change) changeInfo {
	return changeInfo{ID: "/change/" + ch.ID, Status: ch.Status(), SubmittedAt: ch.SubmittedAt.UTC(), Comment: ch.Comment}
}

func (b *backend) listHostedZones(c sim.CallContext, marker string, max int) (any, *sim.APIError) {
	out := &listHostedZonesOut{Marker: marker, MaxItems: max}
	err := b.w.InAccount(c, func(a *sim.AccountState, _ time.Time) *sim.APIError {
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
			out.HostedZones = append(out.HostedZones, hostedZoneXML{
				ID: "/hostedzone/" + z.ID, Name: z.Name, CallerReference: z.CallerRef,
				Config: zoneConfig{Comment: z.Comment, PrivateZone: z.Private}, ResourceRecordSetCount: len(z.Records),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recordKey is the position ListResourceRecordSets pages by.
type recordKey struct{ name, typ, id string }

func (b *backend) listResourceRecordSets(c sim.CallContext, zoneID string, start recordKey, max int) (any, *sim.APIError) {
	if start.typ != "" && start.name == "" {
		return nil, errInvalidInput("The input is not valid: type requires name")
	}
	if start.typ != "" && !validType(strings.ToUpper(start.typ)) {
		return nil, errInvalidInput("Invalid type: %s", start.typ)
	}
	out := &listRecordSetsOut{MaxItems: max}
	err := b.w.InAccount(c, func(a *sim.AccountState, _ time.Time) *sim.APIError {
		z := a.HostedZones[bareID(zoneID)]
		if z == nil {
			return errNoSuchHostedZone(bareID(zoneID))
		}
		// Records are kept in Route 53's listing order; a start key
		// selects the first record at or after it in that order.
		first := 0
		if start.name != "" {
			probe := &sim.RecordSet{Name: canonical(start.name), Type: strings.ToUpper(start.typ), SetIdentifier: start.id}
			first = sort.Search(len(z.Records), func(i int) bool { return !sim.RecordLess(z.Records[i], probe) })
		}
		for i := first; i < len(z.Records); i++ {
			r := z.Records[i]
			if len(out.ResourceRecordSets) == max {
				out.IsTruncated = true
				out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = r.Name, r.Type, r.SetIdentifier
				break
			}
			out.ResourceRecordSets = append(out.ResourceRecordSets, toXML(r))
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

func (b *backend) changeResourceRecordSets(c sim.CallContext, zoneID string, batch changeBatch) (any, *sim.APIError) {
	if len(batch.Changes) == 0 {
		return nil, errInvalidInput("1 validation error detected: Value null at 'changeBatch.changes' failed to satisfy constraint: Member must not be null")
	}
	if len(batch.Changes) > 1000 {
		return nil, errInvalidInput("Number of records in the change batch exceeds 1000")
	}
	var out *changeInfoOut
	err := b.w.InAccount(c, func(a *sim.AccountState, now time.Time) *sim.APIError {
		z := a.HostedZones[bareID(zoneID)]
		if z == nil {
			return errNoSuchHostedZone(bareID(zoneID))
		}
		// A batch is atomic: apply to a copy, commit only if every change
		// is valid, and report every problem at once as Route 53 does.
		records := append([]*sim.RecordSet(nil), z.Records...)
		var problems []string
		for _, ch := range batch.Changes {
			rs, perr := toRecord(ch.ResourceRecordSet, z)
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
			return sim.NewAPIError(http.StatusBadRequest, "InvalidChangeBatch", "%s", strings.Join(problems, "\n"))
		}
		z.Records = records
		change := b.w.SubmitChange(a, z, batch.Comment, now)
		out = &changeInfoOut{ChangeInfo: info(change)}
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
func toRecord(x recordSetXML, z *sim.HostedZone) (*sim.RecordSet, string) {
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
		if x.TTL != nil || x.ResourceRecords != nil {
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
	if len(x.ResourceRecords) == 0 {
		return nil, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Name=%s, Type=%s]", name, typ)
	}
	rs.TTL = *x.TTL
	for _, rr := range x.ResourceRecords {
		v := strings.TrimSpace(rr.Value)
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
			if len(x.ResourceRecords) > 1 {
				return nil, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: RRDATANotSingleField (Value contains spaces) encountered with '%s''", v)
			}
			v = canonical(v)
		}
		rs.Values = append(rs.Values, v)
	}
	return rs, ""
}

func (b *backend) getChange(c sim.CallContext, id string) (any, *sim.APIError) {
	var out *changeInfoOut
	err := b.w.InAccount(c, func(a *sim.AccountState, _ time.Time) *sim.APIError {
		ch := a.Changes[bareID(id)]
		if ch == nil {
			return sim.NewAPIError(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: %s", bareID(id))
		}
		out = &changeInfoOut{ChangeInfo: info(ch)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
