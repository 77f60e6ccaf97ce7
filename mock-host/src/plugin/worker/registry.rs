//! The host's workers by plugin id: lookups for the scoped routes and the
//! lifecycle, and stopping them all at shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::WorkerHandle;

/// All workers of the host, by plugin id.
#[derive(Default)]
pub struct Workers {
    map: Mutex<HashMap<Uuid, Arc<WorkerHandle>>>,
}

impl Workers {
    pub fn get(&self, plugin_id: Uuid) -> Option<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&plugin_id)
            .cloned()
    }

    pub fn is_running(&self, plugin_id: Uuid) -> bool {
        self.get(plugin_id).is_some_and(|w| w.is_running())
    }

    pub fn insert(&self, plugin_id: Uuid, w: Arc<WorkerHandle>) -> Option<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(plugin_id, w)
    }

    pub fn remove(&self, plugin_id: Uuid) -> Option<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&plugin_id)
    }

    pub fn all(&self) -> Vec<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Stops one plugin's worker (if any).
    pub async fn stop(&self, plugin_id: Uuid) {
        if let Some(w) = self.remove(plugin_id) {
            w.stop().await;
        }
    }

    /// Stops every worker.
    pub async fn stop_all(&self) {
        let all: Vec<_> = {
            let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            m.drain().map(|(_, w)| w).collect()
        };
        futures::future::join_all(all.iter().map(|w| w.stop())).await;
    }
}
