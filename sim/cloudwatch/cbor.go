package cloudwatch

import (
	"net/http"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/aurora-surge/aurora-surge/sim"
)

// cborProtocol is Smithy RPC v2 CBOR: POST
// /service/GraniteServiceVersion20100801/operation/<Op>, a CBOR map in and
// out, timestamps as tag 1 epoch seconds. CloudWatch is awsQuery
// compatible, so errors also carry X-Amzn-Query-Error: <code>;<fault>,
// which the SDK reports as the error code.
type cborProtocol struct {
	b   *backend
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCBORProtocol(b *backend) *cborProtocol {
	enc, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err) // static options: a failure is a programming error
	}
	dec, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, MaxNestedLevels: 32, MaxArrayElements: 65536, MaxMapPairs: 65536}.DecMode()
	if err != nil {
		panic(err)
	}
	return &cborProtocol{b: b, enc: enc, dec: dec}
}

type cborDimension struct {
	Name  string `cbor:"Name"`
	Value string `cbor:"Value"`
}

type cborMetric struct {
	Namespace  string          `cbor:"Namespace"`
	MetricName string          `cbor:"MetricName"`
	Dimensions []cborDimension `cbor:"Dimensions"`
}

type cborMetricStat struct {
	Metric *cborMetric `cbor:"Metric"`
	Period int64       `cbor:"Period"`
	Stat   string      `cbor:"Stat"`
	Unit   string      `cbor:"Unit"`
}

type cborQuery struct {
	ID         string          `cbor:"Id"`
	MetricStat *cborMetricStat `cbor:"MetricStat"`
	Expression string          `cbor:"Expression"`
	Label      string          `cbor:"Label"`
	ReturnData *bool           `cbor:"ReturnData"`
	Period     int64           `cbor:"Period"`
	AccountID  string          `cbor:"AccountId"`
}

type cborGetMetricDataIn struct {
	Queries       []cborQuery `cbor:"MetricDataQueries"`
	StartTime     time.Time   `cbor:"StartTime"`
	EndTime       time.Time   `cbor:"EndTime"`
	NextToken     string      `cbor:"NextToken"`
	ScanBy        string      `cbor:"ScanBy"`
	MaxDatapoints int64       `cbor:"MaxDatapoints"`
}

type cborResult struct {
	ID         string      `cbor:"Id"`
	Label      string      `cbor:"Label"`
	Timestamps []time.Time `cbor:"Timestamps"`
	Values     []float64   `cbor:"Values"`
	StatusCode string      `cbor:"StatusCode"`
}

type cborGetMetricDataOut struct {
	Results   []cborResult `cbor:"MetricDataResults"`
	NextToken string       `cbor:"NextToken,omitempty"`
}

type cborDimensionFilter struct {
	Name  string `cbor:"Name"`
	Value string `cbor:"Value"`
}

type cborListMetricsIn struct {
	Namespace      string                `cbor:"Namespace"`
	MetricName     string                `cbor:"MetricName"`
	Dimensions     []cborDimensionFilter `cbor:"Dimensions"`
	RecentlyActive string                `cbor:"RecentlyActive"`
	NextToken      string                `cbor:"NextToken"`
}

type cborListMetricsOut struct {
	Metrics   []cborMetric `cbor:"Metrics"`
	NextToken string       `cbor:"NextToken,omitempty"`
}

