package scaler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/internal/dnsq"
	"github.com/aurora-surge/aurora-surge/scaler/events"
	"github.com/aurora-surge/aurora-surge/scaler/procedure"
)

// ErrInProgress refuses a second change on a cluster while a procedure
// runs on it (one change per cluster at a time).
var ErrInProgress = errors.New("a procedure is in progress on the cluster")

// Procedures runs the multi-step operations (safe scale-in, writer
// resize) in the background: they take minutes, far longer than a webhook
// may wait, and each reads its progress back from AWS so a restart
// resumes it (Resume).
type Procedures struct {
	cfg    *Config
	aws    *AWS
	dns    procedure.Resolver
	wait   func(context.Context, time.Duration) error
	log    *slog.Logger
	poll   time.Duration
	clock  Clock
	holder string
	ttl    time.Duration

	runs    *prometheus.CounterVec
	running *prometheus.GaugeVec
	ended   procedureListeners

	mu     sync.Mutex
	ctx    context.Context
	active map[string]string // cluster target -> procedure
	wg     sync.WaitGroup
}

// ProcedureOptions wire Procedures; Wait and Poll are injected so tests
// run the procedures on a virtual clock.
type ProcedureOptions struct {
	Config     *Config
	AWS        *AWS
	Resolver   procedure.Resolver // nil: DNSResolver on Config.DNSServer or resolv.conf
	Wait       func(context.Context, time.Duration) error
	Poll       time.Duration
	Log        *slog.Logger
	Registerer prometheus.Registerer
	// Clock dates the procedure lease and the procedures' ends (nil:
	// the system clock).
	Clock Clock
	// Holder names this process in the procedure lease (default: host
	// name and a random suffix); replicas must differ.
	Holder string
	// LeaseTTL is how long a lease outlives its last renewal, so a
	// crashed holder blocks the cluster that long at most (default 5m).
	LeaseTTL time.Duration
}

// ProcedureEnd is what a finished procedure reports to the decision
// that started it.
type ProcedureEnd struct {
	DecisionID, Procedure, Cluster string
	Outcome, Error                 string
	At                             time.Time
}

// Outcomes of a procedure besides success, rolled_back and error.
const (
	ResultStarted    = "started"    // decision's result until its procedure ends
	OutcomeLeaseHeld = "lease_held" // another replica runs a procedure on the cluster
)

// ErrStarted is Execute's answer for an action carried out by a
// background procedure: the decision's result is "started" until the
// procedure reports its outcome.
var ErrStarted = errors.New("procedure started")

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// procedureListeners are told when a procedure ends.
type procedureListeners struct {
	mu  sync.Mutex
	fns []func(ProcedureEnd)
}

// OnProcedureEnd registers fn for every procedure's end; the Scaler uses
// it to complete its decisions.
func (p *Procedures) OnProcedureEnd(fn func(ProcedureEnd)) {
	p.ended.mu.Lock()
	defer p.ended.mu.Unlock()
	p.ended.fns = append(p.ended.fns, fn)
}

func (p *Procedures) procedureEnded(e ProcedureEnd) {
	p.ended.mu.Lock()
	fns := slices.Clone(p.ended.fns)
	p.ended.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

func defaultHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, host)
	if len(name) > 64 {
		name = name[:64]
	}
	return name + "-" + hex.EncodeToString(b[:])
}

func NewProcedures(ctx context.Context, o ProcedureOptions) (*Procedures, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Wait == nil {
		o.Wait = sleep
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Holder == "" {
		o.Holder = defaultHolder()
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 5 * time.Minute
	}
	if o.Resolver == nil {
		server := o.Config.DNSServer
		if server == "" {
			var err error
			if server, err = dnsq.SystemNameserver(); err != nil {
				return nil, fmt.Errorf("no DNS server for the procedures' checks: set dns_server (%v)", err)
			}
		}
		o.Resolver = procedure.DNSResolver{Server: server, Timeout: 2 * time.Second}
	}
	p := &Procedures{
		cfg: o.Config, aws: o.AWS, dns: o.Resolver, wait: o.Wait, log: o.Log, poll: o.Poll, ctx: ctx, active: map[string]string{},
		clock: o.Clock, holder: o.Holder, ttl: o.LeaseTTL,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aurora_scaler_procedures_total",
			Help: "Multi-step procedures finished, by procedure (scale_in, writer_resize) and outcome (success, rolled_back, noop, lease_held, error)."}, []string{"procedure", "outcome"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aurora_scaler_procedure_running",
			Help: "1 while a procedure runs on the cluster."}, []string{"procedure", "db_cluster"}),
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(p.runs); err != nil {
			return nil, err
		}
		if err := o.Registerer.Register(p.running); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Procedures) deps(t *ClusterTarget) procedure.Deps {
	return procedure.Deps{RDS: p.aws.rdsClient(t.Account, t.Region), Route53: p.aws.route53Client(t.Account), DNS: p.dns, Wait: p.wait, Log: p.log, Poll: p.poll}
}

