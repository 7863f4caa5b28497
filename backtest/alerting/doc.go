// Package alerting is Alertmanager's routing and timing on a virtual
// clock, for aurora_backtest: the route tree, aggregation groups
// (group_wait, group_interval, repeat_interval), inhibition, the
// notification log's dedup and the webhook v4 body, as Alertmanager 0.25
// does them (the version Debian packages and the end-to-end tests run).
// Configuration is parsed, and alerts are routed, by Alertmanager's own
// config and dispatch packages; the timers, groups and pipeline are
// re-implemented because Alertmanager's run on goroutines and the wall
// clock. README.md lists the semantics, and where the model departs.
package alerting
