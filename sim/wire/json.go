package wire

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aurora-surge/aurora-surge/sim"
)

// JSONService is an AWS JSON 1.1 service (CloudWatch Logs, Performance
// Insights): POST / with X-Amz-Target: <prefix>.<Op>, one JSON document
// in and out, errors as {"__type": code, "message"} with the code also in
// X-Amzn-ErrorType. Each operation decodes its own input.
type JSONService struct {
	Name string // for messages: "CloudWatch Logs"
	Ops  map[string]JSONOp
}

// JSONOp decodes its input with Decode (strict: unknown fields are a
// SerializationException, as the real front ends reject them) and
// returns the output document.
type JSONOp func(c sim.CallContext, decode func(v any) *sim.APIError) (any, *sim.APIError)

type jsonCall struct {
	op   JSONOp
	body []byte
}

func (s *JSONService) Decode(r *http.Request, body []byte) (string, any, *sim.APIError) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if r.Method != http.MethodPost {
		return op, nil, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException", "%s requests must be POST, not %s", s.Name, r.Method)
	}
	fn := s.Ops[op]
	if fn == nil {
		return op, nil, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException", "aurora_sim's %s does not serve %q", s.Name, op)
	}
	return op, jsonCall{op: fn, body: body}, nil
}

func (s *JSONService) Invoke(c sim.CallContext, op string, in any) (any, *sim.APIError) {
	call := in.(jsonCall)
	return call.op(c, func(v any) *sim.APIError {
		if len(bytes.TrimSpace(call.body)) == 0 {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(call.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return sim.NewAPIError(http.StatusBadRequest, "SerializationException", "request body is not a valid %s %s input: %v", s.Name, op, err)
		}
		return nil
	})
}

func (s *JSONService) WriteResult(w http.ResponseWriter, c sim.CallContext, op string, out any) {
	body, err := json.Marshal(out)
	if err != nil {
		s.WriteError(w, c, sim.ErrInternal("encoding %s: %v", op, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *JSONService) WriteError(w http.ResponseWriter, c sim.CallContext, e *sim.APIError) {
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// JSONOpOf turns a typed backend method into a JSON operation: the body
// decodes into a new In, the method's output is encoded as it is.
func JSONOpOf[In, Out any](call func(sim.CallContext, *In) (Out, *sim.APIError)) JSONOp {
	return func(c sim.CallContext, decode func(v any) *sim.APIError) (any, *sim.APIError) {
		in := new(In)
		if err := decode(in); err != nil {
			return nil, err
		}
		return call(c, in)
	}
}
