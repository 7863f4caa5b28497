package sim

// Extension returns per-world state owned by a service package (for
// example STS's temporary key -> assumed role map), creating it on first
// use. It keeps service state in the world, not in package globals, so
// two worlds in one test binary never share it. Call with the lock held
// (inside Do/InRegion/InAccount).
func (w *World) Extension(key string, create func() any) any {
	if w.ext == nil {
		w.ext = map[string]any{}
	}
	v, ok := w.ext[key]
	if !ok {
		v = create()
		w.ext[key] = v
	}
	return v
}
