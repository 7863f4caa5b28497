package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// clientFlags are the subcommands that talk to a running scaler: the CLI
// side of the event and writer APIs.
type clientFlags struct {
	url       string
	tokenFile string

	id, cluster, start, end string
	peakUsers, readers      int
	minACU, maxACU          float64
	asg                     map[string]string
	class                   string
}

func addClientCommands(app *kingpin.Application, c *clientFlags) {
	c.asg = map[string]string{}
	common := func(cmd *kingpin.CmdClause) {
		cmd.Flag("scaler.url", "Base URL of the running scaler.").Default("http://127.0.0.1:9854").StringVar(&c.url)
		cmd.Flag("token.file", "File with the scaler's bearer token (its bearer_token_file).").StringVar(&c.tokenFile)
	}
	event := app.Command("event", "Scheduled pre-event scale-up on a running scaler.")
	add := event.Command("add", "Register an event: capacity is scheduled ahead of the start and reverted after the end.")
	common(add)
	add.Flag("id", "Event id (lower-case letters, digits, dashes).").Required().StringVar(&c.id)
	add.Flag("cluster", "Cluster (as in the scaler's config).").Required().StringVar(&c.cluster)
	add.Flag("start", "Start time, RFC 3339 (2026-12-01T20:00:00Z).").Required().StringVar(&c.start)
	add.Flag("end", "End time, RFC 3339.").Required().StringVar(&c.end)
	add.Flag("peak-users", "Expected peak users (informational).").IntVar(&c.peakUsers)
	add.Flag("readers", "Readers the cluster should have at the start.").IntVar(&c.readers)
	add.Flag("min-acu", "Serverless v2 min ACU during the event.").Float64Var(&c.minACU)
	add.Flag("max-acu", "Serverless v2 max ACU during the event.").Float64Var(&c.maxACU)
	add.Flag("asg", "Auto Scaling group capacity during the event, name=desired (repeatable).").StringMapVar(&c.asg)
	list := event.Command("list", "List registered events with their plans and progress.")
	common(list)
	del := event.Command("delete", "Forget an event (changes already made stay).")
	common(del)
	del.Arg("id", "Event id.").Required().StringVar(&c.id)
	writer := app.Command("writer", "Resize the writer by failover (a tier-0 instance of the class, then failover).")
	common(writer)
	writer.Flag("cluster", "Cluster (as in the scaler's config).").Required().StringVar(&c.cluster)
	writer.Flag("class", "Target instance class (one of the cluster's writer_classes).").Required().StringVar(&c.class)
}

func runClient(command string, c *clientFlags, stdout, stderr io.Writer) int {
	var method, path string
	var body any
	switch command {
	case "event add":
		start, err1 := time.Parse(time.RFC3339, c.start)
		end, err2 := time.Parse(time.RFC3339, c.end)
		if err1 != nil || err2 != nil {
			fmt.Fprintln(stderr, "aurora_scaler: --start and --end must be RFC 3339 times")
			return 2
		}
		asg := map[string]int32{}
		for name, v := range c.asg {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				fmt.Fprintf(stderr, "aurora_scaler: --asg %s=%s: desired must be an integer\n", name, v)
				return 2
			}
			asg[name] = int32(n)
		}
		method, path = http.MethodPost, "/api/v1/events"
		body = map[string]any{"id": c.id, "cluster": c.cluster, "start": start, "end": end, "peak_users": c.peakUsers,
			"readers": c.readers, "min_acu": c.minACU, "max_acu": c.maxACU, "asg_desired": asg}
	case "event list":
		method, path = http.MethodGet, "/api/v1/events"
	case "event delete":
		method, path = http.MethodDelete, "/api/v1/events/"+c.id
	case "writer":
		method, path = http.MethodPost, "/api/v1/writer"
		body = map[string]string{"cluster": c.cluster, "class": c.class}
	default:
		fmt.Fprintln(stderr, "aurora_scaler: unknown command", command)
		return 2
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.url, "/")+path, rd)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_scaler:", err)
		return 2
	}
	req.Header.Set("Content-Type", "application/json")
	if c.tokenFile != "" {
		tok, err := os.ReadFile(c.tokenFile)
		if err != nil {
			fmt.Fprintln(stderr, "aurora_scaler: token:", err)
			return 2
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_scaler:", err)
		return 1
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	if resp.StatusCode >= 300 {
		fmt.Fprintf(stderr, "aurora_scaler: %s %s: %s\n%s\n", method, path, resp.Status, out)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}
