package cloudwatch

import (
	"net/http"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// cborCodec is Smithy RPC v2 CBOR: POST
// /service/GraniteServiceVersion20100801/operation/<Op>, a CBOR map in and
// out, timestamps as tag 1 epoch seconds (what aws-sdk-go-v2 sends).
type cborCodec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCBORProtocol(b *backend) *documentProtocol {
	enc, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err) // static options: a failure is a programming error
	}
	dec, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, MaxNestedLevels: 32, MaxArrayElements: 65536, MaxMapPairs: 65536}.DecMode()
	if err != nil {
		panic(err)
	}
	return &documentProtocol{b: b, codec: &cborCodec{enc: enc, dec: dec}}
}

func (c *cborCodec) name() string { return "RPC v2 CBOR" }

func (c *cborCodec) operation(r *http.Request) string {
	return r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
}

func (c *cborCodec) unmarshal(body []byte, v any) error { return c.dec.Unmarshal(body, v) }
func (c *cborCodec) marshal(v any) ([]byte, error)      { return c.enc.Marshal(v) }

func (c *cborCodec) headers(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
}
