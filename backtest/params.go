package backtest

import (
	_ "embed"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

//go:embed params.yml
var defaultParams []byte

// Params is the backtest's parameter file: one section per policy family.
type Params struct {
	Surge SurgeParams `yaml:"surge"`
}

// LoadParams reads a parameter file ("" = the embedded default). A file
// overrides the default section by section.
func LoadParams(path string) (*Params, error) {
	p := &Params{}
	if err := yaml.Unmarshal(defaultParams, p); err != nil {
		return nil, fmt.Errorf("embedded params.yml: %w", err)
	}
	if path == "" {
		return p, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
