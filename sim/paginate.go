package sim

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Page is a window into a sorted listing, with the opaque marker AWS
// hands back for the next page ("" on the last one).
type Page struct {
	Start, End int
	Next       string
}

// Paginate applies AWS paging: size is the caller's MaxRecords/MaxItems
// (0: def), bounded to [min, max] with InvalidParameterValue outside it;
// marker is the previous page's opaque token (for the same listing).
func Paginate(total int, marker string, size, def, min, max int, sizeParam string) (Page, *APIError) {
	if size == 0 {
		size = def
	}
	if size < min || size > max {
		return Page{}, ErrInvalidParameterValue("%s must be between %d and %d, got %d.", sizeParam, min, max, size)
	}
	start := 0
	if marker != "" {
		n, ok := decodeMarker(marker)
		if !ok || n > total {
			return Page{}, ErrInvalidParameterValue("The marker/token %q is not valid for this request.", marker)
		}
		start = n
	}
	end := start + size
	if end > total {
		end = total
	}
	p := Page{Start: start, End: end}
	if end < total {
		p.Next = EncodeMarker(end)
	}
	return p, nil
}

// EncodeMarker makes an opaque continuation token for an offset.
func EncodeMarker(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("aurora-sim:" + strconv.Itoa(offset)))
}

func decodeMarker(m string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(raw), "aurora-sim:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// DecodeMarker is exported for backends with their own token shapes.
func DecodeMarker(m string) (int, bool) { return decodeMarker(m) }
