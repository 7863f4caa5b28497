package wire

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// QueryOp implements one awsQuery operation: typed parameters in, an
// XML-marshalable result (the content of <OpResult>) out.
type QueryOp func(c sim.CallContext, p Params) (any, *sim.APIError)

// QueryService is an awsQuery service (form-encoded POST in, XML out).
type QueryService struct {
	Version string // API version the Version field must carry
	XMLNS   string // response namespace
	Ops     map[string]QueryOp
}

// APIVersion lets the router find the service of an unsigned request.
func (q *QueryService) APIVersion() string { return q.Version }

func (q *QueryService) Decode(r *http.Request, body []byte) (string, any, *sim.APIError) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return "", nil, sim.NewAPIError(http.StatusMethodNotAllowed, "InvalidAction", "awsQuery accepts POST and GET, not %s", r.Method)
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, sim.NewAPIError(http.StatusBadRequest, "MalformedQueryString", "form body does not parse: %v", err)
	}
	for k, v := range r.URL.Query() {
		if !strings.HasPrefix(k, "X-Amz-") {
			vals[k] = append(vals[k], v...)
		}
	}
	op := vals.Get("Action")
	if op == "" {
		return "", nil, sim.NewAPIError(http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action")
	}
	if _, ok := q.Ops[op]; !ok {
		return op, nil, sim.NewAPIError(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", op)
	}
	if v := vals.Get("Version"); v != q.Version {
		return op, nil, sim.NewAPIError(http.StatusBadRequest, "InvalidParameterValue", "Version %q is not supported; this service speaks %s", v, q.Version)
	}
	return op, Params(vals), nil
}

func (q *QueryService) Invoke(c sim.CallContext, op string, in any) (any, *sim.APIError) {
	return q.Ops[op](c, in.(Params))
}

func (q *QueryService) WriteResult(w http.ResponseWriter, c sim.CallContext, op string, out any) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`, op, q.XMLNS)
	enc := xml.NewEncoder(&buf)
	if out != nil {
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: op + "Result"}}); err != nil {
			q.WriteError(w, c, sim.ErrInternal("encoding %s result: %v", op, err))
			return
		}
	}
	fmt.Fprintf(&buf, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, c.RequestID, op)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (q *QueryService) WriteError(w http.ResponseWriter, c sim.CallContext, e *sim.APIError) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(ErrorXML(q.XMLNS, e, c.RequestID)))
}

// ErrorXML is the awsQuery (and Route 53) error document.
func ErrorXML(xmlns string, e *sim.APIError, reqID string) string {
	typ := "Sender"
	if e.Server {
		typ = "Receiver"
	}
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(e.Message))
	ns := ""
	if xmlns != "" {
		ns = ` xmlns="` + xmlns + `"`
	}
	return fmt.Sprintf(`<ErrorResponse%s><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		ns, typ, e.Code, msg.String(), reqID)
}

// Params are decoded awsQuery form values with typed, validating getters.
// Getters return AWS's own error for a bad value so operations can simply
// propagate it.
type Params url.Values

// Has reports whether the key is present.
func (p Params) Has(key string) bool { _, ok := p[key]; return ok }

// String returns the value ("" when absent).
func (p Params) String(key string) string { return url.Values(p).Get(key) }

// Int parses an optional integer; ok is false when absent.
func (p Params) Int(key string) (v int64, ok bool, err *sim.APIError) {
	s := p.String(key)
	if s == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil {
		return 0, true, sim.ErrInvalidParameterValue("Value %q for parameter %s is not a valid integer.", s, key)
	}
	return n, true, nil
}

