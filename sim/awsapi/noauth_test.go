package awsapi_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// TestMissingAuthentication: a request without any signature gets AWS's
// 403 MissingAuthenticationToken in the error shape of the protocol it
// was sent in, whatever the service (the router cannot use the signing
// name then, so it must find the service from the request itself).
func TestMissingAuthentication(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	form := "application/x-www-form-urlencoded; charset=utf-8"
	cases := []struct {
		name, method, path, contentType, body string
		header                                map[string]string
		xmlns                                 string // awsQuery / REST-XML: the service's namespace
	}{
		{name: "rds query", method: "POST", path: "/", contentType: form, body: "Action=DescribeDBClusters&Version=2014-10-31", xmlns: "http://rds.amazonaws.com/doc/2014-10-31/"},
		{name: "cloudwatch query", method: "POST", path: "/", contentType: form, body: "Action=GetMetricData&Version=2010-08-01", xmlns: "http://monitoring.amazonaws.com/doc/2010-08-01/"},
		{name: "autoscaling query", method: "POST", path: "/", contentType: form, body: "Action=DescribeAutoScalingGroups&Version=2011-01-01", xmlns: "http://autoscaling.amazonaws.com/doc/2011-01-01/"},
		{name: "elbv2 query", method: "POST", path: "/", contentType: form, body: "Action=DescribeTargetGroups&Version=2015-12-01", xmlns: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"},
		{name: "sts query", method: "POST", path: "/", contentType: form, body: "Action=GetCallerIdentity&Version=2011-06-15", xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"},
		{name: "query GET", method: "GET", path: "/?Action=DescribeDBInstances&Version=2014-10-31", xmlns: "http://rds.amazonaws.com/doc/2014-10-31/"},
		{name: "unknown query service", method: "POST", path: "/", contentType: form, body: "Action=ListQueues&Version=2012-11-05"},
		{name: "route53 rest", method: "GET", path: "/2013-04-01/hostedzone", xmlns: "https://route53.amazonaws.com/doc/2013-04-01/"},
		{name: "cloudwatch cbor", method: "POST", path: "/service/GraniteServiceVersion20100801/operation/ListMetrics", contentType: "application/cbor", body: "\xa0",
			header: map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}},
		{name: "cloudwatch json", method: "POST", path: "/", contentType: "application/x-amz-json-1.0", body: "{}",
			header: map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, env.URL+tc.path, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", resp.StatusCode, raw)
			}
			if q := resp.Header.Get("X-Amzn-Query-Error"); tc.header != nil && q != "MissingAuthenticationToken;Sender" {
				t.Fatalf("x-amzn-query-error %q", q)
			}
			switch {
			case tc.header["Smithy-Protocol"] != "":
				var doc map[string]string
				if err := cbor.Unmarshal(raw, &doc); err != nil || !strings.HasSuffix(doc["__type"], "#MissingAuthenticationTokenException") {
					t.Fatalf("CBOR error body %v %v", doc, err)
				}
			case tc.header["X-Amz-Target"] != "":
				if !bytes.Contains(raw, []byte(`#MissingAuthenticationTokenException"`)) {
					t.Fatalf("JSON error body %s", raw)
				}
			default:
				var doc struct {
					XMLName xml.Name
					Code    string `xml:"Error>Code"`
				}
				if err := xml.Unmarshal(raw, &doc); err != nil || doc.Code != "MissingAuthenticationToken" || doc.XMLName.Local != "ErrorResponse" || doc.XMLName.Space != tc.xmlns {
					t.Fatalf("XML error body: %+v %v\n%s", doc, err, raw)
				}
			}
		})
	}
}