// withLease runs fn holding the cluster's procedure lease, renewed
// around every wait of fn; outcome lease_held when another replica has it.
func (p *Procedures) withLease(ctx context.Context, t *ClusterTarget, name string, fn func(procedure.Deps) (string, error)) (string, error) {
	c := p.aws.rdsClient(t.Account, t.Region)
	cl, err := describeCluster(ctx, c, t.Name)
	if err != nil {
		return "", err
	}
	l := &procedure.Lease{API: c, ARN: aws.ToString(cl.DBClusterArn), Holder: p.holder, What: name, TTL: p.ttl, Now: p.clock.Now}
	if err := l.Acquire(ctx, p.wait); err != nil {
		var held *procedure.LeaseHeldError
		if errors.As(err, &held) {
			return OutcomeLeaseHeld, err
		}
		return "", err
	}
	defer func() {
		// A shut-down context must not leave the lease to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := l.Release(rctx); err != nil {
			p.log.Warn("procedure lease not released; it expires by itself", "cluster", t.Name, "ttl", p.ttl, "err", err)
		}
	}()
	d := p.deps(t)
	d.Wait = func(ctx context.Context, dur time.Duration) error {
		if err := l.Renew(ctx); err != nil {
			return err
		}
		if err := p.wait(ctx, dur); err != nil {
			return err
		}
		return l.Renew(ctx)
	}
	return fn(d)
}

// Busy names the procedure running on a cluster target ("" when none).
func (p *Procedures) Busy(target string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active[target]
}

// start runs fn in the background unless the cluster is busy; the
// outcome is counted and reported to decision (if any) when fn returns.
// An empty outcome without error (a resume with nothing left) is neither.
func (p *Procedures) start(t *ClusterTarget, name, decision string, fn func(ctx context.Context) (outcome string, err error)) error {
	key := "cluster/" + t.Name
	p.mu.Lock()
	if cur := p.active[key]; cur != "" {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s on %s", ErrInProgress, cur, t.Name)
	}
	p.active[key] = name
	p.wg.Add(1)
	p.mu.Unlock()
	p.running.WithLabelValues(name, t.Name).Set(1)
	go func() {
		defer p.wg.Done()
		outcome, err := fn(p.ctx)
		msg := ""
		switch {
		case outcome == OutcomeLeaseHeld:
			msg = err.Error()
			p.log.Warn("procedure not run", "procedure", name, "cluster", t.Name, "err", err)
		case err != nil:
			outcome, msg = "error", err.Error()
			p.log.Error("procedure failed", "procedure", name, "cluster", t.Name, "err", err)
		case outcome != "":
			p.log.Info("procedure finished", "procedure", name, "cluster", t.Name, "outcome", outcome)
		}
		if outcome != "" {
			p.runs.WithLabelValues(name, outcome).Inc()
		}
		p.running.WithLabelValues(name, t.Name).Set(0)
		p.mu.Lock()
		delete(p.active, key)
		p.mu.Unlock()
		if decision != "" {
			p.procedureEnded(ProcedureEnd{DecisionID: decision, Procedure: name, Cluster: t.Name, Outcome: outcome, Error: msg, At: p.clock.Now()})
		}
	}()
	return nil
}

// Wait blocks until every started procedure has returned.
func (p *Procedures) Wait() { p.wg.Wait() }