// Float parses an optional number.
func (p Params) Float(key string) (v float64, ok bool, err *sim.APIError) {
	s := p.String(key)
	if s == "" {
		return 0, false, nil
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil {
		return 0, true, sim.ErrInvalidParameterValue("Value %q for parameter %s is not a valid number.", s, key)
	}
	return f, true, nil
}

// Bool parses an optional boolean.
func (p Params) Bool(key string) (v bool, ok bool, err *sim.APIError) {
	s := p.String(key)
	if s == "" {
		return false, false, nil
	}
	b, perr := strconv.ParseBool(s)
	if perr != nil {
		return false, true, sim.ErrInvalidParameterValue("Value %q for parameter %s is not a valid boolean.", s, key)
	}
	return b, true, nil
}

// Time parses an optional ISO 8601 timestamp.
func (p Params) Time(key string) (time.Time, bool, *sim.APIError) {
	s := p.String(key)
	if s == "" {
		return time.Time{}, false, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02T15:04:05.000Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, true, sim.ErrInvalidParameterValue("Value %q for parameter %s is not a valid ISO 8601 timestamp.", s, key)
}

// List returns the values of a flattened list, prefix.member.N or
// prefix.Item.N style: List("AutoScalingGroupNames.member") ->
// AutoScalingGroupNames.member.1, .2, ... in index order.
func (p Params) List(prefix string) []string {
	var out []string
	for _, i := range p.Indexes(prefix) {
		out = append(out, p.String(fmt.Sprintf("%s.%d", prefix, i)))
	}
	return out
}

// Indexes returns the sorted N of every key starting prefix.N, so nested
// structures (Filters.Filter.N.Name) can be read index by index.
func (p Params) Indexes(prefix string) []int {
	seen := map[int]bool{}
	pre := prefix + "."
	for k := range p {
		rest, ok := strings.CutPrefix(k, pre)
		if !ok {
			continue
		}
		num := rest
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			num = rest[:i]
		}
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// Filter is an RDS-style filter (Filters.Filter.N.Name / .Values.Value.M).
type Filter struct {
	Name   string
	Values []string
}

// Filters reads RDS-style filters under prefix ("Filters.Filter").
func (p Params) Filters(prefix, valuesList string) []Filter {
	var out []Filter
	for _, i := range p.Indexes(prefix) {
		base := fmt.Sprintf("%s.%d", prefix, i)
		out = append(out, Filter{Name: p.String(base + ".Name"), Values: p.List(base + "." + valuesList)})
	}
	return out
}

// Op builds an awsQuery operation from a typed backend call: decode reads
// the form into the call's input, encode turns its output into the
// content of <OpResult> (nil encode: an empty result). The backend never
// sees the form and never builds XML.
func Op[I, O any](decode func(Params) (I, *sim.APIError), call func(sim.CallContext, I) (O, *sim.APIError), encode func(O) any) QueryOp {
	return func(c sim.CallContext, p Params) (any, *sim.APIError) {
		in, err := decode(p)
		if err != nil {
			return nil, err
		}
		out, err := call(c, in)
		if err != nil {
			return nil, err
		}
		if encode == nil {
			return nil, nil
		}
		return encode(out), nil
	}
}

// OptionalInt reads an optional integer as a pointer (nil when absent),
// for inputs that tell "not given" from zero.
func (p Params) OptionalInt(key string) (*int, *sim.APIError) {
	v, ok, err := p.Int(key)
	if err != nil || !ok {
		return nil, err
	}
	n := int(v)
	return &n, nil
}

// OptionalFloat is OptionalInt for numbers.
func (p Params) OptionalFloat(key string) (*float64, *sim.APIError) {
	v, ok, err := p.Float(key)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// OptionalBool is OptionalInt for booleans.
func (p Params) OptionalBool(key string) (*bool, *sim.APIError) {
	v, ok, err := p.Bool(key)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// OptionalTime is OptionalInt for timestamps.
func (p Params) OptionalTime(key string) (*time.Time, *sim.APIError) {
	v, ok, err := p.Time(key)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// OptionalList reads a list that may be given empty: nil when the
// parameter is absent, an empty (non-nil) slice when it is sent as an
// empty list (awsQuery sends "Prefix=" for that).
func (p Params) OptionalList(prefix, member string) []string {
	list := p.List(prefix + "." + member)
	if list == nil && p.Has(prefix) {
		return []string{}
	}
	return list
}
