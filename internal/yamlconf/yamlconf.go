// Package yamlconf gives configuration errors their place in the file:
// decode errors and validation errors both name file:line:column, so
// --config.check points at the line to fix.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a configuration problem with its position in the file.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// DecodeError turns a yaml.v3 decode error into an Error with the line
// yaml reports.
func DecodeError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Column: 1, Msg: strings.TrimPrefix(msg, "line "+m[1]+": ")}
	}
	return &Error{File: name, Msg: msg}
}

// Pos finds the node for a path of mapping keys and sequence indexes, so a
// validation error points at the offending line (or the nearest parent
// that exists).
func Pos(root *yaml.Node, path ...any) (line, col int) {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line, col = n.Line, n.Column
	for _, p := range path {
		switch key := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line, col
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, col = n.Content[i].Line, n.Content[i].Column
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line, col
			}
		case int:
			if n.Kind != yaml.SequenceNode || key >= len(n.Content) {
				return line, col
			}
			n = n.Content[key]
			line, col = n.Line, n.Column
		}
	}
	return line, col
}

// Failer returns the validation error constructor for one file.
func Failer(name string, root *yaml.Node) func(msg string, path ...any) error {
	return func(msg string, path ...any) error {
		l, c := Pos(root, path...)
		return &Error{File: name, Line: l, Column: c, Msg: msg}
	}
}

// Decode decodes data strictly (unknown keys are errors) into v, which
// holds the defaults, and returns the document's node tree for Failer.
func Decode(name string, data []byte, v any) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, DecodeError(name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, DecodeError(name, err)
	}
	return &root, nil
}
