package wire

// registerRDS wires the service into the router (filled in by its owner).
func registerRDS(s *Server) {}
