//! Every check of the suite, loaded once.
//!
//! The run, `conformance list` and baselines all start from a [`Catalog`]:
//! scenarios are parsed from disk here and nowhere else, properties and
//! restart checks are listed here, and `--only` selects from it in one
//! place.

use std::path::Path;
use std::sync::Arc;

use super::{select, CheckMeta};
use crate::error::{Error, Result};
use crate::property::{self, Property};
use crate::restart;
use crate::scenario::{self, Scenario};
use crate::upgrade;

/// The checks of a run, by kind, in the order they are reported.
pub struct Catalog {
    pub scenarios: Vec<Scenario>,
    /// Shared: each runs on a blocking thread of its own.
    pub properties: Vec<Arc<dyn Property>>,
    /// Checks that restart the host: last and alone.
    pub restarts: Vec<CheckMeta>,
    /// Checks of a host upgrade: first and alone, only with `--upgrade-from`.
    pub upgrades: Vec<CheckMeta>,
}

impl Catalog {
    /// Every check: the scenarios in `scenarios_dir` (validated), every
    /// property and every restart check.
    pub fn load(scenarios_dir: &Path) -> Result<Catalog> {
        Ok(Catalog {
            scenarios: scenario::load_dir(scenarios_dir)?,
            properties: property::all().into_iter().map(Arc::from).collect(),
            restarts: restart::checks(),
            upgrades: upgrade::checks(),
        })
    }

    /// The metadata of every check, in report order.
    pub fn metas(&self) -> Vec<CheckMeta> {
        let mut metas: Vec<CheckMeta> = self.scenarios.iter().map(Scenario::meta).collect();
        metas.extend(self.properties.iter().map(|p| p.meta()));
        metas.extend(self.restarts.iter().cloned());
        metas.extend(self.upgrades.iter().cloned());
        metas
    }

    /// Ids of every check.
    pub fn ids(&self) -> Vec<String> {
        self.metas().into_iter().map(|m| m.id).collect()
    }

    /// Keeps the checks `--only` selects; an empty selection is a usage
    /// error, so a typo never makes a green run of nothing.
    pub fn select(mut self, only: &[String]) -> Result<Catalog> {
        self.scenarios.retain(|s| select(&s.meta(), only));
        self.properties.retain(|p| select(&p.meta(), only));
        self.restarts.retain(|m| select(m, only));
        self.upgrades.retain(|m| select(m, only));
        if self.is_empty() {
            return Err(Error::Usage(format!(
                "--only {} selects no check; list them with: conformance list",
                only.join(" --only ")
            )));
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.scenarios.len() + self.properties.len() + self.restarts.len() + self.upgrades.len()
    }

    /// Drops the upgrade checks: they run only when the run upgrades.
    pub fn without_upgrades(mut self) -> Catalog {
        self.upgrades.clear();
        self
    }
}
