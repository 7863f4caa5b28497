package scaler

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The scaler asks Prometheus for the cluster's firing scale-out alerts by
// db_cluster, the label the rules put on them.
func TestScaleOutFiringSelectsDBCluster(t *testing.T) {
	const want = `ALERTS{alertstate="firing",action=~"add_readers|raise_max_acu",db_cluster="events-db",account="123456789012",region="us-east-1"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.FormValue("query"); r.URL.Path != "/api/v1/query" || q != want {
			http.Error(w, fmt.Sprintf("unexpected query %q", q), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"alertname":"AuroraReaderCPUStep1","db_cluster":"events-db"},"value":[1764007200,"1"]}]}}`)
	}))
	defer srv.Close()
	names, err := Prometheus{URL: srv.URL}.ScaleOutFiring(context.Background(), "123456789012", "us-east-1", "events-db")
	if err != nil || len(names) != 1 || names[0] != "AuroraReaderCPUStep1" {
		t.Fatalf("firing %v, err %v", names, err)
	}
}
