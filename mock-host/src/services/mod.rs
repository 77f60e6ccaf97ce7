//! Core host services shared by the REST routes and plugin host services.

pub mod activity;
pub mod agents;
pub mod companies;
pub mod heartbeat;
pub mod issues;
pub mod projects;
