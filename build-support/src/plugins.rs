//! [`Plugins`]: compile a folder (or a list) of modules from build.rs into
//! a table of embedded artifacts, for applications that ship many plugins
//! and pick one by name at run time.
//!
//! ```text
//! build.rs      Plugins::from_dir("plugins").write_table("plugins.rs")
//!                 ├─ every plugins/*.wasm, *.wat compiled for TARGET, in parallel, through the cache
//!                 ├─ $OUT_DIR/plugins.rs: `pub static PLUGINS: &[(&str, kiln::Artifact)]`
//!                 └─ cargo:rerun-if-changed for the folder and every file
//! src/main.rs   include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
//! ```
//!
//! Each artifact is embedded by the same code as `include_wasm!`'s
//! ([`embed`](crate::embed)), so it lies in the executable section and runs
//! in place.

use crate::build_script::{build_script_config, rustflags_directives};
use crate::cache::{cache_dir, compile_cached};
use crate::config::Config;
use crate::embed::{artifact_expr, Embed};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A set of wasm modules to compile, from build.rs, into a table of
/// artifacts embedded in place, for applications that ship many plugins and
/// pick one by name at run time:
///
/// ```text
/// build.rs      Plugins::from_dir("plugins").write_table("plugins.rs")
///                 ├─ every plugins/*.wasm, *.wat compiled for TARGET, in parallel, through the cache
///                 ├─ $OUT_DIR/plugins.rs: `pub static PLUGINS: &[(&str, kiln::Artifact)]`
///                 └─ cargo:rerun-if-changed for the folder and every file
/// src/main.rs   include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
/// ```
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), kiln_build::Error> {
///     kiln_build::Plugins::from_dir("plugins").write_table("plugins.rs")?;
///     Ok(())
/// }
/// ```
///
/// ```ignore
/// // src/main.rs
/// include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
///
/// fn plugin(name: &str) -> Option<&'static kiln::Artifact> {
///     let i = PLUGINS.binary_search_by_key(&name, |(n, _)| n).ok()?;
///     Some(&PLUGINS[i].1)
/// }
/// ```
///
/// - A plugin's name is its file name without the extension
///   (`plugins/upper.wat` → `"upper"`); the table is sorted by name, and two
///   files with the same name are an error.
/// - [`from_dir`](Self::from_dir) takes the `.wasm` and `.wat` files directly
///   in the folder (not in subfolders); [`from_files`](Self::from_files)
///   takes any files, whatever their extension.
/// - Relative paths are relative to the package (`CARGO_MANIFEST_DIR`).
/// - Modules are compiled for the target cargo is building (`TARGET`, its
///   target features and opt-level), unless [`config`](Self::config) says
///   otherwise; all at once, through the same cache as `include_wasm!`.
/// - Errors name the file.
#[derive(Debug, Clone)]
pub struct Plugins {
    source: Source,
    config: Option<Config>,
    static_name: String,
}

#[derive(Debug, Clone)]
enum Source {
    Dir(PathBuf),
    Files(Vec<PathBuf>),
}

/// What [`Plugins::generate`] produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The plugins' names, sorted.
    pub names: Vec<String>,
    /// The Rust source to `include!`.
    pub source: String,
    /// The `cargo:` lines that make cargo rerun the build script when a
    /// plugin is added, removed or changed (and when target flags change).
    pub directives: String,
}

impl Plugins {
    /// Every `.wasm` and `.wat` file directly inside `dir`. Adding or
    /// removing a file reruns the build script.
    pub fn from_dir(dir: impl AsRef<Path>) -> Plugins {
        Plugins::new(Source::Dir(dir.as_ref().to_path_buf()))
    }

