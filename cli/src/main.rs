//! `kiln`: the command line. Parsing only; the work is in the `kiln_cli`
//! library.

#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    kiln_cli::commands::Cli::parse().run()
}
