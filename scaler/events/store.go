package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store keeps registered events in a JSON file (written atomically), so a
// restart resumes every plan; the ASG side already lives in AWS.
type Store struct {
	path string
	mu   sync.Mutex
	byID map[string]*Record
}

// Record is an event with its progress, as the store keeps it.
type Record struct {
	Event     Event  `json:"event"`
	Done      bool   `json:"done"`
	LastError string `json:"last_error,omitempty"`
}

// View is a record as the API shows it: with its plan and phase, both
// derived from the event and the clock.
type View struct {
	Record
	Phase Phase  `json:"phase"`
	Plan  []Step `json:"plan"`
}

func (sv *Service) view(r Record) View {
	return View{Record: r, Phase: PhaseAt(r.Event, sv.Reconciler.Leads, sv.Reconciler.Clock.Now()), Plan: Plan(r.Event, sv.Reconciler.Leads)}
}

// OpenStore loads path (a missing file is an empty store).
func OpenStore(path string) (*Store, error) {
	s := &Store{path: path, byID: map[string]*Record{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("events file: %w", err)
	}
	var recs []*Record
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("events file %s: %w", path, err)
	}
	for _, r := range recs {
		s.byID[r.Event.ID] = r
	}
	return s, nil
}

func (s *Store) saveLocked() error {
	recs := s.listLocked()
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".events-*.json")
	if err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("events file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

func (s *Store) listLocked() []*Record {
	out := make([]*Record, 0, len(s.byID))
	for _, r := range s.byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Event.Start.Before(out[j].Event.Start) })
	return out
}

// List returns copies of every record, by start time.
func (s *Store) List() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.listLocked() {
		out = append(out, *r)
	}
	return out
}

// Limits are a cluster's bounds from the scaler's configuration.
type Limits struct {
	MaxReaders int
	ACUCeiling float64
	ASG        func(name string) bool
}

// Service ties the store, the reconciler and the HTTP API together.
type Service struct {
	Store      *Store
	Reconciler *Reconciler
	MaxReaders func(cluster string) (int, bool) // allowed clusters and their bound
	Limits     func(cluster string) (Limits, bool)
	Scope      func(cluster string) (account, region string)
}

// Add validates, reads the baseline, schedules the ASG side and saves.
func (sv *Service) Add(ctx context.Context, e Event) (View, error) {
	lim, ok := sv.Limits(e.Cluster)
	max := lim.MaxReaders
	if !ok {
		return View{}, fmt.Errorf("cluster %q is not in the scaler's configuration", e.Cluster)
	}
	if err := e.Validate(sv.Reconciler.Clock.Now(), max); err != nil {
		return View{}, err
	}
	sv.Store.mu.Lock()
	_, exists := sv.Store.byID[e.ID]
	sv.Store.mu.Unlock()
	if exists {
		return View{}, fmt.Errorf("event %s exists; delete it first", e.ID)
	}
	if err := sv.Reconciler.Register(ctx, &e); err != nil {
		return View{}, err
	}
	rec := &Record{Event: e}
	sv.Store.mu.Lock()
	defer sv.Store.mu.Unlock()
	sv.Store.byID[e.ID] = rec
	return sv.view(*rec), sv.Store.saveLocked()
}

// Delete forgets an event. Changes already made stay (the scheduled ASG
// actions too); it is for events registered by mistake before they start.
func (sv *Service) Delete(id string) error {
	sv.Store.mu.Lock()
	defer sv.Store.mu.Unlock()
	if _, ok := sv.Store.byID[id]; !ok {
		return fmt.Errorf("no event %s", id)
	}
	delete(sv.Store.byID, id)
	return sv.Store.saveLocked()
}

// ReconcileAll runs every pending plan once and saves progress.
func (sv *Service) ReconcileAll(ctx context.Context) error {
	var errs []error
	for _, rec := range sv.Store.List() {
		if rec.Done {
			continue
		}
		done, err := sv.Reconciler.Reconcile(ctx, rec.Event)
		lastErr := ""
		if err != nil {
			lastErr = err.Error()
			errs = append(errs, err)
		}
		sv.Store.mu.Lock()
		// The file is rewritten only when progress changed, not on every
		// tick of every pending event.
		if r := sv.Store.byID[rec.Event.ID]; r != nil && (r.Done != done || r.LastError != lastErr) {
			r.Done, r.LastError = done, lastErr
			if err := sv.Store.saveLocked(); err != nil {
				errs = append(errs, err)
			}
		}
		sv.Store.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Run reconciles every interval until ctx ends, skipping ticks while
// active says no (the scaler paused or in dry run).
func (sv *Service) Run(ctx context.Context, interval time.Duration, active func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if active() {
			if err := sv.ReconcileAll(ctx); err != nil {
				sv.Reconciler.log().Error("event steps", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handler serves /api/v1/events: GET lists, POST registers (JSON Event),
// DELETE /api/v1/events/{id} forgets.
func (sv *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		var out []View
		for _, r := range sv.Store.List() {
			out = append(out, sv.view(r))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		var e Event
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "event: " + err.Error()})
			return
		}
		e.Baseline = Baseline{} // read from AWS, never taken from the caller
		rec, err := sv.Add(r.Context(), e)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, rec)
	})
	mux.HandleFunc("DELETE /api/v1/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := sv.Delete(r.PathValue("id")); err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// Path is the file the store persists to.
func (s *Store) Path() string { return s.path }

var eventStartDesc = prometheus.NewDesc("aurora_surge_event_start_timestamp_seconds",
	"Start of a registered event, per Auto Scaling group it scales (the rules' pre-event signal).",
	[]string{"account", "region", "db_cluster", "asg", "event"}, nil)

var eventDoneDesc = prometheus.NewDesc("aurora_surge_event_done",
	"1 once a registered event's capacity is back at its baseline.", []string{"db_cluster", "event"}, nil)

// Describe and Collect publish the schedule for Prometheus; Scope gives a
// cluster's account and region labels.
func (sv *Service) Describe(ch chan<- *prometheus.Desc) {
	ch <- eventStartDesc
	ch <- eventDoneDesc
}

func (sv *Service) Collect(ch chan<- prometheus.Metric) {
	for _, r := range sv.Store.List() {
		var account, region string
		if sv.Scope != nil {
			account, region = sv.Scope(r.Event.Cluster)
		}
		for g := range r.Event.ASGDesired {
			if account == "" || region == "" {
				break // a cluster no longer configured: no guessed labels
			}
			ch <- prometheus.MustNewConstMetric(eventStartDesc, prometheus.GaugeValue, float64(r.Event.Start.Unix()), account, region, r.Event.Cluster, g, r.Event.ID)
		}
		done := 0.0
		if r.Done {
			done = 1
		}
		ch <- prometheus.MustNewConstMetric(eventDoneDesc, prometheus.GaugeValue, done, r.Event.Cluster, r.Event.ID)
	}
}
