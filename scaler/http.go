package scaler

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// The scaler's HTTP side: the webhook, the decisions list and the kill
// switch. The controller loop that works what the webhook queues is in
// controller.go.

// Handler serves /webhook and /api/v1/*.
func (s *Scaler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhook", s.serveWebhook)
	mux.HandleFunc("/api/v1/decisions", s.serveDecisions)
	mux.HandleFunc("/api/v1/pause", func(w http.ResponseWriter, r *http.Request) { s.serveSwitch(w, r, true) })
	mux.HandleFunc("/api/v1/resume", func(w http.ResponseWriter, r *http.Request) { s.serveSwitch(w, r, false) })
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="aurora_scaler"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"status": "error", "error": "missing or wrong bearer token"})
}

func (s *Scaler) fail(w http.ResponseWriter, code int, outcome, msg string) {
	s.m.webhooks.WithLabelValues(outcome).Inc()
	s.log.Warn("webhook refused", "outcome", outcome, "status", code, "err", msg)
	writeJSON(w, code, map[string]string{"status": "error", "error": msg})
}

// RequireAuth guards a handler that changes state with the webhook's
// bearer token; reads (GET) pass.
func (s *Scaler) RequireAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && !s.authorized(r) {
			writeUnauthorized(w)
			return
		}
		if r.Method != http.MethodGet && s.Paused() {
			writeJSON(w, http.StatusConflict, map[string]string{"status": "error", "error": "paused: POST /api/v1/resume first"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized checks the bearer token in constant time; hashing first
// keeps the comparison's duration independent of the token's length.
func (s *Scaler) authorized(r *http.Request) bool {
	if s.token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (s *Scaler) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="aurora_scaler"`)
		s.fail(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
		return
	}
	received := s.clock.Now()
	msg, err := DecodeWebhook(http.MaxBytesReader(w, r.Body, MaxWebhookBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.Is(err, ErrTooLarge) || errors.As(err, &mbe) {
			s.fail(w, http.StatusRequestEntityTooLarge, "too_large", ErrTooLarge.Error())
			return
		}
		s.fail(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	if msg.TruncatedAlerts > 0 {
		s.m.degraded.Inc()
		s.log.Warn("degraded notification: Alertmanager truncated alerts (raise max_alerts or split the route)",
			"group_key", msg.GroupKey, "truncated_alerts", msg.TruncatedAlerts, "received_alerts", len(msg.Alerts))
	}
	var reqs []Request
	var routeErrs []string
	for _, a := range msg.Alerts {
		req, ok, err := Route(s.cfg, a)
		if err != nil {
			routeErrs = append(routeErrs, err.Error())
			continue
		}
		if ok {
			reqs = append(reqs, req)
		}
	}
	if len(routeErrs) > 0 {
		// Refuse the whole notification: acting on part of a group whose
		// other alerts name the wrong target hides a routing mistake.
		s.fail(w, http.StatusUnprocessableEntity, "unknown_target", strings.Join(routeErrs, "; "))
		return
	}
	if len(reqs) == 0 {
		s.m.webhooks.WithLabelValues("ignored").Inc()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "reason": "no alert asks for an action"})
		return
	}
	fresh, full := s.enqueue(reqs, received)
	if full {
		s.fail(w, http.StatusServiceUnavailable, "queue_full", "queue full: retry later")
		return
	}
	if len(fresh) == 0 {
		s.m.webhooks.WithLabelValues("duplicate").Inc()
		writeJSON(w, http.StatusOK, map[string]any{"status": "duplicate", "alerts": len(reqs)})
		return
	}
	s.m.webhooks.WithLabelValues("accepted").Inc()
	writeJSON(w, http.StatusOK, map[string]any{"status": "queued", "alerts": len(fresh), "duplicates": len(reqs) - len(fresh)})
}

func (s *Scaler) serveDecisions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"status": "error", "error": "use GET"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"paused": s.Paused(), "dry_run": s.dryRun, "decisions": s.Decisions()})
}

func (s *Scaler) serveSwitch(w http.ResponseWriter, r *http.Request, pause bool) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"status": "error", "error": "use POST"})
		return
	}
	if !s.authorized(r) {
		writeUnauthorized(w)
		return
	}
	s.SetPaused(pause)
	s.log.Warn("kill switch", "paused", pause, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]bool{"paused": pause})
}