    /// Exactly these files.
    pub fn from_files<I, P>(files: I) -> Plugins
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        Plugins::new(Source::Files(files.into_iter().map(|p| p.as_ref().to_path_buf()).collect()))
    }

    fn new(source: Source) -> Plugins {
        Plugins { source, config: None, static_name: "PLUGINS".to_string() }
    }

    /// Compile with these settings instead of the build's.
    pub fn config(mut self, config: Config) -> Plugins {
        self.config = Some(config);
        self
    }

    /// Name the generated static `name` instead of `PLUGINS` (e.g. to
    /// include two tables in one module).
    pub fn static_name(mut self, name: impl Into<String>) -> Plugins {
        self.static_name = name.into();
        self
    }

    /// Compile every plugin, write the table to `$OUT_DIR/<file_name>` and
    /// print the `cargo:` lines of [`Table::directives`]. Returns the path
    /// written. For build scripts.
    pub fn write_table(&self, file_name: impl AsRef<Path>) -> Result<PathBuf> {
        let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
            Error::io(
                file_name.as_ref(),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "OUT_DIR is not set: Plugins::write_table runs in a build script",
                ),
            )
        })?;
        let table = self.generate()?;
        let path = out_dir.join(file_name);
        // Written only when it changed, so that an unchanged table does not
        // make cargo recompile the crate that includes it.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(table.source.as_str()) {
            std::fs::write(&path, &table.source).map_err(|e| Error::io(&path, e))?;
        }
        print!("{}", table.directives);
        Ok(path)
    }

    /// Compile every plugin and return the table's source and the `cargo:`
    /// lines, without writing or printing anything.
    pub fn generate(&self) -> Result<Table> {
        let config = match &self.config {
            Some(config) => config.clone(),
            None => build_script_config(|name| std::env::var(name).ok())?,
        };
        let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
        self.generate_with(&config, &base, &cache_dir())
    }

    fn generate_with(&self, config: &Config, base: &Path, cache: &Path) -> Result<Table> {
        let ident = &self.static_name;
        let valid = ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(invalid_input(Path::new(ident), "the static's name must be a Rust identifier".to_string()));
        }
        let (mut directives, files) = match &self.source {
            Source::Dir(dir) => {
                let dir = base.join(dir);
                // cargo watches a folder by the newest modification time in
                // it, its own included: adding or removing a file updates it.
                (format!("cargo:rerun-if-changed={}\n", dir.display()), list_dir(&dir)?)
            }
            Source::Files(files) => (String::new(), files.iter().map(|f| base.join(f)).collect()),
        };
        let mut plugins = files
            .into_iter()
            .map(|path| Ok((plugin_name(&path)?, path)))
            .collect::<Result<Vec<(String, PathBuf)>>>()?;
        plugins.sort();
        for pair in plugins.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(invalid_input(
                    &pair[1].1,
                    format!("two plugins are named `{}`: {} and this file", pair[0].0, pair[0].1.display()),
                ));
            }
        }
        for (_, path) in &plugins {
            directives += &format!("cargo:rerun-if-changed={}\n", path.display());
        }
        directives += &rustflags_directives();
        // The build choices `build_script_config` reads.
        for var in [
            crate::ENV_CONSUME_FUEL,
            crate::ENV_EPOCH_INTERRUPTION,
            crate::ENV_BRANCH_PROTECTION,
            crate::ENV_DEBUG_INFO,
        ] {
            directives += &format!("cargo:rerun-if-env-changed={var}\n");
        }

        // Each compile also uses all cores for its functions; rayon shares
        // one pool between both levels.
        let compiled: Vec<Result<PathBuf>> = plugins
            .par_iter()
            .map(|(_, path)| {
                let wasm = crate::read_module(path)?;
                compile_cached(&wasm, config, cache).map_err(|e| e.in_file(path.display().to_string()))
            })
            .collect();

        let mut source = format!(
            "// Generated by kiln_build::Plugins: do not edit.\n\
             /// Plugins compiled at build time for this target, as `(name, artifact)`,\n\
             /// sorted by name (so `binary_search_by_key` finds one). Each artifact lies\n\
             /// in the executable section and runs in place.\n\
             pub static {}: &[(&str, ::kiln::Artifact)] = &[\n",
            self.static_name
        );
        for ((name, path), artifact) in plugins.iter().zip(compiled) {
            let artifact = artifact?;
            let label = path.display().to_string();
            let expr = artifact_expr(&Embed {
                artifact: &artifact,
                source: None,
                label: &label,
                triple: config.triple(),
                compiled_by: "kiln-build",
            })
            .map_err(|e| e.in_file(label.clone()))?;
            source += &format!("    ({name:?}, {}),\n", expr.replace('\n', "\n    "));
        }
        source += "];\n";
        let names = plugins.into_iter().map(|(name, _)| name).collect();
        Ok(Table { names, source, directives })
    }
}

