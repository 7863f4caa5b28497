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

	"github.com/google/renameio/v2"
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
	Event Event `json:"event"`
	Done  bool  `json:"done"`
	// Cancelled: deleted through the API; the record is dropped once its
	// changes are undone.
	Cancelled bool   `json:"cancelled,omitempty"`
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
	v := View{Record: r, Phase: PhaseAt(r.Event, sv.Reconciler.Leads, sv.Reconciler.Clock.Now()), Plan: Plan(r.Event, sv.Reconciler.Leads)}
	if r.Cancelled {
		v.Phase = PhaseCancelled
	}
	return v
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

// saveLocked replaces the file atomically and durably: renameio writes a
// temporary file, fsyncs it and renames it over the old one; the
// directory is fsynced after, so the rename itself survives a crash.
func (s *Store) saveLocked() error {
	data, err := json.MarshalIndent(s.listLocked(), "", "  ")
	if err != nil {
		return &StorageError{Path: s.path, Err: err}
	}
	if err := renameio.WriteFile(s.path, data, 0o600); err != nil {
		return &StorageError{Path: s.path, Err: err}
	}
	dir, err := os.Open(filepath.Dir(s.path))
	if err != nil {
		return &StorageError{Path: s.path, Err: err}
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return &StorageError{Path: s.path, Err: err}
	}
	return nil
}

// StorageError is the events file failing: the API answers 503 and
// nothing is done in AWS.
type StorageError struct {
	Path string
	Err  error
}

func (e *StorageError) Error() string { return fmt.Sprintf("events file %s: %v", e.Path, e.Err) }
func (e *StorageError) Unwrap() error { return e.Err }

// errNotFound and errExists are the API's 404 and 409.
var (
	errNotFound = errors.New("no such event")
	errExists   = errors.New("event exists")
)

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

// Service ties the store, the reconciler and the HTTP API together.
type Service struct {
	Store      *Store
	Reconciler *Reconciler
	// Limits gives a configured cluster's bounds; ok false: not a
	// cluster of the scaler's.
	Limits func(cluster string) (lim Limits, ok bool)
	Scope  func(cluster string) (account, region string)
}

// Add validates against the configured limits, reads the baseline,
// stores the event and only then schedules the ASG side in AWS: an event
// AWS acts on is always one a restart resumes (or a DELETE can undo).
func (sv *Service) Add(ctx context.Context, e Event) (View, error) {
	lim, ok := sv.Limits(e.Cluster)
	if !ok {
		return View{}, fmt.Errorf("cluster %q is not in the scaler's clusters", e.Cluster)
	}
	if err := e.Validate(sv.Reconciler.Clock.Now(), lim); err != nil {
		return View{}, err
	}
	if sv.exists(e.ID) {
		return View{}, fmt.Errorf("%w: event %s is registered; delete it first", errExists, e.ID)
	}
	if err := sv.Reconciler.Baseline(ctx, &e); err != nil {
		return View{}, err
	}
	rec := &Record{Event: e}
	sv.Store.mu.Lock()
	prev, had := sv.Store.byID[e.ID]
	if had && !prev.Done {
		sv.Store.mu.Unlock()
		return View{}, fmt.Errorf("%w: event %s is registered; delete it first", errExists, e.ID)
	}
	sv.Store.byID[e.ID] = rec
	if err := sv.Store.saveLocked(); err != nil {
		sv.Store.restoreLocked(e.ID, prev, had)
		sv.Store.mu.Unlock()
		return View{}, err
	}
	sv.Store.mu.Unlock()
	if err := sv.Reconciler.Schedule(ctx, e); err != nil {
		// Undo what part of the schedule was put, then forget the event.
		if _, uerr := sv.Reconciler.Revert(ctx, e, false); uerr != nil {
			err = errors.Join(err, fmt.Errorf("undoing the partial schedule: %w", uerr))
		}
		sv.Store.mu.Lock()
		sv.Store.restoreLocked(e.ID, prev, had)
		if serr := sv.Store.saveLocked(); serr != nil {
			err = errors.Join(err, serr)
		}
		sv.Store.mu.Unlock()
		return View{}, err
	}
	return sv.view(*rec), nil
}

