package wire

import (
	"encoding/xml"
	"testing"
	"time"
)

func TestTimestampsAsAWSWritesThem(t *testing.T) {
	at := time.Date(2026, 11, 24, 19, 0, 7, 987654321, time.FixedZone("CET", 3600))
	type doc struct {
		Ms   Timestamp        `xml:"Ms"`
		None *Timestamp       `xml:"None,omitempty"`
		S    TimestampSeconds `xml:"S"`
	}
	got, err := xml.Marshal(doc{Ms: Timestamp(at), None: OptionalTimestamp(nil), S: TimestampSeconds(at)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<doc><Ms>2026-11-24T18:00:07.987Z</Ms><S>2026-11-24T18:00:07Z</S></doc>"; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestOptionalListTellsAbsentFromEmpty(t *testing.T) {
	for _, c := range []struct {
		form     Params
		nilList  bool
		elements int
	}{
		{Params{}, true, 0},
		{Params{"ExcludedMembers": {""}}, false, 0},
		{Params{"ExcludedMembers.member.1": {"a"}, "ExcludedMembers.member.2": {"b"}}, false, 2},
	} {
		got := c.form.OptionalList("ExcludedMembers", "member")
		if (got == nil) != c.nilList || len(got) != c.elements {
			t.Errorf("%v: got %#v", c.form, got)
		}
	}
}
