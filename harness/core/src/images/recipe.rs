//! Reading recipes and computing their content hashes.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// One image recipe.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Folder name, which is also the image name (`ordeal/<name>`).
    pub name: String,
    /// The recipe folder.
    pub dir: PathBuf,
    /// The recipe it builds on (`None` only for `base`).
    pub parent: Option<String>,
    /// One line for `ordeal images list`.
    pub description: String,
    /// Files outside the recipe folder that go into the image (shared build scripts), as
    /// written in `recipe.toml`: relative to the recipe folder. They are part of the hash, by
    /// that relative path, so the hash does not depend on where the checkout lives.
    pub inputs: Vec<PathBuf>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeToml {
    parent: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    inputs: Vec<PathBuf>,
}

/// Every recipe of a fixtures folder.
#[derive(Debug, Clone)]
pub struct Recipes {
    by_name: BTreeMap<String, Recipe>,
}

/// The recipes folder: `ORDEAL_FIXTURES`, else `fixtures/images` of the checkout this binary was
/// built from.
pub fn default_recipes_dir() -> PathBuf {
    std::env::var_os("ORDEAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images"))
}

/// The persistent cache: `ORDEAL_CACHE`, else `$XDG_CACHE_HOME/ordeal`, else `~/.cache/ordeal`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ORDEAL_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("ordeal");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/ordeal")
}

