//! Content-hash cache of compiled artifacts.
//!
//! `include_wasm!` runs inside rustc every time the crate that uses it is
//! compiled, which is far more often than the module changes. The cache makes
//! an unchanged rebuild cost one SHA-256 of the input instead of a Cranelift
//! compile:
//!
//! ```text
//! key  = sha256(wasm bytes, KILN_VERSION, compiler source fingerprint, FORMAT_VERSION, config settings)
//! file = <cache dir>/<hex key>.kiln        (the artifact bytes, nothing else)
//! ```
//!
//! Entries are never updated in place: a miss writes a temporary file next to
//! the final one and renames it over, so rustc processes compiling in
//! parallel (or a build interrupted half way) never see a partial artifact.
//! Two processes missing on the same key both compile and the last rename
//! wins; the bytes are identical, so it does not matter which.
//!
//! Nothing is ever evicted: the directory lives under cargo's target
//! directory and goes away with `cargo clean`.

use crate::config::Config;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Environment variable that overrides [`cache_dir`].
pub const ENV_CACHE_DIR: &str = "KILN_CACHE_DIR";

/// File extension of cached artifacts.
pub const EXTENSION: &str = "kiln";

/// The directory artifacts are cached in when compiling inside a cargo build.
///
/// In order of preference:
///
/// 1. `KILN_CACHE_DIR`, when set;
/// 2. `<target dir>/kiln-cache`, where the target directory is derived from
///    `OUT_DIR` (set by cargo for crates with a build script, e.g. one calling
///    [`configure`](crate::configure)): `OUT_DIR` is
///    `<target dir>[/<triple>]/<profile>/build/<pkg>-<hash>/out`;
/// 3. `$CARGO_TARGET_DIR/kiln-cache`, when that is set in the environment;
/// 4. `<dir>/target/kiln-cache`, where `<dir>` is the nearest ancestor of
///    `CARGO_MANIFEST_DIR` holding a `Cargo.lock` (the workspace root);
/// 5. `kiln-cache` in the system's temporary directory.
///
/// One cache serves every profile and target of a workspace: the key covers
/// everything that changes the artifact.
pub fn cache_dir() -> PathBuf {
    cache_dir_from(|name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from))
}

fn cache_dir_from(env: impl Fn(&str) -> Option<PathBuf>) -> PathBuf {
    if let Some(dir) = env(ENV_CACHE_DIR) {
        return dir;
    }
    if let Some(target) = env("OUT_DIR").as_deref().and_then(target_dir_of_out_dir) {
        return target.join("kiln-cache");
    }
    // Relative target dirs are relative to where cargo was started, which
    // rustc (and so this proc macro) does not know; only trust absolute ones.
    if let Some(target) = env("CARGO_TARGET_DIR").filter(|d| d.is_absolute()) {
        return target.join("kiln-cache");
    }
    if let Some(manifest_dir) = env("CARGO_MANIFEST_DIR") {
        if let Some(root) = manifest_dir.ancestors().find(|d| d.join("Cargo.lock").is_file()) {
            return root.join("target").join("kiln-cache");
        }
    }
    std::env::temp_dir().join("kiln-cache")
}

/// `<target>[/<triple>]/<profile>/build/<pkg>-<hash>/out` → `<target>`.
fn target_dir_of_out_dir(out_dir: &Path) -> Option<PathBuf> {
    let mut up = out_dir.ancestors();
    let (_out, _pkg, build, profile) = (up.next()?, up.next()?, up.next()?, up.next()?);
    if build.file_name()? != "build" {
        return None;
    }
    let above_profile = profile.parent()?;
    // Cross builds add a `<triple>` level; cargo marks the real target
    // directory with CACHEDIR.TAG, so prefer the level that has it.
    [above_profile, above_profile.parent().unwrap_or(above_profile)]
        .into_iter()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .or(Some(above_profile))
        .map(Path::to_path_buf)
}

/// Compile `wasm` for `config`, or reuse the artifact compiled earlier from
/// the same bytes with the same settings and kiln version.
///
/// Returns the path of the artifact file in `dir` (created if needed). On a
/// hit nothing is compiled and nothing is written. I/O failures name the
/// file they happened on.
pub fn compile_cached(wasm: &[u8], config: &Config, dir: &Path) -> Result<PathBuf> {
    compile_cached_with(wasm, config, dir, crate::compile)
}

fn compile_cached_with(
    wasm: &[u8],
    config: &Config,
    dir: &Path,
    compile: impl FnOnce(&[u8], &Config) -> Result<Vec<u8>>,
) -> Result<PathBuf> {
    let path = dir.join(format!("{}.{EXTENSION}", cache_key(wasm, config)));
    if path.is_file() {
        return Ok(path);
    }
    let artifact = compile(wasm, config)?;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_atomically(&path, &artifact)?;
    Ok(path)
}

