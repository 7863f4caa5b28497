package cloudwatch

import (
	"fmt"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// awsQuery shapes (monitoring 2010-08-01): lists are <member> elements.

type xmlDimension struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type xmlResult struct {
	ID         string      `xml:"Id"`
	Label      string      `xml:"Label"`
	Timestamps []time.Time `xml:"Timestamps>member"`
	Values     []float64   `xml:"Values>member"`
	StatusCode string      `xml:"StatusCode"`
}

type xmlGetMetricDataResult struct {
	Results   []xmlResult `xml:"MetricDataResults>member"`
	NextToken string      `xml:"NextToken,omitempty"`
}

type xmlMetric struct {
	Namespace  string         `xml:"Namespace"`
	MetricName string         `xml:"MetricName"`
	Dimensions []xmlDimension `xml:"Dimensions>member"`
}

type xmlListMetricsResult struct {
	Metrics   []xmlMetric `xml:"Metrics>member"`
	NextToken string      `xml:"NextToken,omitempty"`
}

func queryGetMetricData(b *backend) wire.QueryOp {
	return func(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
		in := &GetMetricDataInput{NextToken: p.String("NextToken"), ScanBy: p.String("ScanBy")}
		var err *sim.APIError
		if in.Start, _, err = p.Time("StartTime"); err != nil {
			return nil, err
		}
		if in.End, _, err = p.Time("EndTime"); err != nil {
			return nil, err
		}
		if in.MaxDatapoints, _, err = p.Int("MaxDatapoints"); err != nil {
			return nil, err
		}
		for _, i := range p.Indexes("MetricDataQueries.member") {
			base := fmt.Sprintf("MetricDataQueries.member.%d", i)
			q := Query{ID: p.String(base + ".Id"), Label: p.String(base + ".Label"), Expression: p.String(base + ".Expression")}
			if q.ReturnData, err = p.OptionalBool(base + ".ReturnData"); err != nil {
				return nil, err
			}
			if p.Has(base+".MetricStat.Metric.MetricName") || p.Has(base+".MetricStat.Stat") {
				ms := &MetricStat{
					Namespace: p.String(base + ".MetricStat.Metric.Namespace"), MetricName: p.String(base + ".MetricStat.Metric.MetricName"),
					Stat: p.String(base + ".MetricStat.Stat"), Unit: p.String(base + ".MetricStat.Unit"),
				}
				if ms.Period, _, err = p.Int(base + ".MetricStat.Period"); err != nil {
					return nil, err
				}
				for _, j := range p.Indexes(base + ".MetricStat.Metric.Dimensions.member") {
					d := fmt.Sprintf("%s.MetricStat.Metric.Dimensions.member.%d", base, j)
					ms.Dimensions = append(ms.Dimensions, sim.Dim{Name: p.String(d + ".Name"), Value: p.String(d + ".Value")})
				}
				q.MetricStat = ms
			}
			in.Queries = append(in.Queries, q)
		}
		out, err := b.GetMetricData(c, in)
		if err != nil {
			return nil, err
		}
		res := xmlGetMetricDataResult{NextToken: out.NextToken}
		for _, r := range out.Results {
			res.Results = append(res.Results, xmlResult{ID: r.ID, Label: r.Label, Timestamps: r.Timestamps, Values: r.Values, StatusCode: r.StatusCode})
		}
		return res, nil
	}
}

func queryListMetrics(b *backend) wire.QueryOp {
	return func(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
		in := &ListMetricsInput{Namespace: p.String("Namespace"), MetricName: p.String("MetricName"),
			RecentlyActive: p.String("RecentlyActive"), NextToken: p.String("NextToken")}
		for _, j := range p.Indexes("Dimensions.member") {
			d := fmt.Sprintf("Dimensions.member.%d", j)
			in.Dimensions = append(in.Dimensions, sim.Dim{Name: p.String(d + ".Name"), Value: p.String(d + ".Value")})
		}
		out, err := b.ListMetrics(c, in)
		if err != nil {
			return nil, err
		}
		res := xmlListMetricsResult{NextToken: out.NextToken}
		for _, m := range out.Metrics {
			xm := xmlMetric{Namespace: m.Namespace, MetricName: m.MetricName}
			for _, d := range m.Dimensions {
				xm.Dimensions = append(xm.Dimensions, xmlDimension{Name: d.Name, Value: d.Value})
			}
			res.Metrics = append(res.Metrics, xm)
		}
		return res, nil
	}
}

type xmlDatapoint struct {
	Timestamp   time.Time `xml:"Timestamp"`
	SampleCount *float64  `xml:"SampleCount,omitempty"`
	Average     *float64  `xml:"Average,omitempty"`
	Sum         *float64  `xml:"Sum,omitempty"`
	Minimum     *float64  `xml:"Minimum,omitempty"`
	Maximum     *float64  `xml:"Maximum,omitempty"`
	Unit        string    `xml:"Unit,omitempty"`
}

type xmlGetMetricStatisticsResult struct {
	Label      string         `xml:"Label"`
	Datapoints []xmlDatapoint `xml:"Datapoints>member"`
}

func queryGetMetricStatistics(b *backend) wire.QueryOp {
	return func(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
		in := &GetMetricStatisticsInput{Namespace: p.String("Namespace"), MetricName: p.String("MetricName"), Unit: p.String("Unit"),
			Statistics: p.List("Statistics.member"), ExtendedStatistics: p.List("ExtendedStatistics.member")}
		var err *sim.APIError
		if in.Start, _, err = p.Time("StartTime"); err != nil {
			return nil, err
		}
		if in.End, _, err = p.Time("EndTime"); err != nil {
			return nil, err
		}
		if in.Period, _, err = p.Int("Period"); err != nil {
			return nil, err
		}
		for _, j := range p.Indexes("Dimensions.member") {
			d := fmt.Sprintf("Dimensions.member.%d", j)
			in.Dimensions = append(in.Dimensions, sim.Dim{Name: p.String(d + ".Name"), Value: p.String(d + ".Value")})
		}
		out, err := b.GetMetricStatistics(c, in)
		if err != nil {
			return nil, err
		}
		res := xmlGetMetricStatisticsResult{Label: out.Label}
		for _, d := range out.Datapoints {
			res.Datapoints = append(res.Datapoints, xmlDatapoint{Timestamp: d.Timestamp, SampleCount: d.SampleCount, Average: d.Average,
				Sum: d.Sum, Minimum: d.Minimum, Maximum: d.Maximum, Unit: d.Unit})
		}
		return res, nil
	}
}