impl Recipes {
    /// Reads every `*/recipe.toml` under `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let entries = fs::read_dir(dir).map_err(|e| {
            Error::usage(format!(
                "cannot read image recipes in `{}`: {e} (hint: set ORDEAL_FIXTURES)",
                dir.display()
            ))
        })?;
        let mut by_name = BTreeMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let manifest = path.join("recipe.toml");
            if !manifest.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let text = fs::read_to_string(&manifest)
                .map_err(|e| Error::usage(format!("cannot read `{}`: {e}", manifest.display())))?;
            let parsed: RecipeToml = toml::from_str(&text).map_err(|e| {
                Error::usage(format!(
                    "malformed `{}`: {}",
                    manifest.display(),
                    e.message()
                ))
            })?;
            by_name.insert(
                name.clone(),
                Recipe {
                    name,
                    inputs: parsed.inputs,
                    dir: path,
                    parent: parsed.parent,
                    description: parsed.description,
                },
            );
        }
        let recipes = Self { by_name };
        for r in recipes.iter() {
            recipes.chain(&r.name)?;
        }
        Ok(recipes)
    }

    /// Every recipe, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Recipe> {
        self.by_name.values()
    }

    /// The recipe called `name`.
    pub fn get(&self, name: &str) -> Result<&Recipe> {
        self.by_name.get(name).ok_or_else(|| {
            Error::usage(format!(
                "no image recipe named `{name}` (known: {})",
                self.by_name.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// `name` and its ancestors, root first. Fails on unknown parents and cycles.
    pub fn chain(&self, name: &str) -> Result<Vec<&Recipe>> {
        let mut chain = vec![self.get(name)?];
        while let Some(parent) = &chain.last().expect("non-empty").parent {
            let p = self.get(parent).map_err(|_| {
                Error::usage(format!(
                    "image recipe `{}` names unknown parent `{parent}`",
                    chain.last().expect("non-empty").name
                ))
            })?;
            if chain.iter().any(|r| r.name == p.name) {
                return Err(Error::usage(format!(
                    "image recipes form a cycle through `{}`",
                    p.name
                )));
            }
            chain.push(p);
        }
        chain.reverse();
        Ok(chain)
    }

    /// The content hash of `name`: its files and its parent's hash (12 hex digits).
    pub fn hash(&self, name: &str) -> Result<String> {
        let mut parent_hash = String::new();
        for recipe in self.chain(name)? {
            parent_hash = hash_dir(&recipe.dir, &recipe.inputs, &parent_hash)?;
        }
        Ok(parent_hash)
    }

    /// `ordeal/<name>:<hash>`.
    pub fn reference(&self, name: &str) -> Result<String> {
        Ok(format!("ordeal/{name}:{}", self.hash(name)?))
    }
}

/// sha256 over `parent`, every file under `dir` (relative path, mode bit, content), sorted,
/// and then the `inputs` in their given order.
fn hash_dir(dir: &Path, inputs: &[PathBuf], parent: &str) -> Result<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    files.extend(inputs.iter().cloned());
    let mut h = Sha256::new();
    h.update(b"ordeal-recipe-v1\0");
    h.update(parent.as_bytes());
    for rel in files {
        let path = dir.join(&rel);
        if !path.is_file() {
            return Err(Error::usage(format!(
                "image recipe input `{}` does not exist",
                path.display()
            )));
        }
        let data = fs::read(&path)
            .map_err(|e| Error::usage(format!("cannot read `{}`: {e}", path.display())))?;
        let exec = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0, u8::from(exec)]);
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    Ok(hex::encode(h.finalize())[..12].to_owned())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir)
        .map_err(|e| Error::usage(format!("cannot read `{}`: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        // Editor and VCS litter never changes an image.
        let n = name.to_string_lossy();
        if n.starts_with('.') || n.ends_with('~') || n == "__pycache__" || n == "target" {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).expect("under root").to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(root: &Path, name: &str, parent: Option<&str>, extra: &str) {
        let d = root.join(name);
        fs::create_dir_all(&d).unwrap();
        let p = parent
            .map(|p| format!("parent = \"{p}\"\n"))
            .unwrap_or_default();
        fs::write(
            d.join("recipe.toml"),
            format!("{p}description = \"{name}\"\n"),
        )
        .unwrap();
        fs::write(d.join("Dockerfile"), extra).unwrap();
    }

    #[test]
    fn hash_changes_with_the_recipe_and_its_parent_but_not_otherwise() {
        let t = tempfile::tempdir().unwrap();
        recipe(t.path(), "base", None, "a");
        recipe(t.path(), "workload", Some("base"), "b");
        let r = Recipes::load(t.path()).unwrap();
        let (base, work) = (r.hash("base").unwrap(), r.hash("workload").unwrap());
        assert_eq!(base.len(), 12);
        assert_eq!(
            Recipes::load(t.path()).unwrap().hash("workload").unwrap(),
            work,
            "stable"
        );

        fs::write(t.path().join("base/Dockerfile"), "a2").unwrap();
        let r2 = Recipes::load(t.path()).unwrap();
        assert_ne!(r2.hash("base").unwrap(), base);
        assert_ne!(
            r2.hash("workload").unwrap(),
            work,
            "a parent change rebuilds children"
        );

        fs::write(t.path().join("shared.sh"), "v1").unwrap();
        fs::write(
            t.path().join("workload/recipe.toml"),
            "parent = \"base\"\ninputs = [\"../shared.sh\"]\n",
        )
        .unwrap();
        let with_input = Recipes::load(t.path()).unwrap().hash("workload").unwrap();
        fs::write(t.path().join("shared.sh"), "v2").unwrap();
        assert_ne!(
            Recipes::load(t.path()).unwrap().hash("workload").unwrap(),
            with_input,
            "inputs count"
        );
        fs::remove_file(t.path().join("shared.sh")).unwrap();
        let e = Recipes::load(t.path())
            .unwrap()
            .hash("workload")
            .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        fs::write(t.path().join("workload/recipe.toml"), "parent = \"base\"\n").unwrap();

        fs::write(t.path().join("workload/.Dockerfile.swp"), "junk").unwrap();
        assert_eq!(
            Recipes::load(t.path()).unwrap().hash("workload").unwrap(),
            r2.hash("workload").unwrap()
        );
    }

    #[test]
    fn unknown_parents_cycles_and_bad_manifests_are_usage_errors() {
        let t = tempfile::tempdir().unwrap();
        recipe(t.path(), "a", Some("nope"), "");
        let e = Recipes::load(t.path()).unwrap_err();
        assert!(e.to_string().contains("unknown parent `nope`"), "{e}");

        let t = tempfile::tempdir().unwrap();
        recipe(t.path(), "a", Some("b"), "");
        recipe(t.path(), "b", Some("a"), "");
        assert!(
            Recipes::load(t.path())
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );

        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("x")).unwrap();
        fs::write(t.path().join("x/recipe.toml"), "parnet = 'base'\n").unwrap();
        let e = Recipes::load(t.path()).unwrap_err();
        assert!(
            e.to_string().contains("malformed") && e.to_string().contains("parnet"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod location {
    use super::*;

    #[test]
    fn the_hash_does_not_depend_on_where_the_checkout_lives() {
        let make = || {
            let t = tempfile::tempdir().unwrap();
            let root = t.path().join("some/where");
            fs::create_dir_all(root.join("images/base")).unwrap();
            fs::create_dir_all(root.join("scripts")).unwrap();
            fs::write(root.join("scripts/build.sh"), "echo build").unwrap();
            fs::write(
                root.join("images/base/recipe.toml"),
                "inputs = [\"../../scripts/build.sh\"]\n",
            )
            .unwrap();
            fs::write(root.join("images/base/packages.txt"), "iproute2\n").unwrap();
            let h = Recipes::load(&root.join("images"))
                .unwrap()
                .hash("base")
                .unwrap();
            (t, h)
        };
        let (_a, ha) = make();
        let (_b, hb) = make();
        assert_eq!(ha, hb);
    }
}
