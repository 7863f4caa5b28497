package wire

import "time"

// Timestamp is a time as AWS's XML protocols (awsQuery, REST-XML) write
// it: UTC at millisecond precision, 2026-11-24T18:00:00.000Z. Backends
// keep full-precision times; a model clock's nanoseconds never reach a
// client.
type Timestamp time.Time

// timestampLayout is ISO 8601 with milliseconds, as RDS, Auto Scaling,
// Route 53 and STS answer.
const timestampLayout = "2006-01-02T15:04:05.000Z"

func (t Timestamp) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Truncate(time.Millisecond).Format(timestampLayout)), nil
}

// OptionalTimestamp converts an optional time (nil stays nil, so the
// element is omitted).
func OptionalTimestamp(t *time.Time) *Timestamp {
	if t == nil {
		return nil
	}
	ts := Timestamp(*t)
	return &ts
}

// TimestampSeconds is a time at second precision (2026-11-24T18:00:00Z),
// as STS writes credential expirations.
type TimestampSeconds time.Time

func (t TimestampSeconds) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Truncate(time.Second).Format(time.RFC3339)), nil
}
