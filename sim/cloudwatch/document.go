package cloudwatch

import (
	"net/http"

	"github.com/aurora-surge/aurora-surge/sim"
)

// documentProtocol is what RPC v2 CBOR and AWS JSON 1.0 share: an
// operation name from the request's marker, one document in, one out, and
// the query-compatible error (the awsQuery code in x-amzn-query-error).
// A codec only says how a document is encoded and where the name is.
type documentProtocol struct {
	b     *backend
	codec documentCodec
}

type documentCodec interface {
	// operation reads the operation name from the request.
	operation(r *http.Request) string
	unmarshal(body []byte, v any) error
	marshal(v any) ([]byte, error)
	// headers sets the content type and protocol headers of a response.
	headers(w http.ResponseWriter)
	name() string
}

func (p *documentProtocol) Decode(r *http.Request, body []byte) (string, any, *sim.APIError) {
	op := p.codec.operation(r)
	if r.Method != http.MethodPost {
		return op, nil, sim.NewAPIError(http.StatusMethodNotAllowed, "UnknownOperationException", "%s requests must be POST, not %s", p.codec.name(), r.Method)
	}
	// decode fills the wire shape, then converts it to the backend input.
	decode := func(shape any, input func() any) (any, *sim.APIError) {
		if len(body) > 0 {
			if err := p.codec.unmarshal(body, shape); err != nil {
				return nil, sim.NewAPIError(http.StatusBadRequest, "SerializationException", "request body is not a valid %s %s input: %v", p.codec.name(), op, err)
			}
		}
		return input(), nil
	}
	var in any
	var err *sim.APIError
	switch op {
	case "GetMetricData":
		s := &docGetMetricDataIn{}
		in, err = decode(s, func() any { return s.input() })
	case "ListMetrics":
		s := &docListMetricsIn{}
		in, err = decode(s, func() any { return s.input() })
	case "GetMetricStatistics":
		s := &docGetMetricStatisticsIn{}
		in, err = decode(s, func() any { return s.input() })
	default:
		return op, nil, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException", "aurora_sim's CloudWatch serves GetMetricData, GetMetricStatistics and ListMetrics, not %q", op)
	}
	return op, in, err
}

func (p *documentProtocol) Invoke(c sim.CallContext, op string, in any) (any, *sim.APIError) {
	switch op {
	case "GetMetricData":
		out, err := p.b.GetMetricData(c, in.(*GetMetricDataInput))
		if err != nil {
			return nil, err
		}
		return docGetMetricData(out), nil
	case "ListMetrics":
		out, err := p.b.ListMetrics(c, in.(*ListMetricsInput))
		if err != nil {
			return nil, err
		}
		return docListMetrics(out), nil
	case "GetMetricStatistics":
		out, err := p.b.GetMetricStatistics(c, in.(*GetMetricStatisticsInput))
		if err != nil {
			return nil, err
		}
		return docGetMetricStatistics(out), nil
	}
	return nil, sim.ErrInternal("unrouted operation %s", op)
}

func (p *documentProtocol) WriteResult(w http.ResponseWriter, c sim.CallContext, op string, out any) {
	body, err := p.codec.marshal(out)
	if err != nil {
		p.WriteError(w, c, sim.ErrInternal("encoding %s: %v", op, err))
		return
	}
	p.codec.headers(w)
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (p *documentProtocol) WriteError(w http.ResponseWriter, c sim.CallContext, e *sim.APIError) {
	fault := "Sender"
	if e.Server {
		fault = "Receiver"
	}
	body, _ := p.codec.marshal(map[string]string{"__type": errorType(e.Code), "message": e.Message})
	p.codec.headers(w)
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// errorType is the __type of an error document: the Smithy shape that
// models the awsQuery code (InvalidParameterValue is modelled as
// InvalidParameterValueException), or the front end's own shape for
// authentication and protocol errors. Clients take the code itself from
// X-Amzn-Query-Error.
func errorType(code string) string {
	switch code {
	case "InvalidParameterValue", "InvalidParameterCombination":
		return "com.amazonaws.cloudwatch#" + code + "Exception"
	case "MissingParameter":
		return "com.amazonaws.cloudwatch#MissingRequiredParameterException"
	case "InternalServiceError":
		return "com.amazonaws.cloudwatch#InternalServiceFault"
	case "MissingAuthenticationToken", "IncompleteSignature", "InvalidSignature":
		return "com.amazon.coral.service#" + code + "Exception"
	case "UnknownOperationException", "SerializationException", "ThrottlingException":
		return "com.amazon.coral.service#" + code
	}
	return "com.amazonaws.cloudwatch#" + code
}
