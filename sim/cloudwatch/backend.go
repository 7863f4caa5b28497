// Package cloudwatch emulates the CloudWatch metrics read API
// (GetMetricData, ListMetrics) over the world's metric store, in both
// protocols real CloudWatch accepts: Smithy RPC v2 CBOR (current SDKs) and
// awsQuery (older SDKs, the AWS CLI, other exporters).
package cloudwatch

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Limits of the real service.
const (
	MaxQueries          = 500
	MaxDatapoints       = 100800
	listMetricsPageSize = 500
	recentlyActive      = 3 * time.Hour
)

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// MetricStat is a query's metric and statistic.
type MetricStat struct {
	Namespace, MetricName string
	Dimensions            []sim.Dim
	Period                int64
	Stat                  string
	Unit                  string
}

// Query is one MetricDataQuery, protocol-neutral.
type Query struct {
	ID         string
	Label      string
	ReturnData *bool
	MetricStat *MetricStat
	Expression string
}

// GetMetricDataInput is the decoded request.
type GetMetricDataInput struct {
	Queries       []Query
	Start, End    time.Time
	NextToken     string
	ScanBy        string
	MaxDatapoints int64
}

// Result is one query's data in a page.
type Result struct {
	ID, Label  string
	Timestamps []time.Time
	Values     []float64
	StatusCode string
}

type GetMetricDataOutput struct {
	Results   []Result
	NextToken string
}

type backend struct{ w *sim.World }

func validationError(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(400, "ValidationError", format, args...)
}

func invalidParameter(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(400, "InvalidParameterValue", format, args...)
}

func (in *GetMetricDataInput) validate() *sim.APIError {
	switch {
	case len(in.Queries) == 0:
		return validationError("The parameter MetricDataQueries is required and must contain at least one query.")
	case len(in.Queries) > MaxQueries:
		return validationError("The collection MetricDataQueries must not have a size greater than %d.", MaxQueries)
	case in.Start.IsZero() || in.End.IsZero():
		return validationError("The parameters StartTime and EndTime are required.")
	case !in.End.After(in.Start):
		return validationError("The parameter EndTime must be greater than StartTime.")
	}
	if in.MaxDatapoints == 0 {
		in.MaxDatapoints = MaxDatapoints
	}
	if in.MaxDatapoints < 1 || in.MaxDatapoints > MaxDatapoints {
		return invalidParameter("The parameter MaxDatapoints must be between 1 and %d.", MaxDatapoints)
	}
	switch in.ScanBy {
	case "":
		in.ScanBy = "TimestampDescending"
	case "TimestampDescending", "TimestampAscending":
	default:
		return validationError("Value '%s' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]", in.ScanBy)
	}
	seen := map[string]bool{}
	for i, q := range in.Queries {
		field := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		if !queryID.MatchString(q.ID) {
			return validationError("The value %q for parameter %s.Id is invalid: it must start with a lowercase letter and contain only letters, digits and underscores.", q.ID, field)
		}
		if seen[q.ID] {
			return validationError("The values for parameter id in MetricDataQueries are not unique.")
		}
		seen[q.ID] = true
		if q.Expression != "" {
			return invalidParameter("Query %s: aurora_sim does not evaluate metric math expressions; use MetricStat.", q.ID)
		}
		ms := q.MetricStat
		if ms == nil {
			return validationError("Query %s must have exactly one of MetricStat or Expression.", q.ID)
		}
		if ms.Namespace == "" || ms.MetricName == "" {
			return validationError("The parameters %s.MetricStat.Metric.Namespace and MetricName are required.", field)
		}
		if ms.Period < 1 || ms.Period%60 != 0 {
			return invalidParameter("The parameter %s.MetricStat.Period must be a multiple of 60 for standard-resolution metrics (got %d).", field, ms.Period)
		}
		if _, ok := (sim.Point{}).Stat(ms.Stat); !ok {
			if strings.HasPrefix(ms.Stat, "p") || strings.HasPrefix(ms.Stat, "tm") || strings.HasPrefix(ms.Stat, "PR") {
				return invalidParameter("Query %s: aurora_sim does not model percentile or trimmed statistics (%s); use Average, Sum, Minimum, Maximum or SampleCount.", q.ID, ms.Stat)
			}
			return invalidParameter("The parameter %s.MetricStat.Stat has an invalid value %q.", field, ms.Stat)
		}
	}
	return nil
}

// GetMetricData answers queries from the caller's region. Datapoints of
// all returned queries form one sequence that pages every MaxDatapoints.
func (b *backend) GetMetricData(c sim.CallContext, in *GetMetricDataInput) (*GetMetricDataOutput, *sim.APIError) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	offset := 0
	if in.NextToken != "" {
		n, ok := sim.DecodeMarker(in.NextToken)
		if !ok {
			return nil, sim.NewAPIError(400, "InvalidNextToken", "The service couldn't process the NextToken %q.", in.NextToken)
		}
		offset = n
	}
	var all []Result
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		visible := b.w.VisibleBefore(now)
		for _, q := range in.Queries {
			if q.ReturnData != nil && !*q.ReturnData {
				continue
			}
			all = append(all, b.query(r, q, in, visible))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.w.Calls.AddQueries(len(in.Queries))
	return page(all, offset, int(in.MaxDatapoints), in.NextToken == ""), nil
}

