// Package logs emulates the CloudWatch Logs read API (DescribeLogStreams,
// GetLogEvents, FilterLogEvents) over AWS JSON 1.1, for the log group
// RDS writes Enhanced Monitoring into (RDSOSMetrics, one stream per
// instance named by its DbiResourceId). The documents come from the
// world model (sim.MonitoringStore); this package only serves them with
// the service's ordering, pagination, limits and errors.
package logs

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// TargetPrefix is CloudWatch Logs' X-Amz-Target prefix.
const TargetPrefix = "Logs_20140328"

// Limits of the real service.
const (
	maxStreamsPage      = 50
	maxEventsPage       = 10000
	maxFilterStreamName = 100
)

// Register serves CloudWatch Logs on the router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleJSON(TargetPrefix, &wire.JSONService{Name: "CloudWatch Logs", Ops: map[string]wire.JSONOp{
		"DescribeLogStreams": wire.JSONOpOf(b.DescribeLogStreams),
		"GetLogEvents":       wire.JSONOpOf(b.GetLogEvents),
		"FilterLogEvents":    wire.JSONOpOf(b.FilterLogEvents),
	}})
}

type backend struct{ w *sim.World }

func invalidParameter(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func notFound(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(http.StatusBadRequest, "ResourceNotFoundException", format, args...)
}

// DescribeLogStreamsInput and the other shapes carry the JSON member
// names of the service model.
type DescribeLogStreamsInput struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          *bool  `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               *int   `json:"limit"`
}

type LogStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	ARN                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type DescribeLogStreamsOutput struct {
	LogStreams []LogStream `json:"logStreams"`
	NextToken  string      `json:"nextToken,omitempty"`
}

type GetLogEventsInput struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              *int   `json:"limit"`
	StartFromHead      *bool  `json:"startFromHead"`
	Unmask             *bool  `json:"unmask"`
}

type OutputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type GetLogEventsOutput struct {
	Events            []OutputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

type FilterLogEventsInput struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               *int     `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	StartFromHead       *bool    `json:"startFromHead"`
	Unmask              *bool    `json:"unmask"`
}

type FilteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type FilterLogEventsOutput struct {
	Events    []FilteredLogEvent `json:"events"`
	NextToken string             `json:"nextToken,omitempty"`
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// group resolves the log group a request names (by name or ARN); the only
// group aurora_sim has is RDSOSMetrics, which exists once an instance of
// the region has Enhanced Monitoring on (RDS creates it then).
func group(r *sim.Region, name, identifier string) *sim.APIError {
	switch {
	case name != "" && identifier != "":
		return invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name == "" && identifier == "":
		return invalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
	}
	if identifier != "" {
		name = identifier
		if strings.HasPrefix(identifier, "arn:") {
			name = strings.TrimSuffix(strings.TrimPrefix(identifier, r.ARN("logs", "log-group:")), ":*")
		}
	}
	if name != sim.EnhancedMonitoringLogGroup {
		return notFound("The specified log group does not exist.")
	}
	if len(r.Monitoring.OS) > 0 {
		return nil
	}
	for _, in := range r.Instances {
		if in.MonitoringInterval > 0 {
			return nil
		}
	}
	return notFound("The specified log group does not exist.")
}

// visible returns a stream's documents delivered by now.
func visible(s *sim.OSStream, now time.Time) []sim.OSDocument {
	n := sort.Search(len(s.Docs), func(i int) bool { return s.Docs[i].Ingested.After(now) })
	return s.Docs[:n]
}

func limit(v *int, max int) (int, *sim.APIError) {
	if v == nil {
		return max, nil
	}
	if *v < 1 || *v > max {
		return 0, invalidParameter("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *v, max)
	}
	return *v, nil
}

func (b *backend) DescribeLogStreams(c sim.CallContext, in *DescribeLogStreamsInput) (*DescribeLogStreamsOutput, *sim.APIError) {
	n, err := limit(in.Limit, maxStreamsPage)
	if err != nil {
		return nil, err
	}
	order := in.OrderBy
	switch order {
	case "", "LogStreamName":
		order = "LogStreamName"
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, invalidParameter("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", order)
	}
	offset := 0
	if in.NextToken != "" {
		v, perr := strconv.Atoi(strings.TrimPrefix(in.NextToken, "streams/"))
		if perr != nil || !strings.HasPrefix(in.NextToken, "streams/") || v < 0 {
			return nil, invalidParameter("The specified nextToken is invalid.")
		}
		offset = v
	}
	out := &DescribeLogStreamsOutput{LogStreams: []LogStream{}}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if err := group(r, in.LogGroupName, in.LogGroupIdentifier); err != nil {
			return err
		}
		var list []LogStream
		for id, s := range r.Monitoring.OS {
			docs := visible(s, now)
			if len(docs) == 0 || !strings.HasPrefix(id, in.LogStreamNamePrefix) {
				continue
			}
			first, last := docs[0], docs[len(docs)-1]
			list = append(list, LogStream{
				LogStreamName: id, CreationTime: ms(first.Ingested), FirstEventTimestamp: ms(first.Timestamp),
				LastEventTimestamp: ms(last.Timestamp), LastIngestionTime: ms(last.Ingested),
				ARN: sim.EnhancedMonitoringARN(r, id),
			})
		}
		sort.Slice(list, func(i, j int) bool {
			if order == "LastEventTime" && list[i].LastEventTimestamp != list[j].LastEventTimestamp {
				return list[i].LastEventTimestamp < list[j].LastEventTimestamp
			}
			return list[i].LogStreamName < list[j].LogStreamName
		})
		if in.Descending != nil && *in.Descending {
			for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
				list[i], list[j] = list[j], list[i]
			}
		}
		if offset > len(list) {
			return invalidParameter("The specified nextToken is invalid.")
		}
		end := min(offset+n, len(list))
		out.LogStreams = append(out.LogStreams, list[offset:end]...)
		if end < len(list) {
			out.NextToken = fmt.Sprintf("streams/%d", end)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Tokens of GetLogEvents name a position between events by timestamp
// (one document per stream per second at most): f/<ms> reads after it,
// b/<ms> before it, as the service's 56-digit tokens do.
func token(dir byte, t int64) string { return fmt.Sprintf("%c/%056d", dir, t) }

func parseToken(s string) (dir byte, t int64, ok bool) {
	if len(s) < 3 || (s[0] != 'f' && s[0] != 'b') || s[1] != '/' {
		return 0, 0, false
	}
	v, err := strconv.ParseInt(s[2:], 10, 64)
	return s[0], v, err == nil
}

func window(start, end *int64) (lo, hi int64, err *sim.APIError) {
	lo, hi = 0, 1<<62
	if start != nil {
		lo = *start
	}
	if end != nil {
		hi = *end
	}
	if start != nil && end != nil && *end < *start {
		return 0, 0, invalidParameter("endTime must be greater than or equal to startTime.")
	}
	if lo < 0 || hi < 0 {
		return 0, 0, invalidParameter("startTime and endTime must be non-negative.")
	}
	return lo, hi, nil
}

func (b *backend) GetLogEvents(c sim.CallContext, in *GetLogEventsInput) (*GetLogEventsOutput, *sim.APIError) {
	if in.LogStreamName == "" {
		return nil, invalidParameter("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	n, err := limit(in.Limit, maxEventsPage)
	if err != nil {
		return nil, err
	}
	lo, hi, err := window(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	dir, pos, hasToken := byte(0), int64(0), in.NextToken != ""
	if hasToken {
		var ok bool
		if dir, pos, ok = parseToken(in.NextToken); !ok {
			return nil, invalidParameter("The specified nextToken is invalid.")
		}
	}
	out := &GetLogEventsOutput{Events: []OutputLogEvent{}}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if err := group(r, in.LogGroupName, in.LogGroupIdentifier); err != nil {
			return err
		}
		s := r.Monitoring.OS[in.LogStreamName]
		var docs []sim.OSDocument
		if s != nil {
			docs = visible(s, now)
		}
		if len(docs) == 0 {
			return notFound("The specified log stream does not exist.")
		}
		// Events in [startTime, endTime), oldest first.
		var sel []sim.OSDocument
		for _, d := range docs {
			if t := ms(d.Timestamp); t >= lo && t < hi {
				sel = append(sel, d)
			}
		}
		fromHead := in.StartFromHead != nil && *in.StartFromHead
		var page []sim.OSDocument
		switch {
		case hasToken && dir == 'f':
			i := sort.Search(len(sel), func(i int) bool { return ms(sel[i].Timestamp) > pos })
			page = sel[i:min(i+n, len(sel))]
		case hasToken && dir == 'b':
			i := sort.Search(len(sel), func(i int) bool { return ms(sel[i].Timestamp) >= pos })
			page = sel[max(0, i-n):i]
		case fromHead:
			page = sel[:min(n, len(sel))]
		default:
			page = sel[max(0, len(sel)-n):]
		}
		for _, d := range page {
			out.Events = append(out.Events, OutputLogEvent{Timestamp: ms(d.Timestamp), Message: d.Message, IngestionTime: ms(d.Ingested)})
		}
		// At the end of the stream the service hands back the token it
		// was given, which is how a reader knows it has caught up.
		switch {
		case len(page) > 0:
			out.NextForwardToken = token('f', ms(page[len(page)-1].Timestamp))
			out.NextBackwardToken = token('b', ms(page[0].Timestamp))
		case hasToken:
			out.NextForwardToken, out.NextBackwardToken = in.NextToken, in.NextToken
		default:
			out.NextForwardToken, out.NextBackwardToken = token('f', lo-1), token('b', lo)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) FilterLogEvents(c sim.CallContext, in *FilterLogEventsInput) (*FilterLogEventsOutput, *sim.APIError) {
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive.")
	}
	if len(in.LogStreamNames) > maxFilterStreamName {
		return nil, invalidParameter("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to %d", maxFilterStreamName)
	}
	if p := strings.TrimSpace(in.FilterPattern); p != "" && strings.ContainsAny(p, "{}[]$?*") {
		return nil, invalidParameter("aurora_sim's FilterLogEvents matches plain terms only (filterPattern %q)", in.FilterPattern)
	}
	n, err := limit(in.Limit, maxEventsPage)
	if err != nil {
		return nil, err
	}
	lo, hi, err := window(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	// The token is the last event returned: (timestamp, stream).
	var afterT int64 = -1
	var afterStream string
	if in.NextToken != "" {
		ts, stream, ok := strings.Cut(in.NextToken, "/")
		v, perr := strconv.ParseInt(ts, 10, 64)
		if !ok || perr != nil {
			return nil, invalidParameter("The specified nextToken is invalid.")
		}
		afterT, afterStream = v, stream
	}
	terms := strings.Fields(strings.ReplaceAll(in.FilterPattern, `"`, " "))
	out := &FilterLogEventsOutput{Events: []FilteredLogEvent{}}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if err := group(r, in.LogGroupName, in.LogGroupIdentifier); err != nil {
			return err
		}
		names := in.LogStreamNames
		if len(names) == 0 {
			for id := range r.Monitoring.OS {
				if strings.HasPrefix(id, in.LogStreamNamePrefix) {
					names = append(names, id)
				}
			}
		}
		var all []FilteredLogEvent
		for _, name := range names {
			s := r.Monitoring.OS[name]
			if s == nil {
				continue
			}
		docs:
			for _, d := range visible(s, now) {
				t := ms(d.Timestamp)
				if t < lo || t >= hi || t < afterT || (t == afterT && name <= afterStream) {
					continue
				}
				for _, term := range terms {
					if !strings.Contains(d.Message, term) {
						continue docs
					}
				}
				all = append(all, FilteredLogEvent{LogStreamName: name, Timestamp: t, Message: d.Message, IngestionTime: ms(d.Ingested),
					EventID: fmt.Sprintf("%032d%024x", t, hashName(name)%(1<<63))})
			}
		}
		sort.Slice(all, func(i, j int) bool {
			if all[i].Timestamp != all[j].Timestamp {
				return all[i].Timestamp < all[j].Timestamp
			}
			return all[i].LogStreamName < all[j].LogStreamName
		})
		if len(all) > n {
			last := all[n-1]
			out.NextToken = fmt.Sprintf("%d/%s", last.Timestamp, last.LogStreamName)
			all = all[:n]
		}
		out.Events = append(out.Events, all...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hashName is FNV-1a, a stable per-stream part of event ids.
func hashName(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}
