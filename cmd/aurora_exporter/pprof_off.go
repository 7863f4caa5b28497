//go:build !pprof

package main

import (
	"net/http"

	"github.com/alecthomas/kingpin/v2"
)

// profilingFlag: no profiling endpoints without -tags pprof (pprof.go).
func profilingFlag(*kingpin.Application) func(*http.ServeMux) { return nil }
