// Package route53 emulates the Route 53 calls the scaler's drain procedure
// needs: ListHostedZones, ListResourceRecordSets, ChangeResourceRecordSets
// and GetChange, over Route 53's REST-XML protocol. A change is visible in
// the API at once and in DNS (and INSYNC) after the scenario's propagation
// delay, as in the field.
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

const (
	pathPrefix = "/2013-04-01/"
	xmlns      = "https://route53.amazonaws.com/doc/2013-04-01/"
)

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	s.HandleREST(pathPrefix, &restXML{b: &backend{w: s.World}})
}

type restXML struct{ b *backend }

// request is a decoded REST call: path parameters, query and body.
type request struct {
	zoneID   string
	changeID string
	query    map[string]string
	body     []byte
}

func (p *restXML) Decode(r *http.Request, body []byte) (string, any, *sim.APIError) {
	rest := strings.TrimPrefix(r.URL.Path, pathPrefix)
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			q[k] = v[0]
		}
	}
	req := &request{query: q, body: body}
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "hostedzone":
		return "ListHostedZones", req, nil
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		req.zoneID = parts[1]
		return "ListResourceRecordSets", req, nil
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		req.zoneID = parts[1]
		return "ChangeResourceRecordSets", req, nil
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "change":
		req.changeID = parts[1]
		return "GetChange", req, nil
	}
	return "", nil, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException", "aurora_sim serves no Route 53 operation for %s %s", r.Method, r.URL.Path)
}

func (p *restXML) Invoke(c sim.CallContext, op string, in any) (any, *sim.APIError) {
	req := in.(*request)
	switch op {
	case "ListHostedZones":
		max, err := maxItems(req.query, 100)
		if err != nil {
			return nil, err
		}
		return p.b.listHostedZones(c, req.query["marker"], max)
	case "ListResourceRecordSets":
		max, err := maxItems(req.query, 300)
		if err != nil {
			return nil, err
		}
		return p.b.listResourceRecordSets(c, req.zoneID, recordKey{name: req.query["name"], typ: req.query["type"], id: req.query["identifier"]}, max)
	case "ChangeResourceRecordSets":
		var body changeRequest
		if err := xml.Unmarshal(req.body, &body); err != nil {
			return nil, errInvalidInput("Could not parse the request body: %v", err)
		}
		return p.b.changeResourceRecordSets(c, req.zoneID, body.ChangeBatch)
	case "GetChange":
		return p.b.getChange(c, req.changeID)
	}
	return nil, sim.ErrInternal("operation %s has no handler", op)
}

func maxItems(q map[string]string, def int) (int, *sim.APIError) {
	s, ok := q["maxitems"]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errInvalidInput("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", s)
	}
	return min(n, def), nil
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

// WriteError uses Route 53's ErrorResponse document, except for
// InvalidChangeBatch, which Route 53 sends as its own root element listing
// every problem of the batch (the SDK decodes that shape specially).
func (p *restXML) WriteError(w http.ResponseWriter, c sim.CallContext, e *sim.APIError) {
	var doc string
	if e.Code == "InvalidChangeBatch" {
		var msgs strings.Builder
		for _, m := range strings.Split(e.Message, "\n") {
			msgs.WriteString("<Message>")
			_ = xml.EscapeText(&msgs, []byte(m))
			msgs.WriteString("</Message>")
		}
		doc = fmt.Sprintf(`<?xml version="1.0"?>`+"\n"+`<InvalidChangeBatch xmlns="%s"><Messages>%s</Messages><RequestId>%s</RequestId></InvalidChangeBatch>`, xmlns, msgs.String(), c.RequestID)
	} else {
		doc = wire.ErrorXML(xmlns, e, c.RequestID)
	}
	writeXML(w, c.RequestID, e.Status, []byte(doc))
}

func writeXML(w http.ResponseWriter, reqID string, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
