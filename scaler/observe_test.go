package scaler

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProm answers /api/v1/query as Prometheus does (GET or POST form,
// which client_golang sends) for the queries the scaler makes: the
// exporter's data age, the firing scale-out alerts, and every demand
// signal of demandQueries, by target. Any other query is a 400, so a
// query the scaler makes and the tests do not know fails loudly.
type fakeProm struct {
	srv *httptest.Server

	mu      sync.Mutex
	age     string
	firing  map[string][]string           // target name -> alertnames
	values  map[string]map[string]float64 // target name -> signal -> value
	queries []string
}

var (
	selectorRE = regexp.MustCompile(`\{[^{}]*\}`)
	rangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	targetRE   = regexp.MustCompile(`(?:db_cluster|asg)="([^"]+)"`)
)

func normalise(q string) string {
	return rangeRE.ReplaceAllString(selectorRE.ReplaceAllString(q, "{}"), "[]")
}

// Demand of the field-avalanche world at rest for the harness's
// targets, chosen so the first scale-out of each kind is the old step 1:
// one reader at 60 % CPU needs 2, 32 ACU at 35 % needs 40, 4 instances
// at 1,500 req/min need 6.
func defaultDemand() map[string]map[string]float64 {
	asg := func() map[string]float64 {
		return map[string]float64{SigRequestsPerInstance: 1500, SigInService: 4, SigRequestsWindowMax: 4 * 1500}
	}
	return map[string]map[string]float64{
		"events-db": {SigReaderCPU: 0.6, SigReadersServing: 1, SigReaderConnections: 120, SigBusiestACU: 32, SigACUDemand: 32 * 0.35,
			SigACURatio: 1, SigReaderLoadWindowMax: 0.1, SigReaderBusyACUWindowMax: 1},
		"events-web": asg(), "events-api": asg(),
	}
}

func newFakeProm(t testing.TB, age string) *fakeProm {
	f := &fakeProm{age: age, firing: map[string][]string{}, values: defaultDemand()}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProm) URL() string { return f.srv.URL }

func (f *fakeProm) set(target, sig string, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.values[target] == nil {
		f.values[target] = map[string]float64{}
	}
	f.values[target][sig] = v
}

func (f *fakeProm) unset(target, sig string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.values[target], sig)
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	q := r.FormValue("query")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.Method+" "+q)
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	result := func(metric string, v string) {
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{%s},"value":[1764007200,"%s"]}]}}`, metric, v)
	}
	empty := func() { fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`) }
	var target string
	if m := targetRE.FindStringSubmatch(q); m != nil {
		target = m[1]
	}
	switch {
	case strings.Contains(q, "aurora_exporter_source_data_age_seconds"):
		result("", f.age)
		return
	case strings.HasPrefix(q, "ALERTS{"):
		var parts []string
		for _, n := range f.firing[target] {
			parts = append(parts, fmt.Sprintf(`{"metric":{"alertname":%q},"value":[1764007200,"1"]}`, n))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(parts, ","))
		return
	}
	for _, kind := range []string{"cluster", "asg"} {
		for sig, want := range demandQueries(Request{Kind: kind, Name: "x"}, time.Minute) {
			if normalise(q) != normalise(want) {
				continue
			}
			v, ok := f.values[target][sig]
			if !ok {
				empty()
				return
			}
			result(`"db_cluster":"`+target+`"`, formatValue(v))
			return
		}
	}
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"unexpected query %q"}`, q)
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return fmt.Sprint(v)
}

// Observe reads every signal through client_golang (POST form), names
// the target by its labels, and keeps what is missing or unusable as
// errors instead of values.
func TestObserveThroughTheHTTPAPI(t *testing.T) {
	f := newFakeProm(t, "30")
	f.unset("events-db", SigReaderConnections)
	f.set("events-db", SigBusiestACU, math.NaN())
	p := Prometheus{URL: f.URL()}
	r := Request{Kind: "cluster", Name: "events-db", Account: "123456789012", Region: "us-east-1"}
	o := p.Observe(context.Background(), r, 5*time.Minute)
	if v, err := o.Get(SigReaderCPU); err != nil || v != 0.6 {
		t.Errorf("reader cpu %g %v", v, err)
	}
	if _, err := o.Get(SigReaderConnections); err == nil || !strings.Contains(err.Error(), "no series") {
		t.Errorf("absent signal: %v", err)
	}
	if _, err := o.Get(SigBusiestACU); err == nil {
		t.Error("a NaN value was taken as demand")
	}
	for _, q := range f.queries {
		if !strings.HasPrefix(q, "POST ") {
			t.Errorf("query not sent as Prometheus's client sends it: %s", q)
		}
		if !strings.Contains(q, `db_cluster="events-db"`) || !strings.Contains(q, `account="123456789012"`) || !strings.Contains(q, `region="us-east-1"`) {
			t.Errorf("query does not select the target: %s", q)
		}
	}
	if !strings.Contains(strings.Join(f.queries, "\n"), "[300s:15s]") {
		t.Errorf("no query covers the 5m stabilisation window: %v", f.queries)
	}
	// Prometheus down: every signal unknown, none made up, and counted.
	down := Prometheus{URL: "http://127.0.0.1:1"}.Observe(context.Background(), r, time.Minute)
	if len(down.Values) != 0 || len(down.Errors) != len(demandQueries(r, time.Minute)) {
		t.Errorf("with Prometheus down: %+v", down)
	}
}

func TestObservationGetRefusesUnusableValues(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1} {
		if _, err := obs(SigReaderCPU, v).Get(SigReaderCPU); err == nil {
			t.Errorf("%g accepted", v)
		}
	}
	var none *Observation
	if _, err := none.Get(SigReaderCPU); err == nil {
		t.Error("no observation gave a value")
	}
}
