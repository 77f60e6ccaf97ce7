//! Route 3: an ephemeral cluster from local PostgreSQL binaries. STUB.
