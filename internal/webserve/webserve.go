// Package webserve runs a command's HTTP server through exporter-toolkit
// (TLS and basic auth from --web.config.file, systemd sockets) until the
// context ends, then shuts it down gracefully.
package webserve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
)

// Serve adds the landing page at / and serves srv until ctx ends or the
// listener fails (the error).
func Serve(ctx context.Context, srv *http.Server, mux *http.ServeMux, flags *web.FlagConfig, landing web.LandingConfig, log *slog.Logger) error {
	page, err := web.NewLandingPage(landing)
	if err != nil {
		return err
	}
	mux.Handle("/", page)
	srv.Handler = mux
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, flags, log) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}
