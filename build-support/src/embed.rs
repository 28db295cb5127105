//! The Rust code that embeds a compiled artifact in a binary: the one place
//! that decides the link section, the alignment, the version guard and the
//! target guard. `include_wasm!` (which parses this text into tokens) and
//! [`Plugins`](crate::Plugins) (which writes it into a file for `include!`)
//! both emit it, so an artifact embedded either way runs in place.
//!
//! The expression, for a module compiled for `<triple>`:
//!
//! ```text
//! {
//!     // the compiler and the runtime are one kiln
//!     const _: () = assert!(version_eq(kiln::VERSION, "<kiln version>"), …);
//!     // the artifact's machine code is for one arch/OS: refuse any other
//!     #[cfg(not(all(target_arch = "<arch>", target_os = "<os>")))]
//!     compile_error!("… compiled for <triple> … add kiln_build::configure() …");
//!     // rustc records the source in dep-info, so cargo rebuilds when it changes
//!     const _: &[u8] = include_bytes!("<absolute source path>");
//!     // ELF and PE/COFF: the assembler writes the bytes into the code section
//!     mod __kiln_artifact {
//!         global_asm!(".section <section>", ".p2align 6", ".globl <sym>", "<sym>:",
//!                     ".incbin \"<cache>/<hash>.kiln\"",
//!                     /* ELF: one `.set kiln.<module>.<func>, <sym> + <offset>`,
//!                        `.type … STT_FUNC`, `.size …` per function */ ".text");
//!         unsafe extern "C" { pub static <sym>: [u8; N]; }
//!     }
//!     kiln::Artifact::__embedded_in_text(unsafe { &__kiln_artifact::<sym> })
//!     // Mach-O: #[repr(C, align(64))] struct __KilnAligned([u8; N]);
//!     // #[link_section = "__TEXT,__kiln_text,…"] static __KILN_ARTIFACT: __KilnAligned = …;
//! }
//! ```
//!
//! The artifact's code needs no relocation, so bytes placed in a section the
//! OS loader maps read+execute run where they lie. The section is chosen from
//! the artifact's triple, which the target guard ties to the crate's target:
//!
//! | object format | section | why |
//! |---|---|---|
//! | ELF | `.text.kiln` | written by `global_asm!` (`.incbin`) with `"ax"` flags; linkers merge `.text.*` into `.text`; the same assembly defines a `kiln.<module>.<function>` symbol per wasm function, for perf and gdb |
//! | Mach-O | `__TEXT,__kiln_text,regular,pure_instructions` | the `__TEXT` segment is mapped r-x |
//! | PE/COFF | `.text$kiln` | a grouped section: linkers merge `.text$*` into `.text`; written by `global_asm!` (`.incbin`) with code flags, as a static's section is data and lld would keep it out of the executable `.text` |
//! | other | none: read-only data | the runtime copies the code into executable memory |
//!
//! Under Miri every target takes the last row: Miri interprets Rust, so it
//! can neither read a symbol defined in assembly nor run machine code; the
//! runtime loads the copy and refuses calls into it (see `kiln`'s
//! `vm::sys::miri`).

use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;
use target_lexicon::{Architecture, Environment, OperatingSystem, Triple};

/// One artifact to embed.
#[derive(Debug, Clone, Copy)]
pub struct Embed<'a> {
    /// The artifact file (`include_bytes!`-ed).
    pub artifact: &'a Path,
    /// The module's source, tracked with `include_bytes!` so that cargo
    /// rebuilds the crate when it changes (`None`: not tracked).
    pub source: Option<&'a Path>,
    /// The file as the user named it, for messages.
    pub label: &'a str,
    /// The target the artifact was compiled for.
    pub triple: &'a Triple,
    /// Who compiled it (`kiln-macro`, `kiln-build`), for the version message.
    pub compiled_by: &'a str,
}

