//! Modules from wasm-smith, and the plan of what to call in them.

use crate::outcome::Value;
use crate::rng::Rng;
use arbitrary::Unstructured;
use wasmparser::{ExternalKind, Parser, Payload, ValType};

pub use kiln_fuzz_replay::plan::{Call, Plan};

/// Loop and call iterations a generated module may run before it traps
/// with `unreachable` (wasm-smith's termination instrumentation): every
/// case ends, the same way in every engine.
pub const FUEL: u32 = 1_000;

/// Bytes of wasm-smith input per module: enough for a few dozen functions.
const INPUT_BYTES: usize = 8 * 1024;

/// The wasm-smith configuration of the differential target: every feature
/// kiln and both oracles implement, and imports of the host functions
/// every engine defines alike (`kiln_fuzz_replay::host`). Left out:
/// imported memories, tables and globals, threads, exceptions, typed
/// function references and GC (the oracles lack them).
pub fn differential_config(rng: &mut Rng) -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: if rng.chance(1, 2) { 1 + rng.below(6) as usize } else { 0 },
        available_imports: Some(host_imports()),
        min_types: 1,
        min_funcs: 1 + rng.below(8) as usize,
        max_funcs: 24,
        max_instructions: 200,
        max_memories: 2,
        max_tables: 2,
        max_memory32_bytes: 1 << 20,
        max_memory64_bytes: 1 << 20,
        memory_max_size_required: true,
        max_table_elements: 1_000,
        table_max_size_required: true,
        export_everything: true,
        canonicalize_nans: true,
        simd_enabled: rng.chance(3, 4),
        relaxed_simd_enabled: rng.chance(1, 2),
        memory64_enabled: rng.chance(1, 2),
        multi_value_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        tail_call_enabled: rng.chance(1, 2),
        extended_const_enabled: true,
        wide_arithmetic_enabled: rng.chance(1, 4),
        custom_page_sizes_enabled: rng.chance(1, 8),
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        compact_imports_enabled: false,
        custom_descriptors_enabled: false,
        allow_start_export: true,
        ..wasm_smith::Config::default()
    }
}

/// A module importing every host function, from which wasm-smith picks.
fn host_imports() -> Vec<u8> {
    use kiln_fuzz_replay::host::{Ty, FUNCTIONS, MODULE};
    use wasm_encoder::{EntityType, ImportSection, TypeSection, ValType as V};
    let val = |t: &Ty| match t {
        Ty::I32 => V::I32,
        Ty::I64 => V::I64,
        Ty::F32 => V::F32,
        Ty::F64 => V::F64,
    };
    let (mut types, mut imports) = (TypeSection::new(), ImportSection::new());
    for (index, (name, params, results)) in FUNCTIONS.iter().enumerate() {
        types.ty().function(params.iter().map(val), results.iter().map(val));
        imports.import(MODULE, name, EntityType::Function(index as u32));
    }
    let mut module = wasm_encoder::Module::new();
    module.section(&types).section(&imports);
    module.finish()
}

/// The wasm-smith configuration of the compiler-robustness target: every
/// feature wasm-smith knows, supported by kiln or not.
pub fn anything_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_memory32_bytes: 1 << 32,
        threads_enabled: true,
        custom_page_sizes_enabled: true,
        generate_custom_sections: true,
        ..wasm_smith::Config::default()
    }
}

/// A module from `config`, or None when wasm-smith gives up on its input.
pub fn smith(config: wasm_smith::Config, rng: &mut Rng, terminate: bool) -> Option<Vec<u8>> {
    let canonicalize = config.canonicalize_nans;
    let input = rng.bytes(INPUT_BYTES);
    let mut module = wasm_smith::Module::new(config, &mut Unstructured::new(&input)).ok()?;
    if terminate {
        module.ensure_termination(FUEL).ok()?;
    }
    let wasm = module.to_bytes();
    Some(if canonicalize { crate::canon::canonicalize_nans(wasm) } else { wasm })
}

/// The plan for `wasm`, with arguments drawn from `rng`.
pub fn plan(wasm: &[u8], rng: &mut Rng) -> anyhow::Result<Plan> {
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut plan = Plan::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    types.push(ty?.params().to_vec());
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    if let wasmparser::TypeRef::Func(t) = import?.ty {
                        funcs.push(t);
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    funcs.push(t?);
                }
            }
            Payload::ExportSection(r) => {
                for export in r {
                    let export = export?;
                    let name = export.name.to_string();
                    match export.kind {
                        ExternalKind::Func => {
                            let params = &types[funcs[export.index as usize] as usize];
                            let args = params.iter().map(|t| argument(*t, rng)).collect();
                            plan.calls.push(Call { export: name, args });
                        }
                        ExternalKind::Memory => plan.memories.push(name),
                        ExternalKind::Global => plan.globals.push(name),
                        ExternalKind::Table => plan.tables.push(name),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(plan)
}

/// An argument: edge values often, random bits otherwise; floats are never
/// a NaN with a payload (the spec lets engines differ there).
fn argument(ty: ValType, rng: &mut Rng) -> Value {
    const EDGES: [u64; 8] = [0, 1, 2, u64::MAX, 0x7fff_ffff, 0x8000_0000, 0x8000_0000_0000_0000, 0xffff_ffff];
    let bits = if rng.chance(1, 2) { *rng.pick(&EDGES) } else { rng.next_u64() };
    match ty {
        ValType::I32 => Value::I32(bits as i32),
        ValType::I64 => Value::I64(bits as i64),
        ValType::F32 => Value::F32(canonical_f32(bits as u32)),
        ValType::F64 => Value::F64(canonical_f64(bits)),
        ValType::V128 => Value::V128(u128::from(bits) << 64 | u128::from(rng.next_u64())),
        ValType::Ref(r) if r.is_func_ref() => Value::FuncRef { null: true },
        ValType::Ref(_) => Value::ExternRef { null: true },
    }
}

fn canonical_f32(bits: u32) -> u32 {
    if f32::from_bits(bits).is_nan() {
        0x7fc0_0000
    } else {
        bits
    }
}

fn canonical_f64(bits: u64) -> u64 {
    if f64::from_bits(bits).is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        bits
    }
}
