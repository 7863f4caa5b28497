// Package wire is the emulator's HTTP layer: it decodes requests in each
// AWS protocol (awsQuery, Smithy RPC v2 CBOR, REST-XML), calls the backend
// (package sim) and encodes results and errors the way the real services
// do. Behaviour lives in the backend; this package only translates.
package wire

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Protocol is one service's wire format.
type Protocol interface {
	// Decode reads the operation name and its input. A decode error is
	// encoded by the same protocol (WriteError), with op possibly empty.
	Decode(r *http.Request, body []byte) (op string, in any, err *sim.APIError)
	Invoke(c sim.CallContext, op string, in any) (out any, err *sim.APIError)
	WriteResult(w http.ResponseWriter, c sim.CallContext, op string, out any)
	WriteError(w http.ResponseWriter, c sim.CallContext, err *sim.APIError)
}

// MaxBodyBytes bounds a request body (AWS rejects far smaller ones for
// most operations; this only protects the emulator).
const MaxBodyBytes = 8 << 20

// Server routes AWS requests to protocols by the markers real endpoints
// use: the Smithy-Protocol header and /service/<id>/operation/<op> path for
// RPC v2 CBOR, the X-Amz-Target header for AWS JSON 1.0, the /2013-04-01/
// prefix for Route 53's REST API, and for awsQuery form posts the SigV4
// signing name (or, on an unsigned request, the form's Version, which
// names one API).
type Server struct {
	World *sim.World
	Log   *slog.Logger
	Admin http.Handler // served under /_sim/

	query        map[string]Protocol // by SigV4 signing name
	queryVersion map[string]Protocol // by API version, for unsigned requests
	cbor         map[string]Protocol // by Smithy service id in the path
	json         map[string]Protocol // by X-Amz-Target prefix
	rest         map[string]Protocol // by path prefix
}

func NewServer(w *sim.World, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{World: w, Log: log, query: map[string]Protocol{}, queryVersion: map[string]Protocol{},
		cbor: map[string]Protocol{}, json: map[string]Protocol{}, rest: map[string]Protocol{}}
}

// HandleQuery registers an awsQuery service under its signing name
// (rds, monitoring, autoscaling, elasticloadbalancing, sts) and, when the
// protocol names it (APIVersion), its API version.
func (s *Server) HandleQuery(signingName string, p Protocol) {
	s.query[signingName] = p
	if v, ok := p.(interface{ APIVersion() string }); ok {
		s.queryVersion[v.APIVersion()] = p
	}
}

// HandleJSON registers an AWS JSON 1.0/1.1 service by its X-Amz-Target
// prefix (GraniteServiceVersion20100801 for CloudWatch).
func (s *Server) HandleJSON(targetPrefix string, p Protocol) { s.json[targetPrefix] = p }

// HandleCBOR registers an RPC v2 CBOR service by its Smithy service id
// (GraniteServiceVersion20100801 for CloudWatch).
func (s *Server) HandleCBOR(serviceID string, p Protocol) { s.cbor[serviceID] = p }

// HandleREST registers a REST service by path prefix (/2013-04-01/).
func (s *Server) HandleREST(prefix string, p Protocol) { s.rest[prefix] = p }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		if s.Admin == nil {
			http.NotFound(w, r)
			return
		}
		s.Admin.ServeHTTP(w, r)
		return
	}
	reqID := newRequestID()
	cred, credErr := ParseSigV4(r)
	c := sim.CallContext{RequestID: reqID, Region: cred.Region, Service: cred.Service, AccessKey: cred.AccessKey}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	tooLarge := err != nil || len(body) > MaxBodyBytes
	if tooLarge {
		body = nil
	}
	p, protoName := s.route(r, cred.Service, body)
	if p == nil {
		// AWS checks authentication before it looks for an operation.
		if credErr != nil {
			writeGenericError(w, reqID, credErr)
			return
		}
		writeGenericError(w, reqID, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException",
			"aurora_sim serves no service for %s %s (signing name %q)", r.Method, r.URL.Path, cred.Service))
		return
	}
	if tooLarge {
		p.WriteError(w, c, sim.NewAPIError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body unreadable or over %d bytes", MaxBodyBytes))
		return
	}
	op, in, derr := p.Decode(r, body)
	c.Operation = op
	if credErr != nil {
		s.finish(w, p, c, credErr)
		return
	}
	c.Account = s.World.AccountForKey(cred.AccessKey)
	delay, ferr := s.World.Faults.ForCall(c, s.World.Clock().Now())
	if delay > 0 {
		if !sleepCtx(r.Context(), delay) {
			return
		}
	}
	if ferr != nil {
		s.finish(w, p, c, ferr)
		return
	}
	if derr != nil {
		s.finish(w, p, c, derr)
		return
	}
	out, aerr := p.Invoke(c, op, in)
	if aerr != nil {
		s.finish(w, p, c, aerr)
		return
	}
	s.World.Calls.Add(callKey(c, sim.OutcomeSuccess))
	p.WriteResult(w, c, op, out)
	s.Log.Debug("aws call", "protocol", protoName, "service", c.Service, "op", op, "account", c.Account, "region", c.Region)
}

func (s *Server) finish(w http.ResponseWriter, p Protocol, c sim.CallContext, err *sim.APIError) {
	outcome := sim.OutcomeError
	switch {
	case err.Code == "Throttling" || err.Code == "ThrottlingException" || err.Code == "RequestLimitExceeded":
		outcome = sim.OutcomeThrottle
	case err.Status >= 500:
		outcome = sim.OutcomeFault
	}
	s.World.Calls.Add(callKey(c, outcome))
	s.Log.Debug("aws call failed", "service", c.Service, "op", c.Operation, "code", err.Code, "message", err.Message)
	p.WriteError(w, c, err)
}

func (s *Server) route(r *http.Request, signingName string, body []byte) (Protocol, string) {
	if strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor") {
		// /service/<ServiceId>/operation/<Operation>
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(parts) == 4 && parts[0] == "service" && parts[2] == "operation" {
			if p := s.cbor[parts[1]]; p != nil {
				return p, "rpc-v2-cbor"
			}
		}
		return nil, ""
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, _, _ := strings.Cut(target, ".")
		if p := s.json[prefix]; p != nil {
			return p, "json"
		}
		return nil, ""
	}
	for prefix, p := range s.rest {
		if strings.HasPrefix(r.URL.Path, prefix) {
			return p, "rest-xml"
		}
	}
	if signingName != "" {
		if p := s.query[signingName]; p != nil {
			return p, "query"
		}
		return nil, ""
	}
	if p := s.queryVersion[queryVersion(r, body)]; p != nil {
		return p, "query"
	}
	return nil, ""
}

// queryVersion is the Version of an awsQuery request (form body or URL).
func queryVersion(r *http.Request, body []byte) string {
	if v := r.URL.Query().Get("Version"); v != "" {
		return v
	}
	if vals, err := url.ParseQuery(string(body)); err == nil {
		return vals.Get("Version")
	}
	return ""
}

func callKey(c sim.CallContext, outcome string) sim.CallKey {
	return sim.CallKey{Account: c.Account, Region: c.Region, Service: c.Service, Operation: c.Operation, Outcome: outcome}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func writeGenericError(w http.ResponseWriter, reqID string, e *sim.APIError) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(e.Status)
	_, _ = io.WriteString(w, ErrorXML("", e, reqID))
}
