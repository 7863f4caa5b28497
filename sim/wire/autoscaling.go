package wire

// registerAutoScaling wires the service into the router (filled in by its owner).
func registerAutoScaling(s *Server) {}