// Running is how many procedures are under way; a harness on a virtual
// clock compares it with the waits parked on that clock.
func (p *Procedures) Running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.active)
}

// StartScaleIn begins the safe scale-in a remove_readers decision asks
// for: down to d.To readers, draining through the cluster's read record.
func (p *Procedures) StartScaleIn(d Decision) error {
	t, ok := p.cfg.Cluster(clusterName(d.Target), d.Account, d.Region)
	if !ok {
		return fmt.Errorf("cluster %s is not configured", d.Target)
	}
	if !t.Drains() {
		return fmt.Errorf("%w: cluster %s has neither read_record nor drain_custom_endpoint, and removing readers without draining sends queries to deleted readers", ErrNotImplemented, t.Name)
	}
	readers := int(d.To)
	return p.start(t, "scale_in", d.ID, func(ctx context.Context) (string, error) {
		return p.runScaleIn(ctx, t, readers, false, true)
	})
}

// scaleInPlan is the drain the cluster's configuration names; a scale-in
// from demand (keepEvents) leaves a scheduled event's readers to its revert.
func scaleInPlan(t *ClusterTarget, readers int, keepEvents bool) procedure.ScaleIn {
	p := procedure.ScaleIn{Cluster: t.Name, Readers: readers, CustomEndpoint: t.DrainCustomEndpoint, KeepEventReaders: keepEvents}
	if t.ReadRecord != nil {
		p.ZoneID, p.Record = t.ReadRecord.ZoneID, t.ReadRecord.Name
	}
	return p
}

// runScaleIn drains down to readers, or with resume finishes what a
// previous process left (outcome "" when it left nothing); either way a
// drain that ran ends with max ACU back at acu_baseline.
func (p *Procedures) runScaleIn(ctx context.Context, t *ClusterTarget, readers int, resume, keepEvents bool) (string, error) {
	return p.withLease(ctx, t, "scale_in", func(d procedure.Deps) (string, error) {
		if resume {
			serving, err := p.servingReaders(ctx, t)
			if err != nil {
				return "", err
			}
			readers = max(serving, 1)
		}
		res, err := procedure.RunScaleIn(ctx, d, scaleInPlan(t, readers, keepEvents))
		switch {
		case err != nil:
			return "", err
		case res.RolledBack:
			return "rolled_back", nil
		case res.Idle && resume:
			return "", nil
		}
		// The avalanche is over: the max ACU raised during it goes back.
		if t.ACUBaseline > 0 {
			if err := p.lowerMaxACU(ctx, t); err != nil {
				return "", err
			}
		}
		if res.Idle {
			return "noop", nil
		}
		return "success", nil
	})
}

// ScaleIn is the synchronous form, for the event reconciler's revert.
func (p *Procedures) ScaleIn(ctx context.Context, cluster string, readers int) error {
	t, ok := p.cfg.Cluster(cluster, "", "")
	if !ok || !t.Drains() {
		return fmt.Errorf("cluster %s has neither read_record nor drain_custom_endpoint: its event readers stay until removed by hand", cluster)
	}
	_, err := p.runScaleIn(ctx, t, readers, false, false)
	return err
}

func (p *Procedures) lowerMaxACU(ctx context.Context, t *ClusterTarget) error {
	c := p.aws.rdsClient(t.Account, t.Region)
	cl, err := describeCluster(ctx, c, t.Name)
	if err != nil {
		return err
	}
	sv := cl.ServerlessV2ScalingConfiguration
	if sv == nil || aws.ToFloat64(sv.MaxCapacity) <= t.ACUBaseline {
		return nil
	}
	min := min(aws.ToFloat64(sv.MinCapacity), t.ACUBaseline)
	if _, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(t.Name), ApplyImmediately: aws.Bool(true),
		ServerlessV2ScalingConfiguration: &rdstypes.ServerlessV2ScalingConfiguration{MinCapacity: aws.Float64(min), MaxCapacity: aws.Float64(t.ACUBaseline)}}); err != nil {
		return fmt.Errorf("lowering max ACU of %s to %g: %w", t.Name, t.ACUBaseline, err)
	}
	p.log.Info("max ACU back to baseline", "cluster", t.Name, "from", aws.ToFloat64(sv.MaxCapacity), "to", t.ACUBaseline)
	return nil
}

