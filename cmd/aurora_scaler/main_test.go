package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	tok := filepath.Join(dir, "token")
	_ = os.WriteFile(tok, []byte("abc\n"), 0o600)
	_ = os.WriteFile(good, []byte("clusters:\n  - {name: events-db, account: \"123456789012\", region: us-east-1, acu_ceiling: 64}\nbearer_token_file: "+tok+"\n"), 0o600)
	_ = os.WriteFile(bad, []byte("clusters:\n  - name: events-db\n    max_readers: 20\n"), 0o600)
	for _, tc := range []struct {
		file string
		code int
		out  string
	}{
		{good, 0, "OK (1 clusters, 0 asgs)"},
		{bad, 1, "bad.yml:2:5: account"},
		{filepath.Join(dir, "missing.yml"), 1, "no such file"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--config.file=" + tc.file, "--config.check"}, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("%s: exit %d, output %q %q; want %d containing %q", tc.file, code, stdout.String(), stderr.String(), tc.code, tc.out)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &stderr, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
