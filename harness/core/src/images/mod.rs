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

/// Component images that have no recipe of their own: each defaults to a recipe's image, and
/// can be replaced alone (`--image kube-apiserver=registry.k8s.io/kube-apiserver:v1.35.4`).
pub const COMPONENT_IMAGES: &[(&str, &str)] = &[
    ("etcd", "k8s-control-plane"),
    ("kube-apiserver", "k8s-control-plane"),
    ("kube-controller-manager", "k8s-control-plane"),
    ("kube-scheduler", "k8s-control-plane"),
    ("mesos-master", "mesos"),
    ("mesos-agent", "mesos"),
];

/// Image references by recipe name: the recipes' hash tags, with any user overrides applied
/// (`--image workload=registry.example/busybox:1.36`). Component names of
/// [`COMPONENT_IMAGES`] resolve to their recipe's image unless overridden themselves.
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
            let component = COMPONENT_IMAGES.iter().any(|(c, _)| *c == name);
            if !refs.contains_key(name) && !component {
                let mut known: Vec<&str> = refs.keys().map(String::as_str).collect();
                known.extend(COMPONENT_IMAGES.iter().map(|(c, _)| *c));
                return Err(Error::usage(format!(
                    "invalid --image `{o}`: no image named `{name}` (known: {})",
                    known.join(", ")
                )));
            }
            refs.insert(name.to_owned(), reference.to_owned());
        }
        Ok(Self { refs })
    }

    /// The reference for recipe (or component) `name`.
    pub fn get(&self, name: &str) -> Result<String> {
        if let Some(r) = self.refs.get(name) {
            return Ok(r.clone());
        }
        match COMPONENT_IMAGES.iter().find(|(c, _)| *c == name) {
            Some((_, recipe)) => self.get(recipe),
            None => Err(Error::usage(format!("no image named `{name}`"))),
        }
    }

    /// A set with exactly these references (no recipes), for tests and embedding.
    pub fn from_refs<I, K, V>(refs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            refs: refs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Every `(name, reference)`.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.refs.iter()
    }
}