// StartWriterResize moves the writer to class (one of the cluster's
// writer_classes) by failover.
func (p *Procedures) StartWriterResize(cluster, class string) error {
	t, ok := p.cfg.Cluster(cluster, "", "")
	if !ok {
		return fmt.Errorf("cluster %s is not configured", cluster)
	}
	allowed := false
	for _, c := range t.WriterClasses {
		allowed = allowed || c == class
	}
	if !allowed {
		return fmt.Errorf("class %q is not in writer_classes of %s (%s)", class, cluster, strings.Join(t.WriterClasses, ", "))
	}
	return p.start(t, "writer_resize", "", func(ctx context.Context) (string, error) {
		return p.withLease(ctx, t, "writer_resize", func(d procedure.Deps) (string, error) {
			if _, err := procedure.RunWriterResize(ctx, d, procedure.WriterResize{Cluster: t.Name, Class: class}); err != nil {
				return "", err
			}
			return "success", nil
		})
	})
}

// Resume finishes, at startup, any drain a previous process left: a read
// record not on its reader endpoint, readers being deleted, or readers
// still excluded from the drain's custom endpoint. It removes nothing
// more than what was already being deleted (the target is the readers
// serving now). A lease left by a process that died is waited out once.
func (p *Procedures) Resume(ctx context.Context) {
	for i := range p.cfg.Clusters {
		t := &p.cfg.Clusters[i]
		if !t.Drains() {
			continue
		}
		err := p.start(t, "scale_in", "", func(ctx context.Context) (string, error) {
			outcome, err := p.runScaleIn(ctx, t, 0, true, false)
			var held *procedure.LeaseHeldError
			if outcome == OutcomeLeaseHeld && errors.As(err, &held) {
				p.log.Info("resume waits for the procedure lease to expire", "cluster", t.Name, "holder", held.Holder, "until", held.Until)
				if err := p.wait(ctx, held.Until.Sub(p.clock.Now())+time.Second); err != nil {
					return "", err
				}
				outcome, err = p.runScaleIn(ctx, t, 0, true, false)
			}
			return outcome, err
		})
		if err != nil {
			p.log.Warn("resume skipped", "cluster", t.Name, "err", err)
		}
	}
}

func (p *Procedures) servingReaders(ctx context.Context, t *ClusterTarget) (int, error) {
	cs, err := p.aws.Cluster(ctx, t.Account, t.Region, t.Name)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, in := range cs.Readers() {
		if in.Status == statusAvailable {
			n++
		}
	}
	return n, nil
}

// WriterHandler serves POST /api/v1/writer {"cluster": ..., "class": ...}:
// a writer resize by failover, in the background.
func (p *Procedures) WriterHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"status": "error", "error": "use POST"})
			return
		}
		var req struct {
			Cluster string `json:"cluster"`
			Class   string `json:"class"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "error": "writer resize: " + err.Error()})
			return
		}
		if err := p.StartWriterResize(req.Cluster, req.Class); err != nil {
			code := http.StatusUnprocessableEntity
			if errors.Is(err, ErrInProgress) {
				code = http.StatusConflict
			}
			writeJSON(w, code, map[string]string{"status": "error", "error": err.Error()})
			return
		}
		p.log.Info("writer resize started", "cluster", req.Cluster, "class", req.Class, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "started", "cluster": req.Cluster, "class": req.Class})
	})
}

// EventClients gives the event reconciler the clients of a configured
// cluster's region.
func (a *AWS) EventClients(cfg *Config) func(cluster string) (events.RDSAPI, events.ASGAPI, error) {
	return func(cluster string) (events.RDSAPI, events.ASGAPI, error) {
		t, ok := cfg.Cluster(cluster, "", "")
		if !ok {
			return nil, nil, fmt.Errorf("cluster %s is not configured", cluster)
		}
		return a.rdsClient(t.Account, t.Region), a.asgClient(t.Account, t.Region), nil
	}
}

// Drains reports whether the cluster names a way to drain readers.
func (t *ClusterTarget) Drains() bool { return t.ReadRecord != nil || t.DrainCustomEndpoint != "" }
