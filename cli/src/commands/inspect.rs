//! `kiln inspect FILE [--disas FUNC]`: what an artifact holds, read
//! straight from its ELF sections — so an artifact for any target can be
//! inspected on any machine, and a damaged one still shows what is left.
//! A `.wasm`/`.wat` file is compiled for this machine first (through the
//! artifact cache).

use clap::Args;
use kiln_artifact::info::{DataMode, ElementMode, ExportKind, ImportKind, ModuleInfo};
use kiln_artifact::sections as names;
use object::{Object, ObjectSection};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `kiln inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// An artifact (`kiln compile`'s output, or bytes `include_wasm!`
    /// embeds), or a .wasm/.wat module to compile for this machine first.
    pub file: PathBuf,
    /// Disassemble this function (its name, export name or index) with
    /// the target's `objdump`, or print the command that would.
    #[arg(long, value_name = "FUNC")]
    pub disas: Option<String>,
    /// Switch a WebAssembly feature on or off when compiling a module
    /// (repeatable; see `kiln --help`).
    #[arg(short = 'W', value_name = "FEATURE=y|n")]
    pub features: Vec<String>,
}

/// Print the report (and the disassembly, if asked for).
pub fn inspect(args: &InspectArgs) -> ExitCode {
    match inspect_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiln inspect: {e}");
            ExitCode::from(1)
        }
    }
}

fn inspect_inner(args: &InspectArgs) -> Result<(), String> {
    let path = artifact_path(args)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let artifact = Artifact::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = artifact.report(&path, bytes.len());
    let disassembly = args.disas.as_ref().map(|func| disassemble(&artifact, &path, func, &mut out));
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
    disassembly.unwrap_or(Ok(()))
}

/// The artifact to read: the file itself, or a module's compiled artifact.
fn artifact_path(args: &InspectArgs) -> Result<PathBuf, String> {
    let is_module = matches!(args.file.extension().and_then(|e| e.to_str()), Some("wasm" | "wat"));
    if !is_module {
        return Ok(args.file.clone());
    }
    // As `kiln run` compiles it.
    let mut config = kiln_build::Config::native();
    config.debug_info(true);
    super::apply_feature_switches(&mut config, &args.features)?;
    let wasm = kiln_build::read_module(&args.file).map_err(|e| e.to_string())?;
    kiln_build::cache::compile_cached(&wasm, &config, &kiln_build::cache::cache_dir())
        .map_err(|e| format!("{}: {e}", args.file.display()))
}

/// The parts of an artifact the report shows.
struct Artifact<'a> {
    elf: object::File<'a>,
    checksum: String,
    engine: Result<(u8, String, kiln_artifact::engine::EngineInfo), String>,
    info: Result<ModuleInfo, String>,
    names: &'a [u8],
}

impl<'a> Artifact<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Artifact<'a>, String> {
        let (image, checksum) = match kiln_artifact::integrity::verify(bytes) {
            Ok(image) => (image, "checksum ok".to_string()),
            // Show what can be read, and say it is damaged.
            Err(e) => (bytes, format!("DAMAGED: {e}")),
        };
        let elf = object::File::parse(image).map_err(|e| format!("not a kiln artifact (not ELF: {e})"))?;
        let section = |name: &str| elf.section_by_name(name).and_then(|s| s.data().ok());
        let engine = section(names::ENGINE).ok_or_else(|| format!("no {} section", names::ENGINE)).and_then(|b| {
            let prefix = kiln_artifact::engine::decode_prefix(b).map_err(|e| e.to_string())?;
            let info = kiln_artifact::engine::decode_info(&prefix).map_err(|e| e.to_string())?;
            Ok((prefix.format_version, prefix.kiln_version.to_string(), info))
        });
        let info = section(names::INFO)
            .ok_or_else(|| format!("no {} section", names::INFO))
            .and_then(|b| kiln_artifact::decode_postcard::<ModuleInfo>(names::INFO, b).map_err(|e| e.to_string()));
        let names = section(names::NAMES).unwrap_or(&[]);
        Ok(Artifact { elf, checksum, engine, info, names })
    }

    fn section(&self, name: &str) -> &'a [u8] {
        self.elf.section_by_name(name).and_then(|s| s.data().ok()).unwrap_or(&[])
    }

    /// The name of function `index` of the index space: its name-section
    /// name, else its first export name, else empty.
    fn func_name(&self, info: &ModuleInfo, index: u32) -> String {
        let defined = index.checked_sub(info.num_imported_funcs);
        let from_names = defined.and_then(|d| info.defined_funcs.get(d as usize)).and_then(|f| {
            let r = f.name.start as usize..f.name.end() as usize;
            std::str::from_utf8(self.names.get(r)?).ok().filter(|s| !s.is_empty())
        });
        if let Some(n) = from_names {
            return n.to_string();
        }
        if let Some(i) = defined
            .is_none()
            .then(|| info.imports.iter().filter(|i| matches!(i.kind, ImportKind::Func(_))).nth(index as usize))
            .flatten()
        {
            return format!("{}.{}", i.module, i.name);
        }
        info.exports
            .iter()
            .find(|e| matches!(e.kind, ExportKind::Func(f) if f.0 == index))
            .map(|e| e.name.clone())
            .unwrap_or_default()
    }

    fn report(&self, path: &Path, len: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "artifact: {} ({len} bytes, {})", path.display(), self.checksum);
        match &self.engine {
            Ok((format, version, e)) => {
                let t = &e.tunables;
                let _ = writeln!(out, "engine: kiln {version}, format {format}, target {}", e.triple);
                let _ = writeln!(out, "  cpu features:   {}", list(e.cpu_features.iter().map(String::as_str)));
                let _ = writeln!(out, "  wasm features:  {}", list(e.wasm_features.split_whitespace()));
                // The CPU features are listed above; what is off is the default.
                let flags =
                    e.codegen_flags.split_whitespace().filter(|f| !f.starts_with("has_") && !f.ends_with("=false"));
                let _ = writeln!(out, "  codegen flags:  {}", list(flags));
                let _ = writeln!(
                    out,
                    "  tunables:       bounds checks {:?}, memory reservation {:#x} + guard {:#x}, fuel {}, epochs {}",
                    t.bounds_checks,
                    t.memory_reservation,
                    t.memory_guard_size,
                    yes(t.consume_fuel),
                    yes(t.epoch_interruption)
                );
                let _ = writeln!(
                    out,
                    "  relaxed simd:   {}; branch protection {}",
                    e.relaxed_simd.name(),
                    yes(e.branch_protection)
                );
            }
            Err(e) => {
                let _ = writeln!(out, "engine: unreadable: {e}");
            }
        }
        let _ = writeln!(out, "sections:");
        for s in self.elf.sections() {
            let name = s.name().unwrap_or("?");
            if name.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {name:<16}{:>10} bytes", s.size());
        }
        let info = match &self.info {
            Ok(info) => info,
            Err(e) => {
                let _ = writeln!(out, "module: unreadable: {e}");
                return out;
            }
        };
        let text_addr = self.elf.section_by_name(names::TEXT).map_or(0, |s| s.address());
        let defined = info.defined_funcs.len();
        let _ = writeln!(out, "functions: {defined} defined, {} imported", info.num_imported_funcs);
        let _ = writeln!(out, "  {:>6}  {:>10}  {:>8}  {:>8}  name: type", "index", "address", "size", "wasm@");
        for (d, f) in info.defined_funcs.iter().enumerate() {
            let index = info.num_imported_funcs + d as u32;
            let ty = info.functions.get(index as usize).and_then(|t| info.types.get(t.index()));
            let _ = writeln!(
                out,
                "  {index:>6}  {:>#10x}  {:>8}  {:>#8x}  {}: {}",
                text_addr + u64::from(f.body.start),
                f.body.len,
                f.wasm_offset,
                self.func_name(info, index),
                ty.map(|t| t.to_string()).unwrap_or_default()
            );
        }
        let _ = writeln!(out, "imports: {}", info.imports.len());
        for i in &info.imports {
            let what = match &i.kind {
                ImportKind::Func(t) => {
                    format!("func {}", info.types.get(t.index()).map(|t| t.to_string()).unwrap_or_default())
                }
                ImportKind::Table(t) => t.to_string(),
                ImportKind::Memory(m) => m.to_string(),
                ImportKind::Global(g) => g.to_string(),
                ImportKind::Tag(t) => {
                    format!("tag {}", info.types.get(t.index()).map(|t| t.to_string()).unwrap_or_default())
                }
            };
            let _ = writeln!(out, "  {}.{}: {what}", i.module, i.name);
        }
        let _ = writeln!(out, "exports: {}", info.exports.len());
        for e in &info.exports {
            let what = match e.kind {
                ExportKind::Tag(t) => {
                    format!("tag {} {}", t.0, info.tag_type(t).map(|t| t.to_string()).unwrap_or_default())
                }
                ExportKind::Func(f) => {
                    let ty = info.functions.get(f.index()).and_then(|t| info.types.get(t.index()));
                    format!("func {} {}", f.0, ty.map(|t| t.to_string()).unwrap_or_default())
                }
                ExportKind::Table(t) => {
                    format!("table {} {}", t.0, info.tables.get(t.index()).map(|t| t.to_string()).unwrap_or_default())
                }
                ExportKind::Memory(m) => format!(
                    "memory {} {}",
                    m.0,
                    info.memories.get(m.index()).map(|m| m.to_string()).unwrap_or_default()
                ),
                ExportKind::Global(g) => {
                    format!("global {} {}", g.0, info.globals.get(g.index()).map(|g| g.to_string()).unwrap_or_default())
                }
            };
            let _ = writeln!(out, "  {}: {what}", e.name);
        }
        let _ = writeln!(
            out,
            "memories: {} ({} imported); tables: {} ({} imported); globals: {} ({} imported)",
            info.memories.len(),
            info.num_imported_memories,
            info.tables.len(),
            info.num_imported_tables,
            info.globals.len(),
            info.num_imported_globals
        );
        let active_data = info.data.iter().filter(|d| matches!(d.mode, DataMode::Active { .. })).count();
        let data_bytes: u64 = info.data.iter().map(|d| u64::from(d.bytes.len)).sum();
        let _ = writeln!(
            out,
            "data segments: {} ({active_data} active, {} passive), {data_bytes} bytes",
            info.data.len(),
            info.data.len() - active_data
        );
        let active_elems = info.elements.iter().filter(|e| matches!(e.mode, ElementMode::Active { .. })).count();
        let _ = writeln!(
            out,
            "element segments: {} ({active_elems} active, {} passive or declared)",
            info.elements.len(),
            info.elements.len() - active_elems
        );
        let traps = kiln_artifact::traps::TrapTable::parse(self.section(names::TRAPS)).map(|t| t.len());
        let addrs = kiln_artifact::addrmap::AddrMap::parse(self.section(names::ADDRMAP)).map(|a| a.len());
        let count = |r: Result<usize, kiln_artifact::DecodeError>| {
            r.map_or_else(|e| format!("unreadable ({e})"), |n| n.to_string())
        };
        let _ = writeln!(out, "trap sites: {}; address map entries: {}", count(traps), count(addrs));
        let srclocs = kiln_artifact::srclocs::SrcLocs::parse(self.section(names::SRCLOCS)).map(|s| s.len());
        match srclocs {
            Ok(0) => {
                let _ = writeln!(out, "source locations: none (no DWARF, or compiled without -D debug-info)");
            }
            other => {
                let _ = writeln!(out, "source locations: {} ranges", count(other));
            }
        }
        if let Some(start) = info.start {
            let _ = writeln!(out, "start function: {} {}", start.0, self.func_name(info, start.0));
        }
        out
    }
}

fn list<'s>(items: impl Iterator<Item = &'s str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(" ")
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// `--disas FUNC`: find the function, then run the target's objdump over
/// its address range (or print the command when there is none).
fn disassemble(artifact: &Artifact<'_>, path: &Path, func: &str, out: &mut String) -> Result<(), String> {
    let info = artifact.info.as_ref().map_err(|e| format!("cannot disassemble: {e}"))?;
    let index = (0..info.defined_funcs.len() as u32)
        .map(|d| d + info.num_imported_funcs)
        .find(|&i| func.parse::<u32>() == Ok(i) || artifact.func_name(info, i) == func)
        .or_else(|| {
            info.exports.iter().find_map(|e| match e.kind {
                ExportKind::Func(f) if e.name == func => Some(f.0),
                _ => None,
            })
        })
        .ok_or_else(|| format!("no defined function `{func}`"))?;
    let body = index
        .checked_sub(info.num_imported_funcs)
        .and_then(|d| info.defined_funcs.get(d as usize))
        .ok_or_else(|| format!("`{func}` is imported: it has no code here"))?
        .body;
    let text_addr = artifact.elf.section_by_name(names::TEXT).map_or(0, |s| s.address());
    let (start, stop) = (text_addr + u64::from(body.start), text_addr + body.end());
    let triple = artifact.engine.as_ref().map(|(_, _, e)| e.triple.clone()).unwrap_or_default();
    let objdump = objdump_for(&triple);
    let cmd_args = [
        "-d".to_string(),
        "--no-show-raw-insn".to_string(),
        format!("--start-address={start:#x}"),
        format!("--stop-address={stop:#x}"),
        path.display().to_string(),
    ];
    let _ =
        writeln!(out, "\ndisassembly of function {index} `{}` ({} bytes):", artifact.func_name(info, index), body.len);
    let _ = writeln!(out, "$ {objdump} {}", cmd_args.join(" "));
    match std::process::Command::new(&objdump).args(&cmd_args).output() {
        Ok(done) if done.status.success() => {
            // Skip objdump's banner: the file name and format lines.
            let text = String::from_utf8_lossy(&done.stdout);
            for line in text.lines().skip_while(|l| !l.contains("Disassembly") && !l.contains('>')) {
                let _ = writeln!(out, "{line}");
            }
            Ok(())
        }
        Ok(done) => Err(format!("{objdump} failed: {}", String::from_utf8_lossy(&done.stderr).trim())),
        Err(e) => Err(format!("cannot run `{objdump}` ({e}); install binutils for {triple} and run the command above")),
    }
}

/// The objdump that reads code of `triple`: the host's own for the host's
/// architecture, else the GNU cross binutils' name.
fn objdump_for(triple: &str) -> String {
    let arch = triple.split('-').next().unwrap_or("");
    if arch.is_empty() || arch == std::env::consts::ARCH {
        return "objdump".to_string();
    }
    let gnu = match arch {
        "riscv64gc" | "riscv64" => "riscv64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "x86_64" => "x86_64-linux-gnu",
        other => other,
    };
    format!("{gnu}-objdump")
}
