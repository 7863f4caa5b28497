// Package admin is the emulator's control and ground-truth API, served
// under /_sim/ on the AWS listener: what tests, benchmarks and the demo use
// to see the true state, inject faults, move the virtual clock and play
// unscripted traffic.
package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Handler serves the admin API for one world.
type Handler struct {
	World *sim.World
	mux   *http.ServeMux
}

func New(w *sim.World) *Handler {
	h := &Handler{World: w, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /_sim/truth", h.truth)
	h.mux.HandleFunc("GET /_sim/calls", h.calls)
	h.mux.HandleFunc("DELETE /_sim/calls", h.resetCalls)
	h.mux.HandleFunc("GET /_sim/faults", h.listFaults)
	h.mux.HandleFunc("POST /_sim/faults", h.addFault)
	h.mux.HandleFunc("DELETE /_sim/faults", h.clearFaults)
	h.mux.HandleFunc("DELETE /_sim/faults/{id}", h.removeFault)
	h.mux.HandleFunc("GET /_sim/clock", h.clock)
	h.mux.HandleFunc("POST /_sim/clock/advance", h.advance)
	h.mux.HandleFunc("POST /_sim/traffic", h.traffic)
	h.mux.HandleFunc("GET /_sim/dns", h.dns)
	h.mux.HandleFunc("GET /_sim/", h.index)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"scenario": h.World.Scenario().Name,
		"endpoints": []string{
			"GET /_sim/truth", "GET|DELETE /_sim/calls", "GET|POST|DELETE /_sim/faults", "DELETE /_sim/faults/{id}",
			"GET /_sim/clock", "POST /_sim/clock/advance?by=10m", "POST /_sim/traffic", "GET /_sim/dns?name=",
		},
	})
}

func (h *Handler) truth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.World.Truth())
}

// CallsReport is the /_sim/calls document.
type CallsReport struct {
	Calls                []sim.CallCount `json:"calls"`
	GetMetricDataQueries int             `json:"get_metric_data_queries"`
}

func (h *Handler) calls(w http.ResponseWriter, r *http.Request) {
	calls, queries := h.World.Calls.Snapshot()
	writeJSON(w, http.StatusOK, CallsReport{Calls: calls, GetMetricDataQueries: queries})
}

func (h *Handler) resetCalls(w http.ResponseWriter, r *http.Request) {
	h.World.Calls.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) listFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.World.Faults.List())
}

// FaultRequest is a fault plus how long it lasts (Go duration string;
// empty: until removed).
type FaultRequest struct {
	sim.Fault
	Duration string `json:"duration"`
}

func (h *Handler) addFault(w http.ResponseWriter, r *http.Request) {
	var req FaultRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "fault: %v", err)
		return
	}
	var d time.Duration
	if req.Duration != "" {
		var err error
		if d, err = time.ParseDuration(req.Duration); err != nil || d < 0 {
			writeErr(w, http.StatusBadRequest, "fault duration %q: not a positive Go duration", req.Duration)
			return
		}
	}
	id, err := h.World.InjectFault(req.Fault, d)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (h *Handler) clearFaults(w http.ResponseWriter, r *http.Request) {
	h.World.Faults.Remove("")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) removeFault(w http.ResponseWriter, r *http.Request) {
	if !h.World.Faults.Remove(r.PathValue("id")) {
		writeErr(w, http.StatusNotFound, "no fault %q", r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) clock(w http.ResponseWriter, r *http.Request) {
	_, virtual := h.World.Clock().(*sim.VirtualClock)
	writeJSON(w, http.StatusOK, map[string]any{"now": h.World.Now(), "virtual": virtual, "start": h.World.Start()})
}

func (h *Handler) advance(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("by"))
	if err != nil || d <= 0 || d > 48*time.Hour {
		writeErr(w, http.StatusBadRequest, "by=%q: want a positive Go duration up to 48h", r.URL.Query().Get("by"))
		return
	}
	if err := h.World.Advance(d); err != nil {
		writeErr(w, http.StatusConflict, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": h.World.Now()})
}

// TrafficRequest sets a cluster's users now; Users null restores the
// scenario's curve.
type TrafficRequest struct {
	Cluster string   `json:"cluster"`
	Users   *float64 `json:"users"`
}

func (h *Handler) traffic(w http.ResponseWriter, r *http.Request) {
	var req TrafficRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "traffic: %v", err)
		return
	}
	if req.Users != nil && *req.Users < 0 {
		writeErr(w, http.StatusBadRequest, "users must be >= 0")
		return
	}
	if !h.World.SetUsers(req.Cluster, req.Users) {
		writeErr(w, http.StatusNotFound, "no cluster %q", req.Cluster)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) dns(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" {
		writeErr(w, http.StatusBadRequest, "name is required")
		return
	}
	recs, known := h.World.Resolve(name)
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "known": known, "answers": recs})
}
