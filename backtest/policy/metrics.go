package policy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// metricSpec is one CloudWatch series at 1-minute period, comparable so
// it keys the fetched data.
type metricSpec struct {
	namespace, name, stat  string
	dim1, val1, dim2, val2 string
	scale                  float64 // multiplies values (seconds -> ms)
}

type point struct {
	t time.Time
	v float64
}

// maxLookback bounds one fetch: the longest alarm (60 datapoints) plus
// evalSlack.
const maxLookback = 64 * time.Minute

// evalSlack is how far beyond its N periods an alarm looks for datapoints:
// CloudWatch publishes a minute's datapoint one to two minutes after it
// ends, so the newest N datapoints are found in the last N+3 minutes.
const evalSlack = 3

func readerMetric(cluster, metric string) metricSpec {
	reader := func(name string) metricSpec {
		return metricSpec{namespace: "AWS/RDS", name: name, stat: "Average", dim1: "DBClusterIdentifier", val1: cluster, dim2: "Role", val2: "READER", scale: 1}
	}
	switch metric {
	case "reader_cpu":
		return reader("CPUUtilization")
	case "reader_connections":
		return reader("DatabaseConnections")
	case "reader_read_latency_ms":
		s := reader("ReadLatency")
		s.scale = 1000
		return s
	default: // cluster_connections (validated)
		return metricSpec{namespace: "AWS/RDS", name: "DatabaseConnections", stat: "Sum", dim1: "DBClusterIdentifier", val1: cluster, scale: 1}
	}
}

func asgMetric(asg, targetGroupDim, metric string) metricSpec {
	if metric == "cpu" {
		return metricSpec{namespace: "AWS/EC2", name: "CPUUtilization", stat: "Average", dim1: "AutoScalingGroupName", val1: asg, scale: 1}
	}
	return metricSpec{namespace: "AWS/ApplicationELB", name: "RequestCountPerTarget", stat: "Sum", dim1: "TargetGroup", val1: targetGroupDim, scale: 1}
}

func (s metricSpec) String() string {
	d := s.dim1 + "=" + s.val1
	if s.dim2 != "" {
		d += "," + s.dim2 + "=" + s.val2
	}
	return fmt.Sprintf("%s %s{%s} %s", s.namespace, s.name, d, s.stat)
}

// fetch reads every series in one GetMetricData call (paged), 1-minute
// period, ascending.
func fetch(ctx context.Context, cw *cloudwatch.Client, specs []metricSpec, now time.Time) (map[metricSpec][]point, error) {
	out := map[metricSpec][]point{}
	var uniq []metricSpec
	for _, s := range specs {
		if _, seen := out[s]; !seen {
			out[s] = nil
			uniq = append(uniq, s)
		}
	}
	for start := 0; start < len(uniq); start += 500 {
		batch := uniq[start:min(start+500, len(uniq))]
		in := &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(now.Truncate(time.Minute).Add(-maxLookback)),
			EndTime:   aws.Time(now),
			ScanBy:    cwtypes.ScanByTimestampAscending,
		}
		for i, s := range batch {
			dims := []cwtypes.Dimension{{Name: aws.String(s.dim1), Value: aws.String(s.val1)}}
			if s.dim2 != "" {
				dims = append(dims, cwtypes.Dimension{Name: aws.String(s.dim2), Value: aws.String(s.val2)})
			}
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String(fmt.Sprintf("m%d", i)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(s.namespace), MetricName: aws.String(s.name), Dimensions: dims},
					Period: aws.Int32(60), Stat: aws.String(s.stat),
				},
			})
		}
		pages := cloudwatch.NewGetMetricDataPaginator(cw, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("GetMetricData: %w", err)
			}
			for _, r := range page.MetricDataResults {
				var i int
				if _, err := fmt.Sscanf(aws.ToString(r.Id), "m%d", &i); err != nil || i >= len(batch) {
					return nil, fmt.Errorf("GetMetricData: unexpected result id %q", aws.ToString(r.Id))
				}
				s := batch[i]
				for j := range r.Timestamps {
					out[s] = append(out[s], point{t: r.Timestamps[j], v: r.Values[j] * s.scale})
				}
			}
		}
	}
	for s, pts := range out {
		sort.Slice(pts, func(i, j int) bool { return pts[i].t.Before(pts[j].t) })
		out[s] = pts
	}
	return out, nil
}

// recent returns the values of the datapoints an n-datapoint alarm
// evaluated at now considers: those of the last n+evalSlack minutes.
func recent(pts []point, n int, now time.Time) []float64 {
	from := now.Truncate(time.Minute).Add(-time.Duration(n+evalSlack) * time.Minute)
	var vs []float64
	for _, p := range pts {
		if !p.t.Before(from) {
			vs = append(vs, p.v)
		}
	}
	return vs
}
