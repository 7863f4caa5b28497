//go:build pprof

package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/alecthomas/kingpin/v2"
)

// profilingFlag adds --web.enable-pprof. It exists only in binaries built
// with -tags pprof: linking runtime/pprof turns the runtime's memory
// profiling on (the linker leaves it off when nothing can read it), which
// costs every exporter about 2 MB of RSS whether or not the flag is set.
func profilingFlag(app *kingpin.Application) func(*http.ServeMux) {
	var on bool
	app.Flag("web.enable-pprof", "Serve Go's runtime profiles (heap, allocs, CPU, goroutines) under /debug/pprof/; off by default, as they expose internals and cost CPU while taken.").BoolVar(&on)
	return func(mux *http.ServeMux) {
		if !on {
			return
		}
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}
