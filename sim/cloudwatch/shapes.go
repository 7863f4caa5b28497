package cloudwatch

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Document shapes of the 2010-08-01 API as the two document protocols
// (RPC v2 CBOR and AWS JSON 1.0) carry them: the same members, only the
// encoding differs. They convert to and from the backend's typed inputs
// and outputs; no behaviour lives here.

// epoch is a timestamp as both document protocols send it: epoch seconds,
// a number in JSON and tag 1 in CBOR, fractional only when needed.
type epoch struct{ time.Time }

func (t epoch) seconds() any {
	if t.Nanosecond() == 0 {
		return t.Unix()
	}
	return float64(t.UnixNano()) / 1e9
}

func (t epoch) MarshalJSON() ([]byte, error) {
	switch s := t.seconds().(type) {
	case int64:
		return strconv.AppendInt(nil, s, 10), nil
	default:
		return strconv.AppendFloat(nil, s.(float64), 'f', -1, 64), nil
	}
}

func (t *epoch) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return errors.New("a timestamp must be a number of epoch seconds, got " + string(b))
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

func (t epoch) MarshalCBOR() ([]byte, error) {
	return cbor.Marshal(cbor.Tag{Number: 1, Content: t.seconds()})
}

func (t *epoch) UnmarshalCBOR(b []byte) error {
	var v time.Time
	if err := cbor.Unmarshal(b, &v); err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

func epochs(ts []time.Time) []epoch {
	out := make([]epoch, len(ts))
	for i, t := range ts {
		out[i] = epoch{t}
	}
	return out
}

type docDimension struct {
	Name  string `cbor:"Name" json:"Name"`
	Value string `cbor:"Value" json:"Value"`
}

func dims(in []docDimension) []sim.Dim {
	var out []sim.Dim
	for _, d := range in {
		out = append(out, sim.Dim{Name: d.Name, Value: d.Value})
	}
	return out
}

func docDims(in []sim.Dim) []docDimension {
	out := []docDimension{}
	for _, d := range in {
		out = append(out, docDimension{Name: d.Name, Value: d.Value})
	}
	return out
}

type docMetric struct {
	Namespace  string         `cbor:"Namespace" json:"Namespace"`
	MetricName string         `cbor:"MetricName" json:"MetricName"`
	Dimensions []docDimension `cbor:"Dimensions" json:"Dimensions"`
}

type docMetricStat struct {
	Metric *docMetric `cbor:"Metric" json:"Metric"`
	Period int64      `cbor:"Period" json:"Period"`
	Stat   string     `cbor:"Stat" json:"Stat"`
	Unit   string     `cbor:"Unit" json:"Unit"`
}

type docQuery struct {
	ID         string         `cbor:"Id" json:"Id"`
	MetricStat *docMetricStat `cbor:"MetricStat" json:"MetricStat"`
	Expression string         `cbor:"Expression" json:"Expression"`
	Label      string         `cbor:"Label" json:"Label"`
	ReturnData *bool          `cbor:"ReturnData" json:"ReturnData"`
	Period     int64          `cbor:"Period" json:"Period"`
	AccountID  string         `cbor:"AccountId" json:"AccountId"`
}

type docGetMetricDataIn struct {
	Queries       []docQuery `cbor:"MetricDataQueries" json:"MetricDataQueries"`
	StartTime     epoch      `cbor:"StartTime" json:"StartTime"`
	EndTime       epoch      `cbor:"EndTime" json:"EndTime"`
	NextToken     string     `cbor:"NextToken" json:"NextToken"`
	ScanBy        string     `cbor:"ScanBy" json:"ScanBy"`
	MaxDatapoints int64      `cbor:"MaxDatapoints" json:"MaxDatapoints"`
}

func (in *docGetMetricDataIn) input() *GetMetricDataInput {
	out := &GetMetricDataInput{Start: in.StartTime.Time, End: in.EndTime.Time, NextToken: in.NextToken, ScanBy: in.ScanBy, MaxDatapoints: in.MaxDatapoints}
	for _, q := range in.Queries {
		query := Query{ID: q.ID, Label: q.Label, ReturnData: q.ReturnData, Expression: q.Expression}
		if ms := q.MetricStat; ms != nil {
			stat := &MetricStat{Period: ms.Period, Stat: ms.Stat, Unit: ms.Unit}
			if ms.Metric != nil {
				stat.Namespace, stat.MetricName, stat.Dimensions = ms.Metric.Namespace, ms.Metric.MetricName, dims(ms.Metric.Dimensions)
			}
			query.MetricStat = stat
		}
		out.Queries = append(out.Queries, query)
	}
	return out
}

type docResult struct {
	ID         string    `cbor:"Id" json:"Id"`
	Label      string    `cbor:"Label" json:"Label"`
	Timestamps []epoch   `cbor:"Timestamps" json:"Timestamps"`
	Values     []float64 `cbor:"Values" json:"Values"`
	StatusCode string    `cbor:"StatusCode" json:"StatusCode"`
}

type docGetMetricDataOut struct {
	Results   []docResult `cbor:"MetricDataResults" json:"MetricDataResults"`
	NextToken string      `cbor:"NextToken,omitempty" json:"NextToken,omitempty"`
}

func docGetMetricData(out *GetMetricDataOutput) docGetMetricDataOut {
	res := docGetMetricDataOut{Results: []docResult{}, NextToken: out.NextToken}
	for _, r := range out.Results {
		res.Results = append(res.Results, docResult{ID: r.ID, Label: r.Label, Timestamps: epochs(r.Timestamps), Values: r.Values, StatusCode: r.StatusCode})
	}
	return res
}

type docListMetricsIn struct {
	Namespace      string         `cbor:"Namespace" json:"Namespace"`
	MetricName     string         `cbor:"MetricName" json:"MetricName"`
	Dimensions     []docDimension `cbor:"Dimensions" json:"Dimensions"` // DimensionFilter: Value optional
	RecentlyActive string         `cbor:"RecentlyActive" json:"RecentlyActive"`
	NextToken      string         `cbor:"NextToken" json:"NextToken"`
}

func (in *docListMetricsIn) input() *ListMetricsInput {
	return &ListMetricsInput{Namespace: in.Namespace, MetricName: in.MetricName, Dimensions: dims(in.Dimensions), RecentlyActive: in.RecentlyActive, NextToken: in.NextToken}
}

type docListMetricsOut struct {
	Metrics   []docMetric `cbor:"Metrics" json:"Metrics"`
	NextToken string      `cbor:"NextToken,omitempty" json:"NextToken,omitempty"`
}

func docListMetrics(out *ListMetricsOutput) docListMetricsOut {
	res := docListMetricsOut{Metrics: []docMetric{}, NextToken: out.NextToken}
	for _, m := range out.Metrics {
		res.Metrics = append(res.Metrics, docMetric{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: docDims(m.Dimensions)})
	}
	return res
}

type docGetMetricStatisticsIn struct {
	Namespace          string         `cbor:"Namespace" json:"Namespace"`
	MetricName         string         `cbor:"MetricName" json:"MetricName"`
	Dimensions         []docDimension `cbor:"Dimensions" json:"Dimensions"`
	StartTime          epoch          `cbor:"StartTime" json:"StartTime"`
	EndTime            epoch          `cbor:"EndTime" json:"EndTime"`
	Period             int64          `cbor:"Period" json:"Period"`
	Statistics         []string       `cbor:"Statistics" json:"Statistics"`
	ExtendedStatistics []string       `cbor:"ExtendedStatistics" json:"ExtendedStatistics"`
	Unit               string         `cbor:"Unit" json:"Unit"`
}

func (in *docGetMetricStatisticsIn) input() *GetMetricStatisticsInput {
	return &GetMetricStatisticsInput{Namespace: in.Namespace, MetricName: in.MetricName, Dimensions: dims(in.Dimensions),
		Start: in.StartTime.Time, End: in.EndTime.Time, Period: in.Period, Statistics: in.Statistics, ExtendedStatistics: in.ExtendedStatistics, Unit: in.Unit}
}

type docDatapoint struct {
	Timestamp   epoch    `cbor:"Timestamp" json:"Timestamp"`
	SampleCount *float64 `cbor:"SampleCount,omitempty" json:"SampleCount,omitempty"`
	Average     *float64 `cbor:"Average,omitempty" json:"Average,omitempty"`
	Sum         *float64 `cbor:"Sum,omitempty" json:"Sum,omitempty"`
	Minimum     *float64 `cbor:"Minimum,omitempty" json:"Minimum,omitempty"`
	Maximum     *float64 `cbor:"Maximum,omitempty" json:"Maximum,omitempty"`
	Unit        string   `cbor:"Unit,omitempty" json:"Unit,omitempty"`
}

type docGetMetricStatisticsOut struct {
	Label      string         `cbor:"Label" json:"Label"`
	Datapoints []docDatapoint `cbor:"Datapoints" json:"Datapoints"`
}

func docGetMetricStatistics(out *GetMetricStatisticsOutput) docGetMetricStatisticsOut {
	res := docGetMetricStatisticsOut{Label: out.Label, Datapoints: []docDatapoint{}}
	for _, d := range out.Datapoints {
		res.Datapoints = append(res.Datapoints, docDatapoint{Timestamp: epoch{d.Timestamp}, SampleCount: d.SampleCount, Average: d.Average,
			Sum: d.Sum, Minimum: d.Minimum, Maximum: d.Maximum, Unit: d.Unit})
	}
	return res
}
