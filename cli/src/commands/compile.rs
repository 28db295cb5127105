//! `kiln compile IN.wasm -o OUT.kiln [--target TRIPLE] [-W F=y|n] [--fuel] [--epoch]`:
//! produce an artifact outside cargo, loadable with `Module::from_bytes`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Compile a module to an artifact file.
pub fn compile(args: &[String]) -> ExitCode {
    match compile_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiln compile: {e}");
            ExitCode::from(1)
        }
    }
}

fn compile_inner(args: &[String]) -> Result<(), String> {
    let mut input = None;
    let mut output = None;
    let mut config = kiln_build::Config::host();
    let mut switches = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(switch) = super::feature_switch(a, &mut it) {
            switches.push(switch?);
            continue;
        }
        match a.as_str() {
            "-o" | "--output" => output = Some(PathBuf::from(it.next().ok_or("-o needs a path")?)),
            "--target" => {
                let t = it.next().ok_or("--target needs a triple")?;
                let fuel = config.tunables().consume_fuel;
                let epoch = config.tunables().epoch_interruption;
                config = kiln_build::Config::for_target(t).map_err(|e| e.to_string())?;
                config.consume_fuel(fuel).epoch_interruption(epoch);
            }
            "--fuel" => {
                config.consume_fuel(true);
            }
            "--epoch" => {
                config.epoch_interruption(true);
            }
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`")),
            _ => input = Some(PathBuf::from(a)),
        }
    }
    // After `--target`, which starts from a new configuration.
    super::apply_feature_switches(&mut config, &switches)?;
    let input = input.ok_or("no input module")?;
    let output = output.unwrap_or_else(|| input.with_extension("kiln"));
    let wasm = kiln_build::read_module(&input).map_err(|e| e.to_string())?;
    let artifact = kiln_build::compile(&wasm, &config).map_err(|e| format!("{}: {e}", input.display()))?;
    std::fs::write(&output, &artifact).map_err(|e| format!("{}: {e}", output.display()))?;
    println!("{} -> {} ({} bytes, {})", input.display(), output.display(), artifact.len(), config.triple());
    Ok(())
}
