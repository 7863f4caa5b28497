package scaler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Signals an observation may carry, by name (the keys of
// Observation.Values, also in /api/v1/decisions).
const (
	// SigReaderCPU is the readers' average CPU (0-1), the recording rule
	// db_cluster:aurora_reader_cpu_utilization:ratio.
	SigReaderCPU = "reader_cpu"
	// SigReaderLoadWindowMax is the readers' load (average CPU x
	// available readers, in readers at 100 %) at its highest over the
	// stabilisation window: what a scale-in is computed from. The load,
	// not the CPU, so a reader removed inside the window does not make
	// the CPU measured over more readers look like spare capacity.
	SigReaderLoadWindowMax = "reader_load_window_max"
	// SigReaderBusyACUWindowMax is the readers' busy ACU (each reader's
	// ACU x its CPU, summed) at its highest over the stabilisation window:
	// the scale-in load of Serverless v2 readers, whose CPU Aurora holds
	// near its own target by moving ACU, so CPU alone does not show how
	// much load there is.
	SigReaderBusyACUWindowMax = "reader_busy_acu_window_max"
	// SigReaderConnections is the readers' average connection count.
	SigReaderConnections = "reader_connections"
	// SigBusiestACU is the ACU of the cluster's busiest instance.
	SigBusiestACU = "busiest_acu"
	// SigACUDemand is the busy ACU (ACU x CPU) of the instance that needs
	// the most: the writer, or the average reader. Readers share the
	// reads through the reader endpoint, so one reader above the others
	// is routing (a drain sends every read to one survivor for a while,
	// a client caches a DNS answer), not what every reader needs.
	SigACUDemand = "acu_demand"
	// SigACURatio is the busiest instance's ACU over the max in force
	// when that datapoint was taken (db_cluster:aurora_serverless_capacity_acu:max_ratio_of_max).
	SigACURatio = "acu_ratio_of_max"
	// SigRequestsPerInstance is an ASG's requests per instance per minute.
	SigRequestsPerInstance = "requests_per_instance_per_minute"
	// SigRequestsWindowMax is the group's requests per minute (per
	// instance x in service) at its highest over the stabilisation window.
	SigRequestsWindowMax = "requests_per_minute_window_max"
	// SigInService is an ASG's InService instance count, the lowest over
	// the signal lag window: the instances the requests per instance
	// were measured over (CloudWatch publishes them 1-2 min late, so a
	// group that just grew is not yet in them).
	SigInService = "in_service_instances"
	// SigReadersServing is the cluster's available readers, the lowest
	// over the signal lag window, for the same reason: the readers the
	// reader CPU average was measured over.
	SigReadersServing = "readers_serving"
)

// SignalLag is how far the demand signals may trail the fleet: CloudWatch
// publishes a datapoint 1-2 minutes after its period, and the exporter and
// Prometheus add a refresh and a scrape. Counts of serving capacity are
// the minimum over this window, so a load (count x per-instance signal)
// is never a new count times an old per-instance value.
const SignalLag = 3 * time.Minute

// Observation is what a decision knows of current demand: the signals
// read from Prometheus at one time, and why any is missing.
type Observation struct {
	At     time.Time          `json:"at"`
	Values map[string]float64 `json:"values,omitempty"`
	Errors map[string]string  `json:"errors,omitempty"`
}

// Get is one signal's value, or why it cannot be used: missing, NaN or
// infinite values are never demand.
func (o *Observation) Get(name string) (float64, error) {
	if o == nil {
		return 0, fmt.Errorf("%s unknown: no demand observation", name)
	}
	if e, ok := o.Errors[name]; ok {
		return 0, fmt.Errorf("%s unknown: %s", name, e)
	}
	v, ok := o.Values[name]
	if !ok {
		return 0, fmt.Errorf("%s unknown: not observed", name)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%s %g is not a usable value", name, v)
	}
	return v, nil
}

func (o *Observation) set(name string, v float64, err error) {
	if err != nil {
		if o.Errors == nil {
			o.Errors = map[string]string{}
		}
		o.Errors[name] = err.Error()
		return
	}
	if o.Values == nil {
		o.Values = map[string]float64{}
	}
	o.Values[name] = v
}

// DemandSource reads the current demand signals of a target. window is
// the stabilisation window the *_window_max signals cover.
type DemandSource interface {
	Observe(ctx context.Context, r Request, window time.Duration) *Observation
}

// DataAgeSource tells how old the exporter's data behind a signal is.
type DataAgeSource interface {
	DataAge(ctx context.Context, account, region, cluster string) (time.Duration, error)
}

// SignalSource tells which scale-out alerts are firing for a cluster.
type SignalSource interface {
	ScaleOutFiring(ctx context.Context, account, region, cluster string) ([]string, error)
}

// ASGSignalSource tells which scale-out alerts are firing for an Auto
// Scaling group.
type ASGSignalSource interface {
	ScaleOutFiringASG(ctx context.Context, account, region, asg string) ([]string, error)
}

// Prometheus reads demand, the exporter's data age and the firing
// scale-out alerts through Prometheus's HTTP API (client_golang's
// api/prometheus/v1 client). It is a DemandSource, a DataAgeSource and a
// SignalSource.
type Prometheus struct {
	URL string
	// Client, when set, is the HTTP client (its Timeout bounds a query);
	// nil: a client with a 10 s timeout.
	Client *http.Client
}

func (p Prometheus) api() (promv1.API, error) {
	c := p.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	cl, err := api.NewClient(api.Config{Address: p.URL, Client: c})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", p.URL, err)
	}
	return promv1.NewAPI(cl), nil
}