/// The Rust source of a block expression of type `kiln::Artifact` holding
/// `embed`'s artifact in the binary's executable section (see the module
/// documentation). Items declared inside it are private to the block, so
/// any number of them can sit side by side.
pub fn artifact_expr(embed: &Embed<'_>) -> Result<String> {
    let Embed { artifact, source, label, triple, compiled_by } = *embed;
    let (arch, os) =
        cfg_values(triple).ok_or_else(|| Error::target(format!("kiln cannot embed code for target `{triple}`")))?;
    let len = std::fs::metadata(artifact).map_err(|e| Error::io(artifact, e))?.len();
    let artifact = utf8(artifact)?;
    let version = kiln_artifact::KILN_VERSION;
    let version_message = format!(
        "{compiled_by} {version} needs kiln {version}: use the same version of `kiln`, \
         `kiln-macro` and `kiln-build`"
    );
    let wrong_target = format!(
        "kiln: `{label}` was compiled for {triple}, but this crate is built for another target; \
         add `fn main() {{ kiln_build::configure(); }}` to build.rs so include_wasm! compiles \
         for the build's target"
    );
    // The runtime runs the artifact's `.text` in place, at its offset from
    // these bytes: the bytes must be at least as aligned as the text is in
    // the image.
    let align = kiln_artifact::sections::TEXT_ALIGN;

    let mut out = String::from("{\n");
    let _ = writeln!(
        out,
        "    const _: () = ::core::assert!(::kiln::__private::version_eq(\
         ::kiln::__private::VERSION, {version:?}), {version_message:?});"
    );
    let _ = writeln!(
        out,
        "    #[cfg(not(all(target_arch = {arch:?}, target_os = {os:?})))]\n    \
         ::core::compile_error!({wrong_target:?});"
    );
    if let Some(source) = source {
        let _ = writeln!(out, "    const _: &[u8] = ::core::include_bytes!({:?});", utf8(source)?);
    }
    match placement(os) {
        Placement::Section(section) => {
            // `unsafe(...)` is the form every edition accepts (2024 requires
            // it); the allow lets `#![deny(unsafe_code)]` crates use it.
            let _ = writeln!(
                out,
                "    #[repr(C, align({align}))]\n    #[cfg(not(miri))]\n    struct __KilnAligned([u8; {len}]);\n    \
                 #[allow(unsafe_code)]\n    #[unsafe(link_section = {section:?})]\n    #[cfg(not(miri))]\n    \
                 static __KILN_ARTIFACT: __KilnAligned = __KilnAligned(*::core::include_bytes!({artifact:?}));\n    \
                 #[cfg(not(miri))]\n    \
                 let artifact = ::kiln::Artifact::__embedded_in_text(&__KILN_ARTIFACT.0);"
            );
        }
        Placement::Assembly(section) => {
            // The bytes come in through the assembler, which writes the
            // section with code characteristics; the static is their
            // symbol, which nothing else defines.
            let symbol = unique_symbol(label, len);
            let asm_path = artifact.replace('\\', "\\\\").replace('"', "\\\"").replace('{', "{{").replace('}', "}}");
            let mut lines = vec![
                format!(".section {section}"),
                format!(".p2align {}", align.trailing_zeros()),
                format!(".globl {symbol}"),
                format!("{symbol}:"),
                format!(".incbin \"{asm_path}\""),
            ];
            // On ELF, a local function symbol per wasm function, so that
            // perf, gdb and other tools reading the executable's symbol
            // table name the code that runs in place.
            if os != "windows" {
                let bytes = std::fs::read(artifact).map_err(|e| Error::io(Path::new(artifact), e))?;
                for f in function_symbols(&bytes, label) {
                    lines.push(format!(".set {}, {symbol} + {}", f.name, f.offset));
                    lines.push(format!(".type {}, STT_FUNC", f.name));
                    lines.push(format!(".size {}, {}", f.name, f.size));
                }
            }
            lines.push(".text".to_string());
            let asm: Vec<String> = lines.iter().map(|l| format!("{l:?}")).collect();
            // `global_asm!` is a module item, not a statement: a module of
            // its own holds it and the static.
            let _ = writeln!(
                out,
                "    #[cfg(not(miri))]\n    mod __kiln_artifact {{\n        \
                 ::core::arch::global_asm!({});\n        \
                 #[allow(unsafe_code)]\n        \
                 unsafe extern \"C\" {{\n            pub static {symbol}: [u8; {len}];\n        }}\n    }}\n    \
                 // The bytes are immutable code, defined by the assembly above.\n    \
                 #[allow(unsafe_code)]\n    #[cfg(not(miri))]\n    \
                 let artifact = ::kiln::Artifact::__embedded_in_text(unsafe {{ &__kiln_artifact::{symbol} }});",
                asm.join(", ")
            );
        }
        Placement::Data => {}
    }
    // Data: the target has no executable section for the bytes, or Miri
    // runs the crate (it interprets Rust, so it can neither read a symbol
    // defined in assembly nor run code in place). Loading copies.
    let cfg = match placement(os) {
        Placement::Data => "",
        _ => "#[cfg(miri)]\n    ",
    };
    let _ = writeln!(
        out,
        "    #[repr(C, align({align}))]\n    {cfg}struct __KilnData([u8; {len}]);\n    \
         {cfg}static __KILN_DATA: __KilnData = __KilnData(*::core::include_bytes!({artifact:?}));\n    \
         {cfg}let artifact = ::kiln::Artifact::__embedded_in_data(&__KILN_DATA.0);\n    \
         artifact\n}}"
    );
    Ok(out)
}