func (b *backend) query(r *sim.Region, q Query, in *GetMetricDataInput, visible time.Time) Result {
	ms := q.MetricStat
	res := Result{ID: q.ID, Label: q.Label, StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
	if res.Label == "" {
		res.Label = ms.MetricName
	}
	key, ok := sim.NewSeriesKey(ms.Namespace, ms.MetricName, ms.Dimensions)
	if !ok {
		return res
	}
	s := r.Metrics.Lookup(key)
	if s == nil || ms.Unit != "" && ms.Unit != s.Unit {
		return res // no such metric (or another unit): empty and Complete, as AWS answers
	}
	period := time.Duration(ms.Period) * time.Second
	start := in.Start.Truncate(period)
	points := sim.Aggregate(s.Points(start, in.End, visible, r.Metrics.Resolution()), period)
	if in.ScanBy == "TimestampDescending" {
		for i, j := 0, len(points)-1; i < j; i, j = i+1, j-1 {
			points[i], points[j] = points[j], points[i]
		}
	}
	for _, p := range points {
		v, _ := p.Stat(ms.Stat)
		res.Timestamps = append(res.Timestamps, p.T)
		res.Values = append(res.Values, v)
	}
	return res
}

// page cuts the datapoint sequence [offset, offset+max). The first page
// lists every query; later pages only those with datapoints in them.
func page(all []Result, offset, max int, first bool) *GetMetricDataOutput {
	out := &GetMetricDataOutput{}
	pos := 0
	end := offset + max
	for _, r := range all {
		n := len(r.Timestamps)
		lo, hi := clamp(offset-pos, 0, n), clamp(end-pos, 0, n)
		pos += n
		if hi <= lo && !(first && n == 0) {
			continue
		}
		part := Result{ID: r.ID, Label: r.Label, Timestamps: r.Timestamps[lo:hi], Values: r.Values[lo:hi], StatusCode: "Complete"}
		if hi < n {
			part.StatusCode = "PartialData"
		}
		out.Results = append(out.Results, part)
	}
	if end < pos {
		out.NextToken = sim.EncodeMarker(end)
	}
	return out
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ListMetricsInput is the decoded ListMetrics request.
type ListMetricsInput struct {
	Namespace, MetricName string
	Dimensions            []sim.Dim // Value may be empty: name-only filter
	RecentlyActive        string
	NextToken             string
}

// Metric is one listed metric.
type Metric struct {
	Namespace, MetricName string
	Dimensions            []sim.Dim
}

type ListMetricsOutput struct {
	Metrics   []Metric
	NextToken string
}

func (b *backend) ListMetrics(c sim.CallContext, in *ListMetricsInput) (*ListMetricsOutput, *sim.APIError) {
	if in.RecentlyActive != "" && in.RecentlyActive != "PT3H" {
		return nil, validationError("Value '%s' at 'recentlyActive' failed to satisfy constraint: Member must satisfy enum value set: [PT3H]", in.RecentlyActive)
	}
	if len(in.Dimensions) > 10 {
		return nil, invalidParameter("The collection Dimensions must not have a size greater than 10.")
	}
	offset := 0
	if in.NextToken != "" {
		n, ok := sim.DecodeMarker(in.NextToken)
		if !ok {
			return nil, sim.NewAPIError(400, "InvalidNextToken", "The service couldn't process the NextToken %q.", in.NextToken)
		}
		offset = n
	}
	out := &ListMetricsOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var match []*sim.Series
		for _, s := range r.Metrics.All() {
			k := s.Key
			if in.Namespace != "" && k.Namespace != in.Namespace || in.MetricName != "" && k.Name != in.MetricName || !sim.MatchDims(k, in.Dimensions) {
				continue
			}
			if in.RecentlyActive != "" && len(s.Points(now.Add(-recentlyActive), now, now, r.Metrics.Resolution())) == 0 {
				continue
			}
			match = append(match, s)
		}
		if offset > len(match) {
			return sim.NewAPIError(400, "InvalidNextToken", "The NextToken is past the end of the listing.")
		}
		end := min(offset+listMetricsPageSize, len(match))
		for _, s := range match[offset:end] {
			out.Metrics = append(out.Metrics, Metric{Namespace: s.Key.Namespace, MetricName: s.Key.Name, Dimensions: s.Key.DimList()})
		}
		if end < len(match) {
			out.NextToken = sim.EncodeMarker(end)
		}
		return nil
	})
	return out, err
}
