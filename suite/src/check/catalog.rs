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

/// One shard of a run: `index` of `of`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub of: usize,
}

impl std::str::FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Shard> {
        let parsed = s
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, of)) if of >= 1 && (1..=of).contains(&index) => Ok(Shard { index, of }),
            _ => Err(Error::Usage(format!(
                "--shard {s} is not a shard: write K/N with 1 ≤ K ≤ N, e.g. --shard 2/3"
            ))),
        }
    }
}

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
        let mut metas: Vec<CheckMeta> = self.scenarios.iter().map(|s| s.meta.clone()).collect();
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
        self.scenarios.retain(|s| select(&s.meta, only));
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

    /// Keeps shard `k` of `n` (1-based): the scenarios and properties, sorted
    /// by id, are dealt round-robin, so the split depends only on the ids;
    /// the checks that restart or upgrade the host stay with shard 1, which
    /// owns the host's lifecycle. An empty shard is not an error (a small
    /// `--only` over many shards).
    pub fn shard(mut self, shard: Shard) -> Catalog {
        let mut ids: Vec<String> = self
            .scenarios
            .iter()
            .map(|s| s.id().to_string())
            .chain(self.properties.iter().map(|p| p.id().to_string()))
            .collect();
        ids.sort();
        let mine = |id: &str| {
            ids.iter()
                .position(|i| i == id)
                .is_some_and(|pos| pos % shard.of == shard.index - 1)
        };
        self.scenarios.retain(|s| mine(s.id()));
        self.properties.retain(|p| mine(p.id()));
        if shard.index != 1 {
            self.restarts.clear();
            self.upgrades.clear();
        }
        self
    }

    /// Drops the upgrade checks: they run only when the run upgrades.
    pub fn without_upgrades(mut self) -> Catalog {
        self.upgrades.clear();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(c: &Catalog) -> BTreeSet<String> {
        c.ids().into_iter().collect()
    }

    #[test]
    fn the_shards_together_are_exactly_the_full_run() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let full = ids(&Catalog::load(&dir).unwrap());
        for of in 1..=4 {
            let mut union = BTreeSet::new();
            let mut total = 0;
            for index in 1..=of {
                let shard = Catalog::load(&dir).unwrap().shard(Shard { index, of });
                if index != 1 {
                    assert!(shard.restarts.is_empty() && shard.upgrades.is_empty());
                }
                total += shard.len();
                union.extend(ids(&shard));
            }
            assert_eq!(union, full, "{of} shards");
            assert_eq!(total, full.len(), "{of} shards overlap");
        }
    }

    #[test]
    fn shard_specs_parse() {
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard { index: 2, of: 3 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
