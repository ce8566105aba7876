"""A deterministic synthetic world of processors and ledger, served over HTTP in the real wire formats."""
