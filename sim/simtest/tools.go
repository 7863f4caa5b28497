package simtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Sign signs a hand-built request (body is its payload) with SigV4 for
// service in us-east-1, with the example key the emulator accepts, for
// tests that send what the SDK would not.
func Sign(t testing.TB, req *http.Request, body []byte, service string) {
	t.Helper()
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// Boto3Python is the pyenv Python that imports boto3. Without it the test
// is skipped, or fails when AURORA_REQUIRE_AWSCLI is set (as in CI).
func Boto3Python(t testing.TB) string {
	t.Helper()
	py := "/root/.pyenv/shims/python3"
	if out, err := exec.Command(py, "-c", "import boto3").CombinedOutput(); err != nil {
		msg := "boto3 not importable by " + py + ": " + strings.TrimSpace(string(out))
		if os.Getenv("AURORA_REQUIRE_AWSCLI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; CI requires it")
	}
	return py
}
