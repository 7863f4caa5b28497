// Package pi emulates Performance Insights' GetResourceMetrics (AWS JSON
// 1.1, X-Amz-Target PerformanceInsightsv20180227.GetResourceMetrics) over
// the per-second samples the world model records for instances with
// Performance Insights on (sim.MonitoringStore).
package pi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// TargetPrefix is Performance Insights' X-Amz-Target prefix.
const TargetPrefix = "PerformanceInsightsv20180227"

const (
	maxQueries    = 15
	maxResults    = 25
	awsRetention  = 7 * 24 * time.Hour
	defaultPoints = 150 // the service picks a period for roughly 100-200 points
)

var periods = []int64{1, 60, 300, 3600, 86400}

// counters maps a metric (without its statistic) to what the model
// records; engine limits counters to the engine that has them.
var counters = map[string]struct {
	c      sim.PICounter
	engine string
}{
	"db.load":                     {sim.PIDBLoad, ""},
	"db.sampledload":              {sim.PIDBLoad, ""},
	"os.cpuUtilization.total":     {sim.PICPU, ""},
	"os.loadAverageMinute.one":    {sim.PILoadOne, ""},
	"db.SQL.Queries":              {sim.PIQueries, sim.EngineMySQL},
	"db.SQL.Com_select":           {sim.PIReads, sim.EngineMySQL},
	"db.Users.Threads_connected":  {sim.PIConnections, sim.EngineMySQL},
	"db.Transactions.xact_commit": {sim.PICommits, sim.EnginePostgreSQL},
	"db.SQL.tup_fetched":          {sim.PIReads, sim.EnginePostgreSQL},
	"db.User.numbackends":         {sim.PIConnections, sim.EnginePostgreSQL},
}

// Register serves Performance Insights on the router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleJSON(TargetPrefix, &wire.JSONService{Name: "Performance Insights", Ops: map[string]wire.JSONOp{
		"GetResourceMetrics": wire.JSONOpOf(b.GetResourceMetrics),
	}})
}

type backend struct{ w *sim.World }

func invalidArgument(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "InvalidArgumentException", format, args...)
}

// EpochSeconds is a JSON 1.1 timestamp: seconds since the epoch, possibly
// fractional.
type EpochSeconds struct{ time.Time }

func (e *EpochSeconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	sec, frac := math.Modf(f)
	e.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

func (e EpochSeconds) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(e.UnixMilli())/1000, 'f', -1, 64)), nil
}

type MetricQuery struct {
	Metric  string          `json:"Metric"`
	GroupBy json.RawMessage `json:"GroupBy,omitempty"`
	Filter  json.RawMessage `json:"Filter,omitempty"`
}

type GetResourceMetricsInput struct {
	ServiceType     string        `json:"ServiceType"`
	Identifier      string        `json:"Identifier"`
	MetricQueries   []MetricQuery `json:"MetricQueries"`
	StartTime       *EpochSeconds `json:"StartTime"`
	EndTime         *EpochSeconds `json:"EndTime"`
	PeriodInSeconds *int64        `json:"PeriodInSeconds"`
	MaxResults      *int          `json:"MaxResults"`
	NextToken       string        `json:"NextToken"`
	PeriodAlignment string        `json:"PeriodAlignment"`
}

type DataPoint struct {
	Timestamp EpochSeconds `json:"Timestamp"`
	Value     *float64     `json:"Value,omitempty"`
}

type MetricKey struct {
	Metric string `json:"Metric"`
}

type MetricKeyDataPoints struct {
	Key        MetricKey   `json:"Key"`
	DataPoints []DataPoint `json:"DataPoints"`
}

type GetResourceMetricsOutput struct {
	AlignedStartTime EpochSeconds          `json:"AlignedStartTime"`
	AlignedEndTime   EpochSeconds          `json:"AlignedEndTime"`
	Identifier       string                `json:"Identifier"`
	MetricList       []MetricKeyDataPoints `json:"MetricList"`
	NextToken        string                `json:"NextToken,omitempty"`
}