func (sv *Service) exists(id string) bool {
	sv.Store.mu.Lock()
	defer sv.Store.mu.Unlock()
	r, ok := sv.Store.byID[id]
	return ok && !r.Done
}

func (s *Store) restoreLocked(id string, prev *Record, had bool) {
	if had {
		s.byID[id] = prev
	} else {
		delete(s.byID, id)
	}
}

// Cancel marks the event cancelled (stored first), then undoes what it
// did in AWS. Readers it added are removed by the reconciler's next
// tick through the safe scale-in (a drain takes minutes); the answer
// says what is reverted, what is pending and what stays.
func (sv *Service) Cancel(ctx context.Context, id string) (Undo, error) {
	sv.Store.mu.Lock()
	r, ok := sv.Store.byID[id]
	if !ok {
		sv.Store.mu.Unlock()
		return Undo{}, fmt.Errorf("%w: %s", errNotFound, id)
	}
	e := r.Event
	if !r.Cancelled {
		r.Cancelled = true
		if err := sv.Store.saveLocked(); err != nil {
			r.Cancelled = false
			sv.Store.mu.Unlock()
			return Undo{}, err
		}
	}
	sv.Store.mu.Unlock()
	u, err := sv.Reconciler.Revert(ctx, e, false)
	if err == nil && len(u.Pending) == 0 {
		err = sv.setProgress(id, true, "")
	}
	return u, err
}

// setProgress records a record's progress, writing the file only when it
// changed.
func (sv *Service) setProgress(id string, done bool, lastErr string) error {
	sv.Store.mu.Lock()
	defer sv.Store.mu.Unlock()
	r := sv.Store.byID[id]
	if r == nil || (r.Done == done && r.LastError == lastErr) {
		return nil
	}
	oldDone, oldErr := r.Done, r.LastError
	r.Done, r.LastError = done, lastErr
	// A cancellation fully undone is forgotten: nothing of it is left.
	if done && r.Cancelled {
		delete(sv.Store.byID, id)
	}
	if err := sv.Store.saveLocked(); err != nil {
		r.Done, r.LastError = oldDone, oldErr
		sv.Store.byID[id] = r
		return err
	}
	return nil
}

// ReconcileAll runs every pending plan (or cancellation) once and saves
// progress.
func (sv *Service) ReconcileAll(ctx context.Context) error {
	var errs []error
	for _, rec := range sv.Store.List() {
		if rec.Done {
			continue
		}
		var done bool
		var err error
		if rec.Cancelled {
			var u Undo
			u, err = sv.Reconciler.Revert(ctx, rec.Event, true)
			done = err == nil && len(u.Pending) == 0
		} else {
			done, err = sv.Reconciler.Reconcile(ctx, rec.Event)
		}
		lastErr := ""
		if err != nil {
			lastErr = err.Error()
			errs = append(errs, err)
		}
		if err := sv.setProgress(rec.Event.ID, done, lastErr); err != nil {
			errs = append(errs, err)
		}
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
// DELETE /api/v1/events/{id} cancels and undoes.
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
			writeJSON(w, errorStatus(err), map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, rec)
	})
	mux.HandleFunc("DELETE /api/v1/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		u, err := sv.Cancel(r.Context(), r.PathValue("id"))
		switch {
		case errors.Is(err, errNotFound) || errorStatus(err) == http.StatusServiceUnavailable:
			writeJSON(w, errorStatus(err), map[string]string{"error": err.Error()})
		case err != nil:
			// Part of the undo failed: the record stays cancelled and the
			// reconciler retries; the answer says what is done so far.
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "undo": u})
		case len(u.Pending) > 0:
			writeJSON(w, http.StatusAccepted, u)
		default:
			writeJSON(w, http.StatusOK, u)
		}
	})
	return mux
}

// errorStatus maps an API error to its status: storage 503, unknown 404,
// duplicate 409, anything else (validation, AWS refusing) 422.
func errorStatus(err error) int {
	var se *StorageError
	switch {
	case errors.As(err, &se):
		return http.StatusServiceUnavailable
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, errExists):
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
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
