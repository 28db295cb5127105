//! `kiln`: the command line. Argument parsing only; the work is in the
//! `kiln_cli` library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

const USAGE: &str = "\
usage: kiln <command> [args]

commands:
  run PLUGIN.wasm [--dir HOST::GUEST[::ro]] [--env K=V] [--fuel N] [--] ARGS...
                  compile a WASI command (through the artifact cache), load
                  the artifact and run it; exits with the guest's exit code
  compile IN.wasm [-o OUT.kiln] [--target TRIPLE] [--fuel] [--epoch]
                  write the artifact of a module (.wasm or .wat)
  wast PATH...    run WebAssembly spec scripts (files or directories) through the full pipeline
                  (compile with kiln-build, load the artifact, run); prints
                  one line per file and `spec: N passed, M failed, K skipped`
  help            print this message";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => kiln_cli::commands::run(&args[1..]),
        Some("compile") => kiln_cli::commands::compile(&args[1..]),
        Some("wast") if args.len() > 1 => kiln_cli::commands::wast(&args[1..]),
        Some("wast") => usage_error("`kiln wast` needs at least one FILE"),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command `{other}`")),
        None => usage_error("no command given"),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("kiln: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