type query struct {
	metric  string
	counter sim.PICounter
	engine  string
	stat    string
}

func (in *GetResourceMetricsInput) validate() ([]query, *sim.APIError) {
	switch {
	case in.ServiceType == "":
		return nil, invalidArgument("ServiceType is required.")
	case in.ServiceType != "RDS" && in.ServiceType != "DOCDB":
		return nil, invalidArgument("ServiceType must be RDS or DOCDB, not %q.", in.ServiceType)
	case in.ServiceType == "DOCDB":
		return nil, invalidArgument("aurora_sim models RDS data sources only.")
	case in.Identifier == "":
		return nil, invalidArgument("Identifier is required.")
	case in.StartTime == nil || in.EndTime == nil:
		return nil, invalidArgument("StartTime and EndTime are required.")
	case !in.StartTime.Before(in.EndTime.Time):
		return nil, invalidArgument("The value for StartTime must be earlier than the value for EndTime.")
	case len(in.MetricQueries) == 0 || len(in.MetricQueries) > maxQueries:
		return nil, invalidArgument("MetricQueries must contain between 1 and %d queries, got %d.", maxQueries, len(in.MetricQueries))
	case in.MaxResults != nil && (*in.MaxResults < 0 || *in.MaxResults > maxResults):
		return nil, invalidArgument("MaxResults must be between 0 and %d.", maxResults)
	}
	switch in.PeriodAlignment {
	case "", "END_TIME", "START_TIME":
	default:
		return nil, invalidArgument("PeriodAlignment must be END_TIME or START_TIME, not %q.", in.PeriodAlignment)
	}
	if p := in.PeriodInSeconds; p != nil {
		ok := false
		for _, v := range periods {
			ok = ok || v == *p
		}
		if !ok {
			return nil, invalidArgument("PeriodInSeconds must be one of 1, 60, 300, 3600, 86400, not %d.", *p)
		}
	}
	var qs []query
	for _, mq := range in.MetricQueries {
		if len(mq.GroupBy) > 0 || len(mq.Filter) > 0 {
			return nil, invalidArgument("aurora_sim's Performance Insights has no dimensions: GroupBy and Filter are not modelled (metric %s).", mq.Metric)
		}
		i := strings.LastIndexByte(mq.Metric, '.')
		if i < 0 {
			return nil, invalidArgument("Metric %q has no statistic (.avg, .min, .max or .sum).", mq.Metric)
		}
		name, stat := mq.Metric[:i], mq.Metric[i+1:]
		c, ok := counters[name]
		if !ok || (stat != "avg" && stat != "min" && stat != "max" && stat != "sum") {
			return nil, invalidArgument("The metric %s is not valid.", mq.Metric)
		}
		qs = append(qs, query{metric: mq.Metric, counter: c.c, engine: c.engine, stat: stat})
	}
	return qs, nil
}

func (b *backend) GetResourceMetrics(c sim.CallContext, in *GetResourceMetricsInput) (*GetResourceMetricsOutput, *sim.APIError) {
	qs, err := in.validate()
	if err != nil {
		return nil, err
	}
	offset := 0
	if in.NextToken != "" {
		v, perr := strconv.Atoi(strings.TrimPrefix(in.NextToken, "m-"))
		if perr != nil || !strings.HasPrefix(in.NextToken, "m-") || v <= 0 || v >= len(qs) {
			return nil, invalidArgument("The NextToken is invalid.")
		}
		offset = v
	}
	var out *GetResourceMetricsOutput
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if in.StartTime.Before(now.Add(-awsRetention)) {
			return invalidArgument("StartTime can't be earlier than 7 days ago.")
		}
		s := r.Monitoring.PI[in.Identifier]
		if s == nil {
			// Neither an unknown identifier nor one without Performance
			// Insights is a data source the caller may read.
			return sim.NewAPIError(http.StatusBadRequest, "NotAuthorizedException",
				"The user is not authorized to access Performance Insights data for %s, or Performance Insights is not enabled for it.", in.Identifier)
		}
		for _, q := range qs {
			if q.engine != "" && q.engine != s.Engine {
				return invalidArgument("The metric %s is not valid for engine %s.", q.metric, s.Engine)
			}
		}
		period := pickPeriod(in)
		out = aggregate(s, qs, in, period, now.Add(-b.w.P.PerformanceInsightsDelay))
		return nil
	})
	if err != nil {
		return nil, err
	}
	end := len(out.MetricList)
	if in.MaxResults != nil && *in.MaxResults > 0 && offset+*in.MaxResults < end {
		end = offset + *in.MaxResults
		out.NextToken = fmt.Sprintf("m-%d", end)
	}
	out.MetricList = out.MetricList[offset:end]
	return out, nil
}

