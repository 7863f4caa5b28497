package cloudwatch

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// GetMetricStatistics limits of the real service.
const (
	MaxStatisticsDatapoints = 1440
	maxStatistics           = 5
	maxExtendedStatistics   = 10
	maxDimensions           = 30
)

// standardStatistics is the set AWS names in its error messages, in its order.
var standardStatistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

// highResolutionPeriods are the periods under a minute AWS accepts (for
// metrics stored at 1 s resolution); anything else must be a multiple of 60.
var highResolutionPeriods = map[int64]bool{1: true, 5: true, 10: true, 30: true}

// standardUnits is the StandardUnit enum of the 2010-08-01 API, in its order.
const standardUnits = "Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None"

func isStandardUnit(u string) bool {
	for _, s := range strings.Fields(standardUnits) {
		if s == u {
			return true
		}
	}
	return false
}

// GetMetricStatisticsInput is the decoded request, protocol-neutral.
type GetMetricStatisticsInput struct {
	Namespace, MetricName string
	Dimensions            []sim.Dim
	Start, End            time.Time
	Period                int64 // 0: absent
	Statistics            []string
	ExtendedStatistics    []string
	Unit                  string
}

// Datapoint carries the requested statistics of one period; a statistic
// not asked for is nil, so codecs leave it out as AWS does.
type Datapoint struct {
	Timestamp                                   time.Time
	SampleCount, Average, Sum, Minimum, Maximum *float64
	Unit                                        string
}

type GetMetricStatisticsOutput struct {
	Label      string
	Datapoints []Datapoint
}

func missingParameter(name string) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "MissingParameter", "The parameter %s is required.", name)
}

func invalidCombination(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "InvalidParameterCombination", format, args...)
}

func (in *GetMetricStatisticsInput) validate() *sim.APIError {
	switch {
	case in.Namespace == "":
		return missingParameter("Namespace")
	case in.MetricName == "":
		return missingParameter("MetricName")
	case in.Start.IsZero():
		return missingParameter("StartTime")
	case in.End.IsZero():
		return missingParameter("EndTime")
	case in.Period == 0:
		return missingParameter("Period")
	case !in.Start.Before(in.End):
		return invalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	}
	if err := checkPeriod(in.Period); err != nil {
		return err
	}
	if len(in.Dimensions) > maxDimensions {
		return invalidParameter("The collection Dimensions must not have a size greater than %d.", maxDimensions)
	}
	for i, d := range in.Dimensions {
		if d.Name == "" {
			return missingParameter(fmt.Sprintf("Dimensions.member.%d.Name", i+1))
		}
		if d.Value == "" {
			return missingParameter(fmt.Sprintf("Dimensions.member.%d.Value", i+1))
		}
	}
	if in.Unit != "" && !isStandardUnit(in.Unit) {
		return invalidParameter("The parameter Unit must be a value in the set [ %s ].", strings.Join(strings.Fields(standardUnits), ", "))
	}
	switch {
	case len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0:
		return invalidCombination("Must specify either Statistics or ExtendedStatistics, but not both.")
	case len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0:
		return invalidCombination("The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.")
	case len(in.Statistics) > maxStatistics:
		return invalidParameter("The collection Statistics must not have a size greater than %d.", maxStatistics)
	case len(in.ExtendedStatistics) > maxExtendedStatistics:
		return invalidParameter("The collection ExtendedStatistics must not have a size greater than %d.", maxExtendedStatistics)
	case len(in.ExtendedStatistics) > 0:
		return invalidParameter("aurora_sim does not model percentile or trimmed statistics (ExtendedStatistics %s); use Statistics (%s).",
			strings.Join(in.ExtendedStatistics, ", "), strings.Join(standardStatistics, ", "))
	}
	for i, s := range in.Statistics {
		if _, ok := (sim.Point{}).Stat(s); !ok {
			return invalidParameter("The parameter Statistics.member.%d must be a value in the set [ %s ].", i+1, strings.Join(standardStatistics, ", "))
		}
	}
	if n := requestedDatapoints(in.Start, in.End, in.Period); n > MaxStatisticsDatapoints {
		return invalidCombination("You have requested up to %d datapoints, which exceeds the limit of %d. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, MaxStatisticsDatapoints)
	}
	return nil
}

// checkPeriod applies AWS's period rule: 1, 5, 10 or 30 (high resolution)
// or a positive multiple of 60.
func checkPeriod(p int64) *sim.APIError {
	if p < 1 || p%60 != 0 && !highResolutionPeriods[p] {
		return invalidParameter("The parameter Period must be 1, 5, 10, 30 or a multiple of 60 (got %d).", p)
	}
	return nil
}

// requestedDatapoints is how many periods the range spans, as AWS counts
// them against the 1,440 limit.
func requestedDatapoints(start, end time.Time, period int64) int64 {
	return int64(math.Ceil(end.Sub(start).Seconds() / float64(period)))
}

// retentionAllows says whether period can return data for a start time
// that old: AWS keeps 1-minute data 15 days, 5-minute data 63 days and
// hourly data beyond; asking older data at a finer period returns none.
func retentionAllows(age time.Duration, period int64) bool {
	const day = 24 * time.Hour
	switch {
	case age > 63*day:
		return period%3600 == 0
	case age > 15*day:
		return period%300 == 0
	case age > 3*time.Hour:
		return period%60 == 0
	}
	return true
}

// GetMetricStatistics answers one metric with exactly the given
// dimensions. Datapoints come in ascending time (AWS promises no order).
// The emulator stores standard-resolution (60 s) data only, so a period
// under a minute yields one datapoint per stored minute.
func (b *backend) GetMetricStatistics(c sim.CallContext, in *GetMetricStatisticsInput) (*GetMetricStatisticsOutput, *sim.APIError) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	out := &GetMetricStatisticsOutput{Label: in.MetricName, Datapoints: []Datapoint{}}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if !retentionAllows(now.Sub(in.Start), in.Period) {
			return nil
		}
		key, ok := sim.NewSeriesKey(in.Namespace, in.MetricName, in.Dimensions)
		if !ok {
			return nil
		}
		s := r.Metrics.Lookup(key)
		if s == nil || in.Unit != "" && in.Unit != s.Unit {
			return nil // no such metric (or another unit): no datapoints, no error
		}
		period := time.Duration(in.Period) * time.Second
		res := r.Metrics.Resolution()
		if period < res {
			period = res
		}
		points := sim.Aggregate(s.Points(in.Start.Truncate(period), in.End, b.w.VisibleBefore(now), res), period)
		for _, p := range points {
			d := Datapoint{Timestamp: p.T, Unit: s.Unit}
			for _, st := range in.Statistics {
				v, _ := p.Stat(st)
				switch st {
				case "SampleCount":
					d.SampleCount = &v
				case "Average":
					d.Average = &v
				case "Sum":
					d.Sum = &v
				case "Minimum":
					d.Minimum = &v
				case "Maximum":
					d.Maximum = &v
				}
			}
			out.Datapoints = append(out.Datapoints, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.w.Calls.AddQueries(1)
	return out, nil
}
