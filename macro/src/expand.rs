//! The expansion of `include_wasm!("path")`.
//!
//! ```text
//! {
//!     // the macro and the runtime are one kiln
//!     const _: () = assert!(version_eq(kiln::VERSION, "<kiln-macro version>"), …);
//!     // the artifact's machine code is for one arch/OS: refuse any other
//!     #[cfg(not(all(target_arch = "<arch>", target_os = "<os>")))]
//!     compile_error!("… compiled for <triple> … add kiln_build::configure() …");
//!     // rustc records the source in dep-info, so cargo rebuilds when it changes
//!     const _: &[u8] = include_bytes!("<absolute source path>");
//!     #[repr(C, align(16))] struct __KilnAligned([u8; N]); // kiln_artifact::sections::TEXT_ALIGN
//!     #[link_section = "<executable section of the target's object format>"]
//!     static __KILN_ARTIFACT: __KilnAligned = __KilnAligned(*include_bytes!("<cache>/<hash>.kiln"));
//!     kiln::Artifact::__embedded_in_text(&__KILN_ARTIFACT.0)
//! }
//! ```
//!
//! The artifact's code needs no relocation, so bytes placed in a section the
//! OS loader maps read+execute run where they lie. The section is chosen from
//! the artifact's triple, which the target guard ties to the crate's target:
//!
//! | object format | section | why |
//! |---|---|---|
//! | ELF | `.text.kiln` | assemblers flag `.text.*` names `"ax"`; linkers merge them into `.text` |
//! | Mach-O | `__TEXT,__kiln_text,regular,pure_instructions` | the `__TEXT` segment is mapped r-x |
//! | other (PE…) | none: read-only data | the runtime copies the code into executable memory |

use crate::args::IncludeWasm;
use crate::diagnostics;
use kiln_build::cache::{cache_dir, compile_cached};
use kiln_build::Config;
use proc_macro2::TokenStream;
use quote::quote_spanned;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use syn::LitStr;
use target_lexicon::{Architecture, Environment, OperatingSystem, Triple};