/// One wasm function's symbol: its name, its offset from the artifact's
/// first byte, its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSymbol {
    /// `kiln.<module>.<function>`: the module is the file's stem, the
    /// function its name-section name, else its export name, else
    /// `func<index>`; anything but letters, digits, `_` and `.` becomes
    /// `_`, and a name taken twice gets `.<index>` appended.
    pub name: String,
    /// Offset of the body from the start of the artifact bytes.
    pub offset: u64,
    /// Size of the body in bytes.
    pub size: u32,
}

/// The symbols of `artifact`'s defined functions (none if its sections
/// cannot be read: symbols are a debugging aid, never a reason to fail).
pub fn function_symbols(artifact: &[u8], label: &str) -> Vec<FunctionSymbol> {
    use kiln_artifact::info::{ExportKind, ModuleInfo};
    use object::{Object, ObjectSection};
    let Ok(elf) = object::File::parse(artifact) else { return Vec::new() };
    let section = |name: &str| elf.section_by_name(name);
    let Some((text_offset, _)) = section(kiln_artifact::sections::TEXT).and_then(|s| s.file_range()) else {
        return Vec::new();
    };
    let Some(info) = section(kiln_artifact::sections::INFO)
        .and_then(|s| s.data().ok())
        .and_then(|b| kiln_artifact::decode_postcard::<ModuleInfo>(kiln_artifact::sections::INFO, b).ok())
    else {
        return Vec::new();
    };
    let names = section(kiln_artifact::sections::NAMES).and_then(|s| s.data().ok()).unwrap_or(&[]);
    let clean = symbol_part;
    let module = clean(Path::new(label).file_stem().and_then(|s| s.to_str()).unwrap_or("module"));
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (d, f) in info.defined_funcs.iter().enumerate() {
        let index = info.num_imported_funcs + d as u32;
        let own = names
            .get(f.name.start as usize..f.name.end() as usize)
            .and_then(|b| std::str::from_utf8(b).ok())
            .filter(|n| !n.is_empty());
        let export = || {
            info.exports.iter().find_map(|e| match e.kind {
                ExportKind::Func(i) if i.0 == index => Some(e.name.as_str()),
                _ => None,
            })
        };
        let func = own.or_else(export).map_or_else(|| format!("func{index}"), clean);
        let mut name = format!("kiln.{module}.{func}");
        if !taken.insert(name.clone()) {
            name = format!("{name}.{index}");
            taken.insert(name.clone());
        }
        out.push(FunctionSymbol {
            name: name.clone(),
            offset: text_offset + u64::from(f.body.start),
            size: f.body.len,
        });
        // Its entry from the host: a frame between host and wasm frames,
        // which a debugger must recognise to walk past it.
        if let Some(t) = f.array_trampoline {
            out.push(FunctionSymbol {
                name: format!("{name}.array_entry"),
                offset: text_offset + u64::from(t.start),
                size: t.len,
            });
        }
    }
    for (i, (ty, t)) in info.wasm_to_array_trampolines.iter().enumerate() {
        out.push(FunctionSymbol {
            name: format!("kiln.{module}.host_call{}.{i}", ty.0),
            offset: text_offset + u64::from(t.start),
            size: t.len,
        });
    }
    out
}

