//! Plugins: manifests, lifecycle, database namespaces and workers.

pub mod host_services;
pub mod invocation;
pub mod lifecycle;
pub mod manifest;
pub mod namespace;
pub mod sqlguard;
pub mod worker;