/// The `.wasm` and `.wat` files directly in `dir`, sorted.
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let is_module = path.extension().is_some_and(|e| e == "wasm" || e == "wat");
        if is_module && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// `dir/name.ext` → `name`.
fn plugin_name(path: &Path) -> Result<String> {
    match path.file_stem().and_then(|s| s.to_str()) {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(invalid_input(path, "a plugin's file name must be valid UTF-8".to_string())),
    }
}

#[cold]
fn invalid_input(path: &Path, message: String) -> Error {
    Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder per test (tests run in parallel).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kiln-plugins-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        dir
    }

    const ANSWER: &str = r#"(module (func (export "answer") (result i32) i32.const 42))"#;

    fn generate(plugins: &Plugins, dir: &Path) -> Result<Table> {
        plugins.generate_with(&Config::host(), dir, &dir.join("cache"))
    }

    #[test]
    fn a_folder_becomes_a_sorted_table_and_is_watched() {
        let dir = scratch("folder");
        std::fs::write(dir.join("plugins/b.wat"), ANSWER).unwrap();
        std::fs::write(dir.join("plugins/a.wat"), ANSWER).unwrap();
        std::fs::write(dir.join("plugins/notes.txt"), "not a module").unwrap();
        let plugins = Plugins::from_dir("plugins");
        let table = generate(&plugins, &dir).unwrap();
        assert_eq!(table.names, ["a", "b"]);
        let p = dir.join("plugins");
        let lines: Vec<&str> = table.directives.lines().collect();
        assert_eq!(
            lines[..3],
            [
                format!("cargo:rerun-if-changed={}", p.display()),
                format!("cargo:rerun-if-changed={}", p.join("a.wat").display()),
                format!("cargo:rerun-if-changed={}", p.join("b.wat").display()),
            ]
        );
        assert!(lines[3..].iter().all(|l| l.starts_with("cargo:rerun-if-env-changed=")), "{lines:?}");
        assert!(table.source.contains("pub static PLUGINS: &[(&str, ::kiln::Artifact)] = &[\n"));
        let a = table.source.find("(\"a\", {").unwrap();
        let b = table.source.find("(\"b\", {").unwrap();
        assert!(a < b, "{}", table.source);

        // A file added to the folder is in the next table: cargo reruns the
        // build script because the folder itself is watched.
        std::fs::write(dir.join("plugins/c.wat"), ANSWER).unwrap();
        assert_eq!(generate(&plugins, &dir).unwrap().names, ["a", "b", "c"]);
        std::fs::remove_file(dir.join("plugins/a.wat")).unwrap();
        assert_eq!(generate(&plugins, &dir).unwrap().names, ["b", "c"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_list_watches_each_file() {
        let dir = scratch("list");
        std::fs::write(dir.join("plugins/x.wat"), ANSWER).unwrap();
        let bad = Plugins::from_files(["plugins/x.wat"]).static_name("MY TOOLS");
        assert!(generate(&bad, &dir).unwrap_err().to_string().contains("Rust identifier"));
        let plugins = Plugins::from_files(["plugins/x.wat"]).static_name("TOOLS");
        let table = generate(&plugins, &dir).unwrap();
        assert_eq!(table.names, ["x"]);
        assert!(table.source.contains("pub static TOOLS:"));
        assert_eq!(
            table.directives.lines().next().unwrap(),
            format!("cargo:rerun-if-changed={}", dir.join("plugins/x.wat").display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file() {
        let dir = scratch("errors");
        std::fs::write(dir.join("plugins/good.wat"), ANSWER).unwrap();
        std::fs::write(dir.join("plugins/bad.wat"), "(module (func (result i32)))").unwrap();
        let err = generate(&Plugins::from_dir("plugins"), &dir).unwrap_err();
        assert_eq!(err.path(), Some(dir.join("plugins/bad.wat").to_str().unwrap()), "{err}");

        std::fs::remove_file(dir.join("plugins/bad.wat")).unwrap();
        std::fs::write(dir.join("plugins/good.wasm"), wat::parse_str(ANSWER).unwrap()).unwrap();
        let err = generate(&Plugins::from_dir("plugins"), &dir).unwrap_err().to_string();
        assert!(err.contains("two plugins are named `good`"), "{err}");

        let err = generate(&Plugins::from_dir("missing"), &dir).unwrap_err();
        assert_eq!(err.path(), Some(dir.join("missing").to_str().unwrap()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
