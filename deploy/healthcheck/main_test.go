package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/-/healthy":
			_, _ = w.Write([]byte("Healthy\n"))
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		default:
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{srv.URL + "/-/healthy"}, 0, ""},
		{[]string{srv.URL + "/-/ready"}, 1, "503"},
		{[]string{"-timeout", "50ms", srv.URL + "/slow"}, 1, "deadline"},
		{[]string{closed.URL + "/-/healthy"}, 1, "refused"},
		{nil, 2, "usage"},
		{[]string{"::bad"}, 2, "missing protocol scheme"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.out) {
			t.Errorf("%v: exit %d, %q; want %d with %q", tc.args, code, stderr.String(), tc.code, tc.out)
		}
	}
}
