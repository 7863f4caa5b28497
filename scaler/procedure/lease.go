package procedure

// LeaseTagPrefix starts the cluster tag a procedure holds while it runs.
const LeaseTagPrefix = "aurora-surge:lease:"
