//! Route 1: an admin URL from `DATABASE_URL` / `--database-url`. STUB.
