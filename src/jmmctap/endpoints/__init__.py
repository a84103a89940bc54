"""HTTP endpoints: each parses its request, calls a service, and answers."""
