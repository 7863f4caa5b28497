package cloudwatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// targetPrefix is CloudWatch's X-Amz-Target prefix (its Smithy service
// name), shared by AWS JSON 1.0 and the RPC v2 CBOR path.
const targetPrefix = "GraniteServiceVersion20100801"

// jsonCodec is AWS JSON 1.0: POST / with X-Amz-Target:
// GraniteServiceVersion20100801.<Op> and application/x-amz-json-1.0,
// timestamps as epoch-seconds numbers (what botocore sends).
type jsonCodec struct{}

func newJSONProtocol(b *backend) *documentProtocol {
	return &documentProtocol{b: b, codec: jsonCodec{}}
}

func (jsonCodec) name() string { return "AWS JSON 1.0" }

func (jsonCodec) operation(r *http.Request) string {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	return op
}

func (jsonCodec) unmarshal(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

func (jsonCodec) marshal(v any) ([]byte, error) { return json.Marshal(v) }

func (jsonCodec) headers(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
}
