package route53

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// restXML is Route 53's REST-XML protocol (2013-04-01): the operation is
// the method and path, parameters are path segments, query strings and an
// XML body; results and errors are XML documents.
type restXML struct{ b *backend }

const (
	pathPrefix = "/2013-04-01/"
	xmlns      = "https://route53.amazonaws.com/doc/2013-04-01/"
)

func (p *restXML) Decode(r *http.Request, body []byte) (string, any, *sim.APIError) {
	rest := strings.TrimPrefix(r.URL.Path, pathPrefix)
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "hostedzone":
		n, err := queryMaxItems(q.Get("maxitems"), q.Has("maxitems"))
		return "ListHostedZones", &ListHostedZonesInput{Marker: q.Get("marker"), MaxItems: n}, err
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		n, err := queryMaxItems(q.Get("maxitems"), q.Has("maxitems"))
		return "ListResourceRecordSets", &ListResourceRecordSetsInput{HostedZoneID: parts[1],
			StartRecordName: q.Get("name"), StartRecordType: q.Get("type"), StartRecordIdentifier: q.Get("identifier"), MaxItems: n}, err
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		in, err := decodeChangeBatch(parts[1], body)
		return "ChangeResourceRecordSets", in, err
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "change":
		return "GetChange", &GetChangeInput{ID: parts[1]}, nil
	}
	return "", nil, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException", "aurora_sim serves no Route 53 operation for %s %s", r.Method, r.URL.Path)
}

func queryMaxItems(s string, given bool) (*int, *sim.APIError) {
	if !given {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, errInvalidInput("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", s)
	}
	return &n, nil
}

// Wire shapes.

type xmlZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type xmlHostedZone struct {
	ID                     string        `xml:"Id"`
	Name                   string        `xml:"Name"`
	CallerReference        string        `xml:"CallerReference"`
	Config                 xmlZoneConfig `xml:"Config"`
	ResourceRecordSetCount int           `xml:"ResourceRecordSetCount"`
}

type listHostedZonesResponse struct {
	HostedZones []xmlHostedZone `xml:"HostedZones>HostedZone"`
	Marker      string          `xml:"Marker,omitempty"`
	IsTruncated bool            `xml:"IsTruncated"`
	NextMarker  string          `xml:"NextMarker,omitempty"`
	MaxItems    int             `xml:"MaxItems"`
}

type xmlAliasTarget struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xmlResourceRecord struct {
	Value string `xml:"Value"`
}

type xmlRecordSet struct {
	Name            string              `xml:"Name"`
	Type            string              `xml:"Type"`
	SetIdentifier   string              `xml:"SetIdentifier,omitempty"`
	Weight          *int64              `xml:"Weight,omitempty"`
	TTL             *int64              `xml:"TTL,omitempty"`
	ResourceRecords []xmlResourceRecord `xml:"ResourceRecords>ResourceRecord,omitempty"`
	AliasTarget     *xmlAliasTarget     `xml:"AliasTarget,omitempty"`
}

type listRecordSetsResponse struct {
	ResourceRecordSets   []xmlRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool           `xml:"IsTruncated"`
	NextRecordName       string         `xml:"NextRecordName,omitempty"`
	NextRecordType       string         `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string         `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             int            `xml:"MaxItems"`
}

type changeRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string `xml:"Comment"`
		Changes []struct {
			Action            string       `xml:"Action"`
			ResourceRecordSet xmlRecordSet `xml:"ResourceRecordSet"`
		} `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type xmlChangeInfo struct {
	ID          string         `xml:"Id"`
	Status      string         `xml:"Status"`
	SubmittedAt wire.Timestamp `xml:"SubmittedAt"`
	Comment     string         `xml:"Comment,omitempty"`
}

type changeInfoResponse struct {
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

func decodeChangeBatch(zoneID string, body []byte) (*ChangeResourceRecordSetsInput, *sim.APIError) {
	var req changeRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, errInvalidInput("Could not parse the request body: %v", err)
	}
	in := &ChangeResourceRecordSetsInput{HostedZoneID: zoneID, Comment: req.ChangeBatch.Comment}
	for _, ch := range req.ChangeBatch.Changes {
		x := ch.ResourceRecordSet
		rs := RecordSet{Name: x.Name, Type: x.Type, SetIdentifier: x.SetIdentifier, Weight: x.Weight, TTL: x.TTL}
		for _, rr := range x.ResourceRecords {
			rs.Values = append(rs.Values, rr.Value)
		}
		if a := x.AliasTarget; a != nil {
			rs.AliasTarget = &sim.AliasTarget{HostedZoneID: a.HostedZoneID, DNSName: a.DNSName, EvaluateTargetHealth: a.EvaluateTargetHealth}
		}
		in.Changes = append(in.Changes, Change{Action: ch.Action, RecordSet: rs})
	}
	return in, nil
}

func encodeRecordSet(r RecordSet) xmlRecordSet {
	x := xmlRecordSet{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight, TTL: r.TTL}
	for _, v := range r.Values {
		x.ResourceRecords = append(x.ResourceRecords, xmlResourceRecord{Value: v})
	}
	if a := r.AliasTarget; a != nil {
		x.AliasTarget = &xmlAliasTarget{HostedZoneID: a.HostedZoneID, DNSName: a.DNSName, EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return x
}

func encodeChangeInfo(ci ChangeInfo) changeInfoResponse {
	return changeInfoResponse{ChangeInfo: xmlChangeInfo{ID: ci.ID, Status: ci.Status, SubmittedAt: wire.Timestamp(ci.SubmittedAt), Comment: ci.Comment}}
}

func (p *restXML) Invoke(c sim.CallContext, op string, in any) (any, *sim.APIError) {
	switch op {
	case "ListHostedZones":
		out, err := p.b.ListHostedZones(c, in.(*ListHostedZonesInput))
		if err != nil {
			return nil, err
		}
		res := listHostedZonesResponse{Marker: out.Marker, IsTruncated: out.IsTruncated, NextMarker: out.NextMarker, MaxItems: out.MaxItems}
		for _, z := range out.HostedZones {
			res.HostedZones = append(res.HostedZones, xmlHostedZone{ID: z.ID, Name: z.Name, CallerReference: z.CallerReference,
				Config: xmlZoneConfig{Comment: z.Comment, PrivateZone: z.Private}, ResourceRecordSetCount: z.RecordSetCount})
		}
		return res, nil
	case "ListResourceRecordSets":
		out, err := p.b.ListResourceRecordSets(c, in.(*ListResourceRecordSetsInput))
		if err != nil {
			return nil, err
		}
		res := listRecordSetsResponse{IsTruncated: out.IsTruncated, NextRecordName: out.NextRecordName, NextRecordType: out.NextRecordType,
			NextRecordIdentifier: out.NextRecordIdentifier, MaxItems: out.MaxItems}
		for _, r := range out.RecordSets {
			res.ResourceRecordSets = append(res.ResourceRecordSets, encodeRecordSet(r))
		}
		return res, nil
	case "ChangeResourceRecordSets":
		out, err := p.b.ChangeResourceRecordSets(c, in.(*ChangeResourceRecordSetsInput))
		if err != nil {
			return nil, err
		}
		return encodeChangeInfo(out.ChangeInfo), nil
	case "GetChange":
		out, err := p.b.GetChange(c, in.(*GetChangeInput))
		if err != nil {
			return nil, err
		}
		return encodeChangeInfo(out.ChangeInfo), nil
	}
	return nil, sim.ErrInternal("operation %s has no handler", op)
}

func (p *restXML) WriteResult(w http.ResponseWriter, c sim.CallContext, op string, out any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: op + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}}}); err != nil {
		p.WriteError(w, c, sim.ErrInternal("encoding %s: %v", op, err))
		return
	}
	writeXML(w, c.RequestID, http.StatusOK, buf.Bytes())
}

// WriteError writes Route 53's ErrorResponse document. An error that
// lists several problems (InvalidChangeBatch) also carries them in
// <Messages> inside <Error>: the SDKs' InvalidChangeBatch shape reads
// them there, and botocore (the AWS CLIs), which only reads ErrorResponse
// documents, still finds the code and the bracketed message. (Route 53
// has also answered with an <InvalidChangeBatch> root element; the Go SDK
// decodes that too, but botocore reads it as an empty code.)
func (p *restXML) WriteError(w http.ResponseWriter, c sim.CallContext, e *sim.APIError) {
	doc := wire.ErrorXML(xmlns, e, c.RequestID)
	if len(e.Messages) > 0 {
		var msgs strings.Builder
		msgs.WriteString("<Messages>")
		for _, m := range e.Messages {
			msgs.WriteString("<Message>")
			_ = xml.EscapeText(&msgs, []byte(m))
			msgs.WriteString("</Message>")
		}
		msgs.WriteString("</Messages></Error>")
		doc = strings.Replace(doc, "</Error>", msgs.String(), 1)
	}
	writeXML(w, c.RequestID, e.Status, []byte(fmt.Sprintf(`<?xml version="1.0"?>`+"\n%s", doc)))
}

func writeXML(w http.ResponseWriter, reqID string, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
