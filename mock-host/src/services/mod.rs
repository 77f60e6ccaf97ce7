//! Core host services shared by the REST routes and plugin host services.

pub mod activity;
pub mod heartbeat;
pub mod issues;