// pickPeriod is the requested period, or the smallest that gives at most
// about 150 points, as the service chooses one.
func pickPeriod(in *GetResourceMetricsInput) time.Duration {
	if in.PeriodInSeconds != nil {
		return time.Duration(*in.PeriodInSeconds) * time.Second
	}
	span := in.EndTime.Sub(in.StartTime.Time)
	for _, p := range periods {
		if span/(time.Duration(p)*time.Second) <= defaultPoints {
			return time.Duration(p) * time.Second
		}
	}
	return 86400 * time.Second
}

// aggregate buckets the samples into periods aligned to the epoch within
// [StartTime, EndTime). A period is served once it has ended and the
// publication delay has passed (complete before visibleBefore); later
// periods are left out. A period with no sample (instance not running)
// has a datapoint without a value.
func aggregate(s *sim.PISeries, qs []query, in *GetResourceMetricsInput, period time.Duration, visibleBefore time.Time) *GetResourceMetricsOutput {
	start := in.StartTime.Truncate(period)
	end := in.EndTime.Truncate(period)
	if end.Before(in.EndTime.Time) {
		end = end.Add(period)
	}
	out := &GetResourceMetricsOutput{AlignedStartTime: EpochSeconds{start}, AlignedEndTime: EpochSeconds{end}, Identifier: s.ResourceID}
	type acc struct {
		wsum, secs, min, max float64
		n                    int
	}
	nb := int(end.Sub(start) / period)
	buckets := make([][]acc, len(qs))
	for i := range buckets {
		buckets[i] = make([]acc, nb)
	}
	lo := sort.Search(len(s.Samples), func(i int) bool { return !s.Samples[i].T.Add(-s.Samples[i].Dt).Before(start) })
	for _, smp := range s.Samples[lo:] {
		from := smp.T.Add(-smp.Dt)
		if !from.Before(end) {
			break
		}
		k := int(from.Sub(start) / period)
		sec := smp.Dt.Seconds()
		for i, q := range qs {
			v := smp.Values[q.counter]
			a := &buckets[i][k]
			if a.n == 0 || v < a.min {
				a.min = v
			}
			if a.n == 0 || v > a.max {
				a.max = v
			}
			a.n++
			a.wsum += v * sec
			a.secs += sec
		}
	}
	for i, q := range qs {
		m := MetricKeyDataPoints{Key: MetricKey{Metric: q.metric}, DataPoints: []DataPoint{}}
		for k := 0; k < nb; k++ {
			bStart := start.Add(time.Duration(k) * period)
			bEnd := bStart.Add(period)
			if bEnd.After(visibleBefore) {
				break
			}
			ts := bEnd
			if in.PeriodAlignment == "START_TIME" {
				ts = bStart
			}
			dp := DataPoint{Timestamp: EpochSeconds{ts}}
			if a := buckets[i][k]; a.n > 0 {
				var v float64
				switch q.stat {
				case "avg":
					v = a.wsum / a.secs
				case "min":
					v = a.min
				case "max":
					v = a.max
				case "sum":
					v = a.wsum
				}
				v = math.Round(v*1e6) / 1e6
				dp.Value = &v
			}
			m.DataPoints = append(m.DataPoints, dp)
		}
		out.MetricList = append(out.MetricList, m)
	}
	return out
}