func (p *cborProtocol) Decode(r *http.Request, body []byte) (string, any, *sim.APIError) {
	op := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if r.Method != http.MethodPost {
		return op, nil, sim.NewAPIError(http.StatusMethodNotAllowed, "UnknownOperationException", "RPC v2 requests must be POST")
	}
	decode := func(v any) *sim.APIError {
		if len(body) == 0 {
			return nil
		}
		if err := p.dec.Unmarshal(body, v); err != nil {
			return sim.NewAPIError(http.StatusBadRequest, "SerializationException", "request body is not a valid CBOR %s input: %v", op, err)
		}
		return nil
	}
	switch op {
	case "GetMetricData":
		var in cborGetMetricDataIn
		if err := decode(&in); err != nil {
			return op, nil, err
		}
		return op, in.toInput(), nil
	case "ListMetrics":
		var in cborListMetricsIn
		if err := decode(&in); err != nil {
			return op, nil, err
		}
		out := &ListMetricsInput{Namespace: in.Namespace, MetricName: in.MetricName, RecentlyActive: in.RecentlyActive, NextToken: in.NextToken}
		for _, d := range in.Dimensions {
			out.Dimensions = append(out.Dimensions, sim.Dim{Name: d.Name, Value: d.Value})
		}
		return op, out, nil
	}
	return op, nil, sim.NewAPIError(http.StatusBadRequest, "UnknownOperationException", "aurora_sim's CloudWatch serves GetMetricData and ListMetrics, not %s", op)
}

func (in *cborGetMetricDataIn) toInput() *GetMetricDataInput {
	out := &GetMetricDataInput{Start: in.StartTime, End: in.EndTime, NextToken: in.NextToken, ScanBy: in.ScanBy, MaxDatapoints: in.MaxDatapoints}
	for _, q := range in.Queries {
		query := Query{ID: q.ID, Label: q.Label, ReturnData: q.ReturnData, Expression: q.Expression}
		if ms := q.MetricStat; ms != nil {
			stat := &MetricStat{Period: ms.Period, Stat: ms.Stat, Unit: ms.Unit}
			if ms.Metric != nil {
				stat.Namespace, stat.MetricName = ms.Metric.Namespace, ms.Metric.MetricName
				for _, d := range ms.Metric.Dimensions {
					stat.Dimensions = append(stat.Dimensions, sim.Dim{Name: d.Name, Value: d.Value})
				}
			}
			query.MetricStat = stat
		}
		out.Queries = append(out.Queries, query)
	}
	return out
}

func (p *cborProtocol) Invoke(c sim.CallContext, op string, in any) (any, *sim.APIError) {
	switch op {
	case "GetMetricData":
		out, err := p.b.GetMetricData(c, in.(*GetMetricDataInput))
		if err != nil {
			return nil, err
		}
		res := cborGetMetricDataOut{Results: []cborResult{}, NextToken: out.NextToken}
		for _, r := range out.Results {
			res.Results = append(res.Results, cborResult{ID: r.ID, Label: r.Label, Timestamps: r.Timestamps, Values: r.Values, StatusCode: r.StatusCode})
		}
		return res, nil
	case "ListMetrics":
		out, err := p.b.ListMetrics(c, in.(*ListMetricsInput))
		if err != nil {
			return nil, err
		}
		res := cborListMetricsOut{Metrics: []cborMetric{}, NextToken: out.NextToken}
		for _, m := range out.Metrics {
			cm := cborMetric{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: []cborDimension{}}
			for _, d := range m.Dimensions {
				cm.Dimensions = append(cm.Dimensions, cborDimension{Name: d.Name, Value: d.Value})
			}
			res.Metrics = append(res.Metrics, cm)
		}
		return res, nil
	}
	return nil, sim.ErrInternal("unrouted operation %s", op)
}

func (p *cborProtocol) WriteResult(w http.ResponseWriter, c sim.CallContext, op string, out any) {
	body, err := p.enc.Marshal(out)
	if err != nil {
		p.WriteError(w, c, sim.ErrInternal("encoding %s: %v", op, err))
		return
	}
	p.headers(w, c)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (p *cborProtocol) WriteError(w http.ResponseWriter, c sim.CallContext, e *sim.APIError) {
	fault := "Sender"
	if e.Server {
		fault = "Receiver"
	}
	body, _ := p.enc.Marshal(map[string]string{"__type": "com.amazonaws.cloudwatch#" + e.Code, "message": e.Message})
	p.headers(w, c)
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

func (p *cborProtocol) headers(w http.ResponseWriter, c sim.CallContext) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("x-amzn-RequestId", c.RequestID)
}
