// Package awshttp holds the HTTP client every AWS SDK client of the
// project uses.
package awshttp

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkhttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Wrap returns the SDK HTTP client with one fix: the
// SDK's request body implements io.WriterTo and, once the SDK has closed
// it, WriteTo returns io.EOF as an error. net/http's write loop drains
// the body after sending it; when the response arrives before that drain
// (a fast, near endpoint such as the emulator or a VPC endpoint), the
// SDK closes the body first, the drain fails and the transport closes the
// connection under the response being read ("use of closed network
// connection"). Hiding WriteTo makes the drain a plain Read that returns
// io.EOF as end of stream.
//
// Wrap is applied to a loaded configuration's client (after
// config.LoadDefaultConfig has set CA bundles and other transport options,
// which it can only do on the SDK's own client type).
func Wrap(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = sdkhttp.NewBuildableClient()
	}
	if _, done := c.(client); done {
		return c
	}
	return client{inner: c}
}

type client struct{ inner aws.HTTPClient }

func (c client) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if _, ok := r.Body.(io.WriterTo); ok {
			shallow := *r
			shallow.Body = readOnly{r.Body}
			r = &shallow
		}
	}
	return c.inner.Do(r)
}

// readOnly exposes only Read and Close.
type readOnly struct{ io.ReadCloser }