// query runs an instant query at the server's now and returns its vector.
func (p Prometheus) query(ctx context.Context, expr string) (model.Vector, error) {
	a, err := p.api()
	if err != nil {
		return nil, err
	}
	v, _, _, err := a.Query(ctx, expr, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %s: %w", expr, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prometheus: %s: %s result, want a vector", expr, v.Type())
	}
	return vec, nil
}

// scalar is the single value expr returns: no series is an error (the
// signal is absent), several are an error too (a selector that does not
// name one target).
func (p Prometheus) scalar(ctx context.Context, expr string) (float64, error) {
	vec, err := p.query(ctx, expr)
	if err != nil {
		return 0, err
	}
	switch len(vec) {
	case 0:
		return 0, errors.New("no series (absent or stale)")
	case 1:
		v := float64(vec[0].Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("value %g", v)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%d series, want 1", len(vec))
}

// selector is the target's label matchers: account, region and the
// cluster's or group's name.
func selector(r Request) string {
	name := "db_cluster"
	if r.Kind == "asg" {
		name = "asg"
	}
	m := []string{fmt.Sprintf("%s=%q", name, r.Name)}
	if r.Account != "" {
		m = append(m, fmt.Sprintf("account=%q", r.Account))
	}
	if r.Region != "" {
		m = append(m, fmt.Sprintf("region=%q", r.Region))
	}
	return "{" + strings.Join(m, ",") + "}"
}

// busyACU is the busy ACU (ACU x CPU) of the target's instances in role.
func busyACU(sel, role string) string {
	s := selWith(sel, fmt.Sprintf("role=%q", role))
	return "aurora_instance_serverless_capacity_acu" + s + " * on (account, region, db_cluster, db_instance) group_left () aurora_instance_cpu_utilization_ratio" + s
}

// selWith adds matchers to a selector.
func selWith(sel, more string) string {
	return strings.TrimSuffix(sel, "}") + "," + more + "}"
}

// promDuration is d as a PromQL duration (whole seconds, at least 1 s).
func promDuration(d time.Duration) string {
	return fmt.Sprintf("%ds", max(int64(d/time.Second), 1))
}

// demandQueries are the signals of a target and the PromQL that reads each.
func demandQueries(r Request, window time.Duration) map[string]string {
	sel, w, lag := selector(r), promDuration(window), promDuration(SignalLag)
	readersAvailable := "count by (account, region, db_cluster) (aurora_instance_info" + selWith(sel, `role="reader",status="available"`) + ")"
	if r.Kind == "asg" {
		return map[string]string{
			SigRequestsPerInstance: "asg:aurora_asg_requests_per_instance_per_minute:sum" + sel,
			SigRequestsWindowMax: "max_over_time((asg:aurora_asg_requests_per_instance_per_minute:sum" + sel +
				" * on (account, region, asg) max by (account, region, asg) (aurora_asg_in_service_instances" + sel + "))[" + w + ":15s])",
			SigInService: "min_over_time(aurora_asg_in_service_instances" + sel + "[" + lag + "])",
		}
	}
	return map[string]string{
		SigReaderCPU: "db_cluster:aurora_reader_cpu_utilization:ratio" + sel,
		SigReaderLoadWindowMax: "max_over_time((db_cluster:aurora_reader_cpu_utilization:ratio" + sel +
			" * on (account, region, db_cluster) " + readersAvailable + ")[" + w + ":15s])",
		SigReaderConnections: "db_cluster:aurora_reader_database_connections:avg" + sel,
		SigBusiestACU:        "max by (account, region, db_cluster) (aurora_instance_serverless_capacity_acu" + sel + ")",
		SigACUDemand: "max by (account, region, db_cluster) (" + busyACU(sel, "writer") +
			" or avg by (account, region, db_cluster) (" + busyACU(sel, "reader") + "))",
		SigACURatio:               "db_cluster:aurora_serverless_capacity_acu:max_ratio_of_max" + sel,
		SigReadersServing:         "min_over_time(" + readersAvailable + "[" + lag + ":15s])",
		SigReaderBusyACUWindowMax: "max_over_time((sum by (account, region, db_cluster) (" + busyACU(sel, "reader") + "))[" + w + ":15s])",
	}
}

// Observe reads every demand signal of the target; each signal that
// cannot be read is named in Errors, the others are still returned.
func (p Prometheus) Observe(ctx context.Context, r Request, window time.Duration) *Observation {
	o := &Observation{}
	qs := demandQueries(r, window)
	names := make([]string, 0, len(qs))
	for n := range qs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, err := p.scalar(ctx, qs[n])
		o.set(n, v, err)
	}
	return o
}

// ScaleOutFiring asks Prometheus for the target's firing alerts that ask
// for more capacity (any signal, not only the one that fired here).
func (p Prometheus) ScaleOutFiring(ctx context.Context, account, region, cluster string) ([]string, error) {
	return p.firing(ctx, fmt.Sprintf(`action=~"add_readers|raise_max_acu",db_cluster=%q`, cluster), account, region)
}

// ScaleOutFiringASG is ScaleOutFiring for an Auto Scaling group: its
// firing scale_asg alerts that are not scale-in alerts.
func (p Prometheus) ScaleOutFiringASG(ctx context.Context, account, region, asg string) ([]string, error) {
	return p.firing(ctx, fmt.Sprintf(`action="scale_asg",direction!="in",asg=%q`, asg), account, region)
}

// firing lists the names of the firing alerts matching the target's
// matchers, in the account and region when given.
func (p Prometheus) firing(ctx context.Context, matchers, account, region string) ([]string, error) {
	sel := `ALERTS{alertstate="firing",` + matchers
	if account != "" {
		sel += fmt.Sprintf(`,account=%q`, account)
	}
	if region != "" {
		sel += fmt.Sprintf(`,region=%q`, region)
	}
	vec, err := p.query(ctx, sel+"}")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range vec {
		names = append(names, string(s.Metric["alertname"]))
	}
	sort.Strings(names)
	return names, nil
}

// DataAge is the exporter's CloudWatch data age
// (aurora_exporter_source_data_age_seconds).
func (p Prometheus) DataAge(ctx context.Context, _, _, _ string) (time.Duration, error) {
	vec, err := p.query(ctx, `max(aurora_exporter_source_data_age_seconds{source="cloudwatch"})`)
	if err != nil {
		return 0, err
	}
	if len(vec) == 0 {
		return 0, errors.New("prometheus: no exporter data age series")
	}
	return DataAgeFromSeconds(float64(vec[0].Value))
}

// DataAgeFromSeconds converts a data age in seconds, refusing what no
// real age can be: NaN, infinities, negatives and more than
// MaxPlausibleDataAge. Converting those to a Duration overflows (+Inf
// becomes a large negative duration on amd64) and would pass as fresh.
func DataAgeFromSeconds(v float64) (time.Duration, error) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("data age %g s is not a number of seconds: treated as stale", v)
	case v < 0:
		return 0, fmt.Errorf("data age %g s is negative: treated as stale", v)
	case v > MaxPlausibleDataAge.Seconds():
		return 0, fmt.Errorf("data age %g s is more than %s: treated as stale", v, MaxPlausibleDataAge)
	}
	return time.Duration(v * float64(time.Second)), nil
}

// MaxPlausibleDataAge bounds a data age believed at all; above it the
// source is broken rather than slow.
const MaxPlausibleDataAge = 24 * time.Hour