pub(crate) fn expand(args: &IncludeWasm) -> syn::Result<TokenStream> {
    let lit = &args.path;
    let source = resolve(lit)?;
    let source_str = utf8(lit, &source)?;

    let config =
        Config::from_build_env().map_err(|e| diagnostics::module_error(lit, source_str, &e))?;
    let (arch, os) = cfg_values(config.triple()).ok_or_else(|| {
        diagnostics::other(
            lit,
            format!("kiln cannot embed code for target `{}`", config.triple()),
        )
    })?;

    // The compiler is not expected to panic, but a panic here would surface
    // as an opaque "proc macro panicked" with no file name.
    let compiled = catch_unwind(AssertUnwindSafe(|| {
        let wasm = kiln_build::read_module(&source)?;
        compile_cached(&wasm, &config, &cache_dir())
    }));
    let artifact = match compiled {
        Ok(Ok(path)) => path,
        Ok(Err(e)) => return Err(diagnostics::module_error(lit, source_str, &e)),
        Err(payload) => return Err(diagnostics::panicked(lit, &*payload)),
    };
    let artifact_str = utf8(lit, &artifact)?;
    let len = std::fs::metadata(&artifact)
        .map_err(|e| diagnostics::other(lit, format!("cannot read `{artifact_str}`: {e}")))?
        .len();
    let len = usize::try_from(len)
        .map_err(|_| diagnostics::other(lit, "the compiled artifact is too large"))?;

    let span = lit.span();
    let file = lit.value();
    let triple = config.triple().to_string();
    let version = env!("CARGO_PKG_VERSION");
    let version_message = format!(
        "kiln-macro {version} needs kiln {version}: use the same version of `kiln` and `kiln-macro`"
    );
    let wrong_target = format!(
        "kiln: `{file}` was compiled for {triple}, but this crate is built for another target; \
         add `fn main() {{ kiln_build::configure(); }}` to build.rs so include_wasm! compiles \
         for the build's target"
    );
    // The runtime runs the artifact's `.text` in place, at its offset from
    // these bytes: the bytes must be at least as aligned as the text is in
    // the image.
    let align = proc_macro2::Literal::u64_unsuffixed(kiln_artifact::sections::TEXT_ALIGN);
    let source_lit = LitStr::new(source_str, span);
    let artifact_lit = LitStr::new(artifact_str, span);

    let (placement, constructor) = match executable_section(os) {
        Some(section) => (
            // `unsafe(...)` is the form every edition accepts (2024 requires
            // it); the allow lets `#![deny(unsafe_code)]` crates use the macro.
            quote_spanned!(span=> #[allow(unsafe_code)] #[unsafe(link_section = #section)]),
            quote_spanned!(span=> ::kiln::Artifact::__embedded_in_text),
        ),
        None => (
            TokenStream::new(),
            quote_spanned!(span=> ::kiln::Artifact::from_static_bytes),
        ),
    };

    Ok(quote_spanned! {span=>
        {
            const _: () = ::core::assert!(
                ::kiln::__private::version_eq(::kiln::__private::VERSION, #version),
                #version_message
            );
            #[cfg(not(all(target_arch = #arch, target_os = #os)))]
            ::core::compile_error!(#wrong_target);
            const _: &[u8] = ::core::include_bytes!(#source_lit);
            #[repr(C, align(#align))]
            struct __KilnAligned([u8; #len]);
            #placement
            static __KILN_ARTIFACT: __KilnAligned =
                __KilnAligned(*::core::include_bytes!(#artifact_lit));
            #constructor(&__KILN_ARTIFACT.0)
        }
    })
}

/// The absolute path of the module: the literal joined to the crate's
/// directory (an absolute literal stays as it is).
fn resolve(lit: &LitStr) -> syn::Result<PathBuf> {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Err(diagnostics::other(
            lit,
            "CARGO_MANIFEST_DIR is not set; include_wasm! resolves paths against the crate's \
             directory, so it needs to run under cargo",
        ));
    };
    let path = Path::new(&manifest_dir).join(lit.value());
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(diagnostics::not_found(lit)),
        // Other failures (permissions, a directory) are reported by the read
        // itself, with the operating system's reason.
        _ => Ok(path),
    }
}

/// `include_bytes!` takes a string literal, so the path must be text.
fn utf8<'a>(lit: &LitStr, path: &'a Path) -> syn::Result<&'a str> {
    path.to_str().ok_or_else(|| {
        diagnostics::other(
            lit,
            format!("the path `{}` is not valid UTF-8", path.display()),
        )
    })
}

/// The `target_arch` and `target_os` cfg values rustc uses for `triple`, for
/// the architectures kiln compiles to.
fn cfg_values(triple: &Triple) -> Option<(&'static str, &'static str)> {
    let arch = match triple.architecture {
        Architecture::X86_64 | Architecture::X86_64h => "x86_64",
        Architecture::Aarch64(_) => "aarch64",
        Architecture::Riscv64(_) => "riscv64",
        Architecture::S390x => "s390x",
        _ => return None,
    };
    let os = match triple.operating_system {
        // Rust's Android targets are `<arch>-linux-android`: the OS part says
        // Linux, the environment says Android, and `target_os` follows the latter.
        OperatingSystem::Linux
            if matches!(
                triple.environment,
                Environment::Android | Environment::Androideabi
            ) =>
        {
            "android"
        }
        OperatingSystem::Linux => "linux",
        // Rust spells macOS triples `-apple-darwin`.
        OperatingSystem::Darwin(_) | OperatingSystem::MacOSX(_) => "macos",
        OperatingSystem::IOS(_) => "ios",
        OperatingSystem::TvOS(_) => "tvos",
        OperatingSystem::WatchOS(_) => "watchos",
        OperatingSystem::VisionOS(_) | OperatingSystem::XROS(_) => "visionos",
        OperatingSystem::Freebsd => "freebsd",
        OperatingSystem::Netbsd => "netbsd",
        OperatingSystem::Openbsd => "openbsd",
        OperatingSystem::Dragonfly => "dragonfly",
        OperatingSystem::Illumos => "illumos",
        OperatingSystem::Solaris => "solaris",
        OperatingSystem::Fuchsia => "fuchsia",
        OperatingSystem::Windows => "windows",
        OperatingSystem::None_ => "none",
        _ => return None,
    };
    Some((arch, os))
}

/// The link section that `os`'s loader maps read+execute (`os` as in
/// `target_os`), or `None` when kiln does not know one for its object format.
fn executable_section(os: &str) -> Option<&'static str> {
    match os {
        // ELF. `target_lexicon`'s binary format is `Unknown` for bare-metal
        // triples, so go by the OS, as rustc's own target specs do.
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos"
        | "solaris" | "fuchsia" | "none" => Some(".text.kiln"),
        // Mach-O.
        "macos" | "ios" | "tvos" | "watchos" | "visionos" => {
            Some("__TEXT,__kiln_text,regular,pure_instructions")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn cfg(triple: &str) -> Option<(&'static str, &'static str)> {
        cfg_values(&Triple::from_str(triple).unwrap())
    }

    #[test]
    fn triples_map_to_rustc_cfg_values() {
        assert_eq!(cfg("x86_64-unknown-linux-gnu"), Some(("x86_64", "linux")));
        assert_eq!(cfg("x86_64-unknown-linux-musl"), Some(("x86_64", "linux")));
        assert_eq!(cfg("aarch64-unknown-linux-gnu"), Some(("aarch64", "linux")));
        assert_eq!(cfg("aarch64-linux-android"), Some(("aarch64", "android")));
        assert_eq!(cfg("aarch64-apple-darwin"), Some(("aarch64", "macos")));
        assert_eq!(cfg("x86_64-apple-darwin"), Some(("x86_64", "macos")));
        assert_eq!(cfg("aarch64-apple-ios"), Some(("aarch64", "ios")));
        assert_eq!(
            cfg("riscv64gc-unknown-linux-gnu"),
            Some(("riscv64", "linux"))
        );
        assert_eq!(cfg("s390x-unknown-linux-gnu"), Some(("s390x", "linux")));
        assert_eq!(cfg("x86_64-unknown-freebsd"), Some(("x86_64", "freebsd")));
        assert_eq!(cfg("x86_64-pc-windows-msvc"), Some(("x86_64", "windows")));
        assert_eq!(cfg("aarch64-unknown-none"), Some(("aarch64", "none")));
        assert_eq!(cfg("i686-unknown-linux-gnu"), None);
        assert_eq!(cfg("wasm32-unknown-unknown"), None);
    }

    #[test]
    fn sections_follow_the_object_format() {
        let section = |t: &str| cfg(t).and_then(|(_, os)| executable_section(os));
        assert_eq!(section("x86_64-unknown-linux-gnu"), Some(".text.kiln"));
        assert_eq!(section("aarch64-linux-android"), Some(".text.kiln"));
        assert_eq!(section("aarch64-unknown-none"), Some(".text.kiln"));
        let macho = Some("__TEXT,__kiln_text,regular,pure_instructions");
        assert_eq!(section("aarch64-apple-darwin"), macho);
        assert_eq!(section("aarch64-apple-ios"), macho);
        assert_eq!(section("x86_64-pc-windows-msvc"), None);
    }
}