/// A module or function name as part of a symbol: anything but letters,
/// digits, `_` and `.` becomes `_`.
pub(crate) fn symbol_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' }).collect()
}

/// A symbol name for one embedded artifact, the same in every build of
/// the same crate but unique in a program: the package embedding it, the
/// artifact's label and size, and the how-manieth embedding of this
/// compilation it is (two crates may embed the same file).
fn unique_symbol(label: &str, len: u64) -> String {
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for var in ["CARGO_PKG_NAME", "CARGO_PKG_VERSION", "CARGO_CRATE_NAME"] {
        std::env::var(var).unwrap_or_default().hash(&mut h);
    }
    (label, len, NEXT.fetch_add(1, Ordering::Relaxed)).hash(&mut h);
    format!("__kiln_artifact_{:016x}", h.finish())
}

/// `include_bytes!` takes a string literal, so paths must be text.
fn utf8(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| {
        Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not valid UTF-8"))
    })
}

/// The `target_arch` and `target_os` cfg values rustc uses for `triple`, for
/// the architectures kiln compiles to.
pub fn cfg_values(triple: &Triple) -> Option<(&'static str, &'static str)> {
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
        OperatingSystem::Linux if matches!(triple.environment, Environment::Android | Environment::Androideabi) => {
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

/// How an artifact is placed where `os`'s loader maps it read+execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A static with `#[link_section]`: the section's name alone makes it
    /// code (Mach-O `pure_instructions`).
    Section(&'static str),
    /// Bytes written by the assembler into a section whose flags it is
    /// given (`.section` directive operands). PE/COFF needs it: a static's
    /// section is always data, which LLVM's linker keeps out of the
    /// executable `.text` even when the name says `.text$…`. ELF uses it
    /// too, so the same assembly can define a symbol per wasm function at
    /// its offset in the bytes.
    Assembly(&'static str),
    /// Read-only data; the runtime copies the code.
    Data,
}

/// The placement for `os` (as in `target_os`).
pub fn placement(os: &str) -> Placement {
    match executable_section(os) {
        Some(_) if os == "windows" => Placement::Assembly(".text$kiln,\"xr\""),
        // The assembler also defines the functions' symbols next to the
        // bytes (see `function_symbols`).
        Some(_) if is_elf(os) => Placement::Assembly(".text.kiln,\"ax\""),
        Some(section) => Placement::Section(section),
        None => Placement::Data,
    }
}

fn is_elf(os: &str) -> bool {
    executable_section(os) == Some(".text.kiln")
}

/// The link section that `os`'s loader maps read+execute (`os` as in
/// `target_os`), or `None` when kiln does not know one for its object format.
pub fn executable_section(os: &str) -> Option<&'static str> {
    match os {
        // ELF. `target_lexicon`'s binary format is `Unknown` for bare-metal
        // triples, so go by the OS, as rustc's own target specs do.
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos" | "solaris" | "fuchsia"
        | "none" => Some(".text.kiln"),
        // Mach-O.
        "macos" | "ios" | "tvos" | "watchos" | "visionos" => Some("__TEXT,__kiln_text,regular,pure_instructions"),
        // PE/COFF: a grouped section, which GNU ld and lld merge into
        // `.text` (sorted by what follows the `$`), so it is mapped with the
        // program's code, execute-read.
        "windows" => Some(".text$kiln"),
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
        assert_eq!(cfg("riscv64gc-unknown-linux-gnu"), Some(("riscv64", "linux")));
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
        assert_eq!(section("x86_64-pc-windows-msvc"), Some(".text$kiln"));
        assert_eq!(section("x86_64-pc-windows-gnu"), Some(".text$kiln"));
    }

    #[test]
    fn expression_places_aligned_bytes_in_the_text_section() {
        let dir = std::env::temp_dir().join(format!("kiln-embed-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let artifact = dir.join("a \"quoted\" name.kiln");
        std::fs::write(&artifact, [0u8; 48]).unwrap();
        let triple = Triple::from_str("x86_64-unknown-linux-gnu").unwrap();
        let embed = Embed {
            artifact: &artifact,
            source: None,
            label: "plugins/a.wat",
            triple: &triple,
            compiled_by: "kiln-build",
        };
        let code = artifact_expr(&embed).unwrap();
        assert!(code.contains(r#"".section .text.kiln,\"ax\"""#), "{code}");
        assert!(code.contains(r#"".p2align 6""#), "{code}");
        assert!(code.contains("[u8; 48]"), "{code}");
        assert!(code.contains(r#"a \\\"quoted\\\" name.kiln"#), "paths are escaped: {code}");
        assert!(code.contains("::kiln::Artifact::__embedded_in_text(unsafe"), "{code}");
        assert!(!code.contains(".set kiln."), "no symbols for bytes that are no artifact: {code}");
        assert!(code.contains(r#"target_arch = "x86_64", target_os = "linux""#), "{code}");
        assert!(!code.contains("include_bytes!(\"plugins"), "untracked source: {code}");

        let windows = Triple::from_str("x86_64-pc-windows-msvc").unwrap();
        let code = artifact_expr(&Embed { triple: &windows, ..embed }).unwrap();
        assert!(code.contains(r#"".section .text$kiln,\"xr\"""#), "{code}");
        assert!(code.contains(r#"".incbin \""#) && code.contains(r#"a \\\"quoted\\\" name.kiln"#), "{code}");
        assert!(code.contains("::kiln::Artifact::__embedded_in_text(unsafe"), "{code}");
        assert!(!code.contains("link_section"), "{code}");

        let macos = Triple::from_str("aarch64-apple-darwin").unwrap();
        let code = artifact_expr(&Embed { triple: &macos, ..embed }).unwrap();
        assert!(code.contains("#[unsafe(link_section = \"__TEXT,__kiln_text,regular,pure_instructions\")]"), "{code}");
        assert!(code.contains("#[repr(C, align(64))]"), "{code}");

        let i686 = Triple::from_str("i686-unknown-linux-gnu").unwrap();
        assert!(artifact_expr(&Embed { triple: &i686, ..embed }).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_function_gets_a_symbol_at_its_body() {
        let wasm = wat::parse_str(
            r#"(module (func $inner (result i32) (i32.const 1))
                 (func (export "outer") (result i32) (call $inner))
                 (func (export "x y") (result i32) (i32.const 2)))"#,
        )
        .unwrap();
        let bytes = crate::compile(&wasm, &crate::Config::host()).unwrap();
        let symbols = function_symbols(&bytes, "plugins/my-plugin.wat");
        let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kiln.my_plugin.inner",
                "kiln.my_plugin.outer",
                "kiln.my_plugin.outer.array_entry",
                "kiln.my_plugin.x_y",
                "kiln.my_plugin.x_y.array_entry"
            ]
        );
        use object::{Object, ObjectSection};
        let elf = object::File::parse(&*bytes).unwrap();
        let text = elf.section_by_name(".text").unwrap().file_range().unwrap();
        for s in &symbols {
            assert!(s.offset >= text.0 && s.offset + u64::from(s.size) <= text.0 + text.1, "{s:?}");
            assert!(s.size > 0);
        }
        assert!(function_symbols(b"not an artifact", "x").is_empty());
    }
}
