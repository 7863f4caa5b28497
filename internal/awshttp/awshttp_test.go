package awshttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type writeToBody struct {
	io.Reader
	closed bool
}

func (b *writeToBody) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, b.Reader) }
func (b *writeToBody) Close() error                       { b.closed = true; return nil }

func TestBodyLosesWriteTo(t *testing.T) {
	var seen bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = string(b) == "Action=X"
	}))
	defer srv.Close()
	body := &writeToBody{Reader: strings.NewReader("Action=X")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
	req.Body, req.ContentLength = body, 8
	var got any
	c := client{inner: doerFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Body
		return http.DefaultClient.Do(r)
	})}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := got.(io.WriterTo); ok {
		t.Fatal("body passed to the transport still implements io.WriterTo")
	}
	if !seen || !body.closed {
		t.Fatalf("server saw body: %v, body closed: %v", seen, body.closed)
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