/// The hex SHA-256 naming the cache entry of `wasm` compiled with `config`.
fn cache_key(wasm: &[u8], config: &Config) -> String {
    let mut hasher = Sha256::new();
    // Length prefixes keep the fields apart: no two different inputs can
    // produce the same byte stream by moving bytes across a boundary.
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(wasm);
    field(kiln_artifact::KILN_VERSION.as_bytes());
    // Sources of this compiler: a rebuilt compiler never reuses old artifacts.
    field(env!("KILN_BUILD_FINGERPRINT").as_bytes());
    field(&[kiln_artifact::FORMAT_VERSION]);
    field(config.cache_key().as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Write `bytes` to `path` so that readers see either no file or the whole of
/// it, even with several processes writing the same path at once.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    // Unique among concurrent writers: other processes differ by pid, other
    // threads of this one (several macro expansions) by the counter.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp =
        path.with_extension(format!("{EXTENSION}.{}.{}.tmp", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes)).map_err(|e| Error::io(&tmp, e));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        // Platforms whose rename refuses to replace a file: another process
        // won the race and its bytes are the same as ours.
        if path.is_file() {
            return Ok(());
        }
        return Err(Error::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A fresh, empty directory per test (tests run in parallel).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kiln-cache-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Stands in for the compiler: counts calls, returns recognisable bytes.
    fn fake_compiler(calls: &Cell<u32>) -> impl Fn(&[u8], &Config) -> Result<Vec<u8>> + '_ {
        move |wasm, _| {
            calls.set(calls.get() + 1);
            Ok([b"ELF:".as_slice(), wasm].concat())
        }
    }

    #[test]
    fn hit_does_not_recompile() {
        let dir = scratch("hit");
        let calls = Cell::new(0);
        let config = Config::host();

        let first = compile_cached_with(b"\0asm1", &config, &dir, fake_compiler(&calls)).unwrap();
        assert_eq!(calls.get(), 1);
        assert_eq!(fs::read(&first).unwrap(), b"ELF:\0asm1");
        let mtime = fs::metadata(&first).unwrap().modified().unwrap();

        let second = compile_cached_with(b"\0asm1", &config, &dir, fake_compiler(&calls)).unwrap();
        assert_eq!(second, first);
        assert_eq!(calls.get(), 1, "a hit must not compile");
        assert_eq!(fs::metadata(&second).unwrap().modified().unwrap(), mtime);

        compile_cached_with(b"\0asm2", &config, &dir, fake_compiler(&calls)).unwrap();
        assert_eq!(calls.get(), 2, "other bytes are a miss");

        // Only the two entries: no temporary file is left behind.
        let mut names: Vec<_> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.ends_with(".kiln") && n.len() == 64 + 5), "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_compile_caches_nothing() {
        let dir = scratch("fail");
        let err = compile_cached_with(b"junk", &Config::host(), &dir, |_, _| Err(Error::invalid("bad magic", 0)))
            .unwrap_err();
        assert_eq!(err.message(), "bad magic");
        assert!(!dir.exists() || fs::read_dir(&dir).unwrap().next().is_none());
    }

    #[test]
    fn every_setting_changes_the_key() {
        let wasm = b"\0asm\x01\0\0\0";
        let base = Config::host();
        let key = cache_key(wasm, &base);
        assert_eq!(key, cache_key(wasm, &base.clone()), "the key is deterministic");
        assert_ne!(key, cache_key(b"\0asm\x01\0\0\x01", &base));

        let mut other = base.clone();
        other.opt_level(crate::OptLevel::None);
        assert_ne!(key, cache_key(wasm, &other));

        let mut other = base.clone();
        other.target_features(["avx2"]);
        assert_ne!(key, cache_key(wasm, &other));

        let mut other = base.clone();
        other.consume_fuel(true);
        assert_ne!(key, cache_key(wasm, &other));

        let mut other = base.clone();
        other.debug_info(true);
        assert_ne!(key, cache_key(wasm, &other));

        let other_arch =
            if cfg!(target_arch = "aarch64") { "x86_64-unknown-linux-gnu" } else { "aarch64-unknown-linux-gnu" };
        assert_ne!(key, cache_key(wasm, &Config::for_target(other_arch).unwrap()));
    }

    #[test]
    fn feature_order_does_not_matter() {
        let (mut a, mut b) = (Config::host(), Config::host());
        a.target_features(["sse4.1", "avx2"]);
        b.target_features(["avx2", "sse4.1"]);
        assert_eq!(cache_key(b"x", &a), cache_key(b"x", &b));
    }

    #[test]
    fn cache_dir_preferences() {
        let root = scratch("dir");
        let target = root.join("target");
        let out = target.join("release/build/foo-0123/out");
        fs::create_dir_all(&out).unwrap();
        fs::write(target.join("CACHEDIR.TAG"), "").unwrap();
        fs::write(root.join("Cargo.lock"), "").unwrap();
        let member = root.join("crates/foo");
        fs::create_dir_all(&member).unwrap();

        let with = |vars: &[(&str, &Path)]| {
            let vars: Vec<(String, PathBuf)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_path_buf())).collect();
            cache_dir_from(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        let kiln_cache = target.join("kiln-cache");

        assert_eq!(with(&[(ENV_CACHE_DIR, Path::new("/x")), ("OUT_DIR", &out)]), Path::new("/x"));
        assert_eq!(with(&[("OUT_DIR", &out), ("CARGO_TARGET_DIR", Path::new("/t"))]), kiln_cache);

        let cross_out = target.join("aarch64-unknown-linux-gnu/debug/build/foo-0123/out");
        assert_eq!(with(&[("OUT_DIR", &cross_out)]), kiln_cache);

        assert_eq!(with(&[("CARGO_TARGET_DIR", Path::new("/t"))]), Path::new("/t/kiln-cache"));
        assert_eq!(
            with(&[("CARGO_TARGET_DIR", Path::new("rel")), ("CARGO_MANIFEST_DIR", &member)]),
            kiln_cache,
            "a relative CARGO_TARGET_DIR is ignored"
        );
        assert_eq!(with(&[("CARGO_MANIFEST_DIR", &member)]), kiln_cache);
        assert_eq!(with(&[]), std::env::temp_dir().join("kiln-cache"));
        fs::remove_dir_all(&root).unwrap();
    }
}
