//! Local image recipes (`fixtures/images/<name>/`), their content-hash tags, and the build.
//!
//! See `fixtures/images/README.md` for the recipe format. No registry is ever contacted:
//! `base` comes from `debootstrap`, and every other image is built `FROM` its parent's tag.

mod build;
mod recipe;

pub use build::{BuildOutcome, build};
pub use recipe::{Recipe, Recipes, cache_dir, default_recipes_dir};

use std::collections::BTreeMap;

use crate::{Error, Result};

/// Image references by recipe name: the recipes' hash tags, with any user overrides applied
/// (`--image workload=registry.example/busybox:1.36`).
#[derive(Debug, Clone, Default)]
pub struct ImageSet {
    refs: BTreeMap<String, String>,
}

impl ImageSet {
    /// The tags of every recipe, then `overrides` (`name=reference`) on top.
    pub fn new(recipes: &Recipes, overrides: &[String]) -> Result<Self> {
        let mut refs: BTreeMap<String, String> = recipes
            .iter()
            .map(|r| Ok((r.name.clone(), recipes.reference(&r.name)?)))
            .collect::<Result<_>>()?;
        for o in overrides {
            let (name, reference) = o
                .split_once('=')
                .filter(|(n, r)| !n.is_empty() && !r.is_empty())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "invalid --image `{o}`: expected NAME=REFERENCE, e.g. workload=busybox:1.36"
                    ))
                })?;
            if !refs.contains_key(name) {
                return Err(Error::usage(format!(
                    "invalid --image `{o}`: no image named `{name}` (known: {})",
                    refs.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            refs.insert(name.to_owned(), reference.to_owned());
        }
        Ok(Self { refs })
    }

    /// The reference for recipe `name`.
    pub fn get(&self, name: &str) -> Result<String> {
        self.refs
            .get(name)
            .cloned()
            .ok_or_else(|| Error::usage(format!("no image named `{name}`")))
    }

    /// Every `(name, reference)`.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.refs.iter()
    }
}
