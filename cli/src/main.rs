//! `kiln`: the command line. Argument parsing only; the work is in the
//! `kiln_cli` library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

const USAGE: &str = "\
usage: kiln <command> [args]

commands:
  run PLUGIN.wasm [-W F=y|n] [--target-cpu native|baseline] [--dir HOST::GUEST[::ro]]
                  [--env K=V] [--fuel N] [--] ARGS...
                  compile a WASI command (through the artifact cache) for this
                  CPU, load the artifact and run it; exits with the guest's
                  exit code (134 on a trap, printing the wasm backtrace)
  compile IN.wasm [-o OUT.kiln] [--target TRIPLE] [-W F=y|n] [--fuel] [--epoch]
                  write the artifact of a module (.wasm or .wat)
  wast [-W F=y|n] PATH...
                  run WebAssembly spec scripts (files or directories) through the full pipeline
                  (compile with kiln-build, load the artifact, run); prints
                  one line per file and `spec: N passed, M failed, K skipped`
  help            print this message

-W FEATURE=y|n switches a WebAssembly feature on or off (repeatable):
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => kiln_cli::commands::run(&args[1..]),
        Some("compile") => kiln_cli::commands::compile(&args[1..]),
        Some("wast") if args.len() > 1 => kiln_cli::commands::wast(&args[1..]),
        Some("wast") => usage_error("`kiln wast` needs at least one FILE"),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}{}", features_help());
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command `{other}`")),
        None => usage_error("no command given"),
    }
}

/// One line per feature: name, default, what it is.
fn features_help() -> String {
    let mut out = String::new();
    for f in kiln_build::features::FEATURES {
        let state = match (f.supported, f.default) {
            (false, _) => "not supported yet",
            (true, true) => "on by default",
            (true, false) => "off by default",
        };
        out.push_str(&format!("  {:<22}{:<19}{}\n", f.name, state, f.description));
    }
    out
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("kiln: {message}\n\n{USAGE}{}", features_help());
    ExitCode::from(2)
}
