package dashboards

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/grafana-tools/sdk"
)

// ReadToken reads a Grafana service account token (or API key) from a
// file: one line, surrounding white space ignored, never empty.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("token file %s: want one non-empty line", path)
	}
	return tok, nil
}

// Push creates or overwrites each board in the Grafana at url through its
// HTTP API (POST /api/dashboards/db, grafana-tools/sdk's client), in the
// given variant; the datasource variable defaults to v.DatasourceUID there.
func Push(ctx context.Context, url, token string, boards []Board, v Variant, client *http.Client) (err error) {
	if v.Import {
		return fmt.Errorf("the HTTP API does not resolve ${%s}: push a variant with a datasource uid", ImportInput)
	}
	c, err := sdk.NewClient(strings.TrimSuffix(url, "/"), token, client)
	if err != nil {
		return fmt.Errorf("grafana %s: %w", url, err)
	}
	// The client dereferences the answer's message on any non-200: an
	// answer without one must be an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("grafana %s: unexpected answer (%v)", url, r)
		}
	}()
	for _, b := range boards {
		raw, err := Render(b, v)
		if err != nil {
			return err
		}
		st, err := c.SetRawDashboardWithParam(ctx, sdk.RawBoardRequest{Dashboard: raw, Parameters: sdk.SetDashboardParams{Overwrite: true}})
		if err != nil {
			return fmt.Errorf("grafana %s: dashboard %s: %w", url, b.File, err)
		}
		if st.Status == nil || *st.Status != "success" {
			return fmt.Errorf("grafana %s: dashboard %s: status %v", url, b.File, deref(st.Status))
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}
