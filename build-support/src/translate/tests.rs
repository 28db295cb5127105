//! Translator tests: small modules are translated, checked by Cranelift's
//! verifier, and compiled for every supported ISA so that lowering problems
//! and forbidden relocations show up here rather than in the driver.

use super::{traps, FuncTranslator, TranslateContext};
use crate::config::Config;
use crate::error::{ErrorKind, Result};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::{Context, FinalizedRelocTarget};
use kiln_artifact::engine::{BoundsChecks, Tunables};
use kiln_artifact::index::{DefinedFuncIndex, FuncIndex, TypeIndex};
use kiln_artifact::info::{Import, ImportKind, ModuleInfo};
use kiln_artifact::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use kiln_artifact::vmctx::{VMCounts, VMOffsets};
use wasmparser::{
    FuncToValidate, FunctionBody, Parser, Payload, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

// ------------------------------------------------------------------ helpers

// The module environment's own conversions, at offset 0: these modules are
// valid and use only supported types.
fn val_type(t: wasmparser::ValType) -> ValType {
    crate::module_env::val_type(t, 0).expect("supported value type")
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    crate::module_env::memory_type(&m, 0).expect("supported memory type")
}

fn table_type(t: wasmparser::TableType) -> TableType {
    crate::module_env::table_type(&t, 0).expect("supported table type")
}

fn global_type(g: wasmparser::GlobalType) -> GlobalType {
    crate::module_env::global_type(&g, 0).expect("supported global type")
}

type Bodies<'a> = Vec<(FuncToValidate<ValidatorResources>, FunctionBody<'a>)>;

/// A minimal module environment: what the translator reads of `ModuleInfo`,
/// with every function given a `VMFuncRef` slot.
fn module_env(wasm: &[u8]) -> Result<(ModuleInfo, Bodies<'_>)> {
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut info = ModuleInfo::default();
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::TypeSection(s) => {
                for ty in s.clone().into_iter_err_on_gc_types() {
                    let ty = ty?;
                    info.types.push(FuncType {
                        params: ty.params().iter().map(|&t| val_type(t)).collect(),
                        results: ty.results().iter().map(|&t| val_type(t)).collect(),
                    });
                }
            }
            Payload::ImportSection(s) => {
                for import in s.clone().into_imports() {
                    let import = import?;
                    let kind = match import.ty {
                        wasmparser::TypeRef::Func(t) => {
                            info.functions.push(TypeIndex(t));
                            info.num_imported_funcs += 1;
                            ImportKind::Func(TypeIndex(t))
                        }
                        wasmparser::TypeRef::Table(t) => {
                            info.tables.push(table_type(t));
                            info.num_imported_tables += 1;
                            ImportKind::Table(table_type(t))
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            info.memories.push(memory_type(m));
                            info.num_imported_memories += 1;
                            ImportKind::Memory(memory_type(m))
                        }
                        wasmparser::TypeRef::Global(g) => {
                            info.globals.push(global_type(g));
                            info.num_imported_globals += 1;
                            ImportKind::Global(global_type(g))
                        }
                        other => {
                            return Err(crate::Error::unsupported(format!("test helper: import {other:?}"), 0usize))
                        }
                    };
                    info.imports.push(Import { module: import.module.into(), name: import.name.into(), kind });
                }
            }
            Payload::FunctionSection(s) => {
                for t in s.clone() {
                    info.functions.push(TypeIndex(t?));
                }
            }
            Payload::TableSection(s) => {
                for t in s.clone() {
                    info.tables.push(table_type(t?.ty));
                }
            }
            Payload::MemorySection(s) => {
                for m in s.clone() {
                    info.memories.push(memory_type(m?));
                }
            }
            Payload::GlobalSection(s) => {
                for g in s.clone() {
                    info.globals.push(global_type(g?.ty));
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            bodies.push((func, body));
        }
    }
    info.func_refs = (0..info.functions.len()).map(FuncIndex::new).collect();
    Ok((info, bodies))
}

fn isa(triple: &str, features: &[&str]) -> OwnedTargetIsa {
    let mut config = Config::for_target(triple).unwrap();
    config.target_features = features.iter().map(|f| f.to_string()).collect();
    crate::isa::build(&config).unwrap().0
}

/// The ISAs kiln supports: x86_64 with the features Cranelift uses most,
/// at its baseline (SSE2: kiln's own lowerings where Cranelift would call
/// helpers) and in between, and the other architectures' baselines
/// (riscv64 with V, for SIMD).
fn all_isas() -> Vec<OwnedTargetIsa> {
    vec![
        isa(
            "x86_64-unknown-linux-gnu",
            &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt"],
        ),
        isa("x86_64-unknown-linux-gnu", &[]),
        // SSSE3 without SSE4.1: pshufb, but kiln's rounding builtins.
        isa("x86_64-unknown-linux-gnu", &["sse3", "ssse3"]),
        isa("aarch64-unknown-linux-gnu", &[]),
        isa("riscv64gc-unknown-linux-gnu", &["v"]),
        isa("s390x-unknown-linux-gnu", &[]),
    ]
}

fn translate_with(
    wat: &str,
    isa: &dyn cranelift_codegen::isa::TargetIsa,
    tunables: &Tunables,
) -> Result<Vec<ir::Function>> {
    let wasm = wat::parse_str(wat).expect("test wat");
    let (info, bodies) = module_env(&wasm)?;
    let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(&info));
    let cx = TranslateContext::new(&info, &offsets, isa, tunables, false);
    let mut translator = FuncTranslator::new();
    let mut out = Vec::new();
    for (i, (func, body)) in bodies.into_iter().enumerate() {
        let mut validator = func.into_validator(Default::default());
        let f = translator.translate(&cx, DefinedFuncIndex::new(i), &body, &mut validator)?;
        check_function(&info, &cx, DefinedFuncIndex::new(i), &f);
        out.push(f);
    }
    Ok(out)
}

/// Translate `wat` for every ISA and tunables given, verify and compile
/// every function; return the functions of the first configuration.
fn check_with(wat: &str, tunables: &[Tunables]) -> Vec<ir::Function> {
    let mut first = None;
    for t in tunables {
        for isa in all_isas() {
            let funcs = translate_with(wat, &*isa, t).unwrap_or_else(|e| panic!("{}: {e}", isa.triple()));
            for f in &funcs {
                compile(&*isa, f);
            }
            first.get_or_insert(funcs);
        }
    }
    first.unwrap()
}

fn check(wat: &str) -> Vec<ir::Function> {
    check_with(wat, &[Tunables::default(), explicit()])
}

fn explicit() -> Tunables {
    Tunables { bounds_checks: BoundsChecks::Explicit, ..Tunables::default() }
}

/// What every translated function must satisfy, whatever its body.
fn check_function(info: &ModuleInfo, cx: &TranslateContext<'_>, def: DefinedFuncIndex, f: &ir::Function) {
    let index = info.func_index(def);
    if let Err(errors) = cranelift_codegen::verify_function(f, cx.isa) {
        panic!("verifier errors in function {index}:\n{errors}\n{}", f.display());
    }
    assert_eq!(f.name, UserFuncName::user(0, index.0));
    assert_eq!(f.signature, crate::abi::wasm_signature(cx.isa, info.func_type(index).unwrap()));
    assert!(f.stack_limit.is_some(), "no stack limit");
    for (_, ext) in f.dfg.ext_funcs.iter() {
        match &ext.name {
            ExternalName::User(name) => {
                let name = &f.params.user_named_funcs()[*name];
                assert_eq!(name.namespace, 0);
                assert!(!info.is_imported_func(FuncIndex(name.index)), "direct call of an import");
                assert!(ext.colocated);
            }
            other => panic!("function {index} references {other:?}"),
        }
    }
    assert!(f.global_values.iter().all(|(_, gv)| !matches!(gv, ir::GlobalValueData::Symbol { .. })));
}

/// Compile with Cranelift: no relocation but colocated user calls, and
/// every trap site has a kiln code.
fn compile(isa: &dyn cranelift_codegen::isa::TargetIsa, f: &ir::Function) {
    let mut ctx = Context::for_function(f.clone());
    let code = ctx
        .compile(isa, &mut ControlPlane::default())
        .unwrap_or_else(|e| panic!("{}: {:?}\n{}", isa.triple(), e.inner, f.display()));
    for r in code.buffer.relocs() {
        assert!(
            matches!(r.target, FinalizedRelocTarget::ExternalName(ExternalName::User(_))),
            "{}: relocation {:?} against {:?}",
            isa.triple(),
            r.kind,
            r.target
        );
    }
    for t in code.buffer.traps() {
        assert!(traps::from_ir(t.code).is_some(), "trap code {} is not kiln's", t.code);
    }
}

fn host() -> OwnedTargetIsa {
    isa("x86_64-unknown-linux-gnu", &["sse4.1"])
}

/// The trap code of each linear-memory access of `f`.
fn heap_trap_codes(f: &ir::Function) -> Vec<Option<ir::TrapCode>> {
    let heap = f.dfg.alias_regions.get(1).expect("heap region");
    let mut codes = Vec::new();
    for block in f.layout.blocks() {
        for inst in f.layout.block_insts(block) {
            if let ir::InstructionData::Load { flags, .. } | ir::InstructionData::Store { flags, .. } =
                f.dfg.insts[inst]
            {
                let flags = f.dfg.mem_flags[flags];
                if flags.alias_region() == Some(heap) {
                    assert_eq!(flags.explicit_endianness(), Some(ir::Endianness::Little));
                    codes.push(flags.trap_code());
                }
            }
        }
    }
    codes
}

fn clif(f: &ir::Function) -> String {
    f.display().to_string()
}

// -------------------------------------------------------------------- tests

#[test]
fn integer_ops() {
    let mut body = String::new();
    for t in ["i32", "i64"] {
        for op in [
            "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u",
            "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
        ] {
            body += &format!("(func (param {t} {t}) (result {t}) local.get 0 local.get 1 {t}.{op}",);
            // Comparisons give an i32.
            if ["eq", "ne"].contains(&op) || op.starts_with('l') || op.starts_with('g') {
                body += if t == "i64" { " i64.extend_i32_u" } else { "" };
            }
            body += ")\n";
        }
        for op in ["clz", "ctz", "popcnt", "extend8_s", "extend16_s"] {
            body += &format!("(func (param {t}) (result {t}) local.get 0 {t}.{op})\n");
        }
        body += &format!("(func (param {t}) (result i32) local.get 0 {t}.eqz)\n");
        body += &format!("(func (result {t}) {t}.const -1)\n");
    }
    body += "(func (param i64) (result i64) local.get 0 i64.extend32_s)\n";
    let funcs = check(&format!("(module {body})"));
    assert!(funcs.len() > 60);
}

#[test]
fn float_ops_and_conversions() {
    let mut body = String::new();
    for t in ["f32", "f64"] {
        for op in ["add", "sub", "mul", "div", "min", "max", "copysign"] {
            body += &format!("(func (param {t} {t}) (result {t}) local.get 0 local.get 1 {t}.{op})\n");
        }
        for op in ["eq", "ne", "lt", "gt", "le", "ge"] {
            body += &format!("(func (param {t} {t}) (result i32) local.get 0 local.get 1 {t}.{op})\n");
        }
        for op in ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"] {
            body += &format!("(func (param {t}) (result {t}) local.get 0 {t}.{op})\n");
        }
        for i in ["i32", "i64"] {
            for s in ["s", "u"] {
                body += &format!("(func (param {t}) (result {i}) local.get 0 {i}.trunc_{t}_{s})\n");
                body += &format!("(func (param {t}) (result {i}) local.get 0 {i}.trunc_sat_{t}_{s})\n");
                body += &format!("(func (param {i}) (result {t}) local.get 0 {t}.convert_{i}_{s})\n");
            }
        }
        body += &format!("(func (result {t}) {t}.const -0x1.8p3)\n");
    }
    body += r#"
        (func (param f64) (result f32) local.get 0 f32.demote_f64)
        (func (param f32) (result f64) local.get 0 f64.promote_f32)
        (func (param f32) (result i32) local.get 0 i32.reinterpret_f32)
        (func (param i32) (result f32) local.get 0 f32.reinterpret_i32)
        (func (param f64) (result i64) local.get 0 i64.reinterpret_f64)
        (func (param i64) (result f64) local.get 0 f64.reinterpret_i64)
        (func (param i64) (result i32) local.get 0 i32.wrap_i64)
        (func (param i32) (result i64) local.get 0 i64.extend_i32_s)
        (func (param i32) (result i64) local.get 0 i64.extend_i32_u)
    "#;
    check(&format!("(module {body})"));
}

#[test]
fn rounding_without_native_support_calls_builtins() {
    let wat = "(module (func (param f32) (result f32) local.get 0 f32.nearest))";
    let isa = isa("x86_64-unknown-linux-gnu", &[]);
    let without = translate_with(wat, &*isa, &Tunables::default()).unwrap();
    assert!(clif(&without[0]).contains("call_indirect"), "{}", clif(&without[0]));
    assert!(!clif(&without[0]).contains("nearest"));
    let with = translate_with(wat, &*host(), &Tunables::default()).unwrap();
    assert!(clif(&with[0]).contains("nearest"));
}

#[test]
fn locals_and_parametric() {
    check(
        r#"(module
          (func (param i32 i64) (result i64)
            (local f32 f64 i32 i64 funcref externref)
            local.get 1 local.set 5
            local.get 0 local.tee 4 drop
            f32.const 1.5 local.set 2
            local.get 5 local.get 5 local.get 0 select
            local.get 3 local.get 3 local.get 0 select (result f64) drop
            local.get 6 local.get 6 local.get 0 select (result funcref) drop
            local.get 7 ref.is_null drop
            nop)
        )"#,
    );
}

#[test]
fn control_flow() {
    check(
        r#"(module
          (type $pair (func (param i32 i32) (result i32 i32)))
          (func $blocks (param i32) (result i32)
            (block $x (block $y local.get 0 br_table $x $y $x 0))
            (block $out (result i32)
              (block $a (result i32)
                (block $b (result i32)
                  i32.const 7
                  local.get 0
                  br_table $a $b $out 0
                )
                i32.const 1 i32.add
                br $out
              )
              i32.const 2 i32.add
            ))
          (func $loops (param i32) (result i32) (local i32)
            (loop $l
              local.get 1 local.get 0 i32.add local.set 1
              local.get 0 i32.const 1 i32.sub local.tee 0
              br_if $l)
            local.get 1)
          (func $loop_params (param i32) (result i32)
            i32.const 0 local.get 0
            (loop $l (type $pair)
              ;; acc n -> acc+n n-1, while n > 1
              local.tee 0 i32.add
              local.get 0 i32.const 1 i32.sub
              local.get 0 i32.const 1 i32.gt_u
              br_if $l)
            drop)
          (func $ifs (param i32) (result i32)
            (if (result i32) (local.get 0)
              (then i32.const 1)
              (else i32.const 2))
            (if (local.get 0) (then nop))
            i32.const 3 i32.const 4
            (if (type $pair) (local.get 0) (then i32.add i32.const 0))
            i32.add i32.add)
          (func $br_table_values (param i32) (result i32 i32)
            (block $x (result i32 i32)
              (block $y (result i32 i32)
                i32.const 1 i32.const 2 local.get 0
                br_table $x $y $x $y)
              i32.add i32.const 7)
            )
          (func $returns (param i32) (result i32 i64 f32)
            local.get 0 i64.const 1 f32.const 2
            local.get 0 br_if 0
            return)
          (func $to_function (param i32) (result i32)
            local.get 0 local.get 0 br_if 0 br 0)
          (func $dead (param i32) (result i32)
            (block (result i32)
              i32.const 1 br 0
              (block (loop (if (local.get 0) (then unreachable) (else nop))))
              i32.add drop)
            unreachable
            (block (result i32) i32.const 5 i32.const 0 br_table 0 0)
            drop)
          (func $if_dead_then (param i32) (result i32)
            (if (result i32) (local.get 0)
              (then i32.const 1 return)
              (else i32.const 2)))
          (func $if_dead_both (param i32) (result i32)
            (if (result i32) (local.get 0)
              (then unreachable)
              (else i32.const 3 return))
            i32.const 1 i32.add)
          (func $empty)
          (func $only_unreachable (result i64) unreachable)
        )"#,
    );
}

#[test]
fn memory_access_and_bulk_operations() {
    let mut body = String::new();
    for (op, ty) in [
        ("i32.load", "i32"),
        ("i64.load", "i64"),
        ("f32.load", "f32"),
        ("f64.load", "f64"),
        ("i32.load8_s", "i32"),
        ("i32.load8_u", "i32"),
        ("i32.load16_s", "i32"),
        ("i32.load16_u", "i32"),
        ("i64.load8_s", "i64"),
        ("i64.load8_u", "i64"),
        ("i64.load16_s", "i64"),
        ("i64.load16_u", "i64"),
        ("i64.load32_s", "i64"),
        ("i64.load32_u", "i64"),
    ] {
        for offset in [0u64, 16, 0x7fff_ffff, 0xffff_fff0] {
            body += &format!("(func (param i32) (result {ty}) local.get 0 {op} offset={offset})\n");
        }
    }
    for (op, ty) in [
        ("i32.store", "i32"),
        ("i64.store", "i64"),
        ("f32.store", "f32"),
        ("f64.store", "f64"),
        ("i32.store8", "i32"),
        ("i32.store16", "i32"),
        ("i64.store8", "i64"),
        ("i64.store16", "i64"),
        ("i64.store32", "i64"),
    ] {
        body += &format!("(func (param i32 {ty}) local.get 0 local.get 1 {op} offset=8)\n");
        body += &format!("(func (param i32 {ty}) local.get 0 local.get 1 {op} $imported offset=0x80000000)\n");
    }
    body += r#"
        (func (result i32) memory.size)
        (func (param i32) (result i32) local.get 0 memory.grow)
        (func (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
        (func (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy $mem $imported)
        (func (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
        (func (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.init $passive)
        (func data.drop $passive)
        (func (result i32) memory.size $imported)
        (func (param i64) (result i64) local.get 0 i64.load $wide offset=0xffff_ffff_ffff_fffc)
        (func (param i64 i32) local.get 0 local.get 1 i32.store8 $wide offset=3)
        (func (param i64) (result i64) local.get 0 memory.grow $wide)
        (func (result i64) memory.size $wide)
        (func (param i64 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy $wide $mem)
    "#;
    check(&format!(
        r#"(module
          (import "env" "memory" (memory $imported 1))
          (memory $mem 1)
          (memory $wide i64 1)
          (data $passive "hello")
          {body})"#
    ));
}

/// With guard pages, an access whose offset fits the guard has no check; an
/// explicit bounds check otherwise, and always in `Explicit` mode.
#[test]
fn bounds_checks_follow_the_tunables() {
    let wat = r#"(module (memory 1)
        (func (param i32) (result i32) local.get 0 i32.load offset=4)
        (func (param i32) (result i32) local.get 0 i32.load offset=0xffffff00))"#;
    let small_guard = Tunables { memory_guard_size: 0x1_0000, ..Tunables::default() };
    let guarded = translate_with(wat, &*host(), &small_guard).unwrap();
    assert!(!clif(&guarded[0]).contains("trapnz"), "{}", clif(&guarded[0]));
    assert_eq!(
        heap_trap_codes(&guarded[0]),
        [Some(ir::TrapCode::HEAP_OUT_OF_BOUNDS)],
        "the access itself is a trap site"
    );
    assert!(clif(&guarded[1]).contains("trapnz"), "{}", clif(&guarded[1]));
    let checked = translate_with(wat, &*host(), &explicit()).unwrap();
    assert!(clif(&checked[0]).contains("trapnz"), "{}", clif(&checked[0]));
    // The base of a memory that may move is loaded at each access, not cached.
    assert!(!clif(&checked[0]).contains("readonly"), "{}", clif(&checked[0]));
}

#[test]
fn globals() {
    check(
        r#"(module
          (import "env" "g" (global $ig (mut i64)))
          (import "env" "c" (global $ic f32))
          (global $g (mut i32) (i32.const 0))
          (global $c f64 (f64.const 1))
          (global $r (mut funcref) (ref.null func))
          (global $e (mut externref) (ref.null extern))
          (func (result i64)
            global.get $g i32.const 1 i32.add global.set $g
            global.get $ig i64.const 1 i64.add global.set $ig
            global.get $ic drop global.get $c drop
            global.get $r global.set $r
            global.get $e global.set $e
            global.get $ig)
        )"#,
    );
}

#[test]
fn calls_tables_and_references() {
    check(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (type $multi (func (param i32) (result i32 i64 f64)))
          (import "env" "f" (func $imported (param i32) (result i32)))
          (import "env" "m" (func $imported_multi (param i32) (result i32 i64 f64)))
          (import "env" "t" (table $it 1 funcref))
          (table $tab 10 funcref)
          (table $ext 10 externref)
          (elem declare func $callee)
          (elem $seg func $callee)
          (func $callee (param i32) (result i32) local.get 0)
          (func $multi (param i32) (result i32 i64 f64)
            local.get 0 i64.const 1 f64.const 2)
          (func (param i32) (result i32)
            local.get 0 call $callee
            call $imported
            (call_indirect $tab (type $t) (i32.const 0))
            (call_indirect $it (type $t) (i32.const 1))
            call $multi drop drop
            call $imported_multi drop drop
            (call_indirect $tab (type $multi) (i32.const 2)) drop drop)
          (func (param i32) (result funcref)
            (table.set $tab (local.get 0) (ref.func $callee))
            (table.set $ext (local.get 0) (table.get $ext (i32.const 1)))
            (drop (table.grow $tab (ref.null func) (i32.const 3)))
            (table.fill $tab (i32.const 0) (ref.null func) (i32.const 2))
            (table.copy $tab $it (i32.const 0) (i32.const 0) (i32.const 1))
            (table.init $tab $seg (i32.const 0) (i32.const 0) (i32.const 1))
            (elem.drop $seg)
            (drop (table.size $it))
            (drop (ref.is_null (ref.func $callee)))
            (table.get $tab (local.get 0)))
          (func (param i32) (result i32)
            local.get 0 return_call $callee)
          (func (param i32) (result i32)
            local.get 0 return_call $imported)
          (func (param i32) (result i32)
            local.get 0 i32.const 3 return_call_indirect $tab (type $t))
          (func (param i32) (result i32 i64 f64)
            local.get 0 return_call $multi)
          (func (param i32) (result i32 i64 f64)
            local.get 0 local.get 0 return_call_indirect $tab (type $multi))
        )"#,
    );
}

#[test]
fn direct_calls_are_the_only_relocations() {
    let funcs = translate_with(
        r#"(module
          (import "env" "f" (func $imported))
          (func $a call $b call $imported)
          (func $b call $a call $a))"#,
        &*host(),
        &Tunables::default(),
    )
    .unwrap();
    // One declaration per callee, however many calls.
    assert_eq!(funcs[0].dfg.ext_funcs.len(), 1);
    assert_eq!(funcs[1].dfg.ext_funcs.len(), 1);
}

#[test]
fn operators_carry_their_offset() {
    let wasm = wat::parse_str("(module (func (result i32) i32.const 1 i32.const 2 i32.add))").unwrap();
    let isa = host();
    let (info, bodies) = module_env(&wasm).unwrap();
    let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(&info));
    let tunables = Tunables::default();
    let cx = TranslateContext::new(&info, &offsets, &*isa, &tunables, false);
    let (func, body) = bodies.into_iter().next().unwrap();
    let mut ops = body.get_operators_reader().unwrap();
    let mut expected = Vec::new();
    while !ops.eof() {
        expected.push(ops.read_with_offset().unwrap().1 as u32);
    }
    let f = FuncTranslator::new()
        .translate(&cx, DefinedFuncIndex(0), &body, &mut func.into_validator(Default::default()))
        .unwrap();
    let locs: Vec<u32> = f
        .layout
        .blocks()
        .flat_map(|b| f.layout.block_insts(b))
        .map(|i| f.srcloc(i))
        .filter(|l| !l.is_default())
        .map(|l| l.bits())
        .collect();
    assert!(!locs.is_empty());
    assert!(locs.iter().all(|l| expected.contains(l)), "{locs:?} not in {expected:?}");
}

#[test]
fn unsupported_instruction_is_an_error_with_name_and_offset() {
    let wasm = wat::parse_str(r#"(module (func (param i32) local.get 0 drop i32.const 7 ref.i31 drop))"#).unwrap();
    let err = translate_wasm(&wasm).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsupported);
    assert!(err.message().contains("ref.i31"), "{err}");
    assert!(err.message().contains("gc"), "{err}");
    // local.get 0 (0x20 0x00), drop (0x1a), i32.const 7 (0x41 0x07), then
    // ref.i31 (0xfb 0x1c).
    let throw_at = find_opcode(&wasm, &[0x20, 0x00, 0x1a, 0x41, 0x07, 0xfb]) + 5;
    assert_eq!(err.offset(), Some(throw_at), "{err}");
    assert_eq!(err.func(), Some(0));
    assert!(err.to_string().contains(&format!("{throw_at:#x}")), "{err}");
}

/// On a target without vector registers (riscv64 without V) v128 values
/// are refused wherever they first appear, even without a SIMD instruction
/// (Cranelift cannot lower them there); everywhere else they translate.
#[test]
fn v128_values_need_vector_registers() {
    let no_v = isa("riscv64gc-unknown-linux-gnu", &[]);
    for wat in [
        "(module (func (param v128 v128 i32) (result v128) local.get 0 local.get 1 local.get 2 select))",
        "(module (func (local v128)))",
        "(module (global $g (mut v128) (v128.const i64x2 0 0)) (func global.get $g global.set $g))",
        "(module (func (block (result v128) unreachable) drop))",
        "(module (import \"m\" \"f\" (func $f (result v128))) (func call $f drop))",
        "(module (func i32.const 1 (if (result v128) (then unreachable) (else unreachable)) drop))",
        "(module (func (result i32) v128.const i32x4 1 2 3 4 i32x4.extract_lane 2))",
    ] {
        let err = translate_with(wat, &*no_v, &Tunables::default()).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Unsupported, "{wat}: {err}");
        assert!(err.message().contains("v128") || err.message().contains("vector registers"), "{wat}: {err}");
        check(wat);
    }
}

/// Every v128 instruction, for every ISA (x86_64 with SSE2 only among
/// them): the artifact may contain no helper call, whatever the CPU level.
#[test]
fn simd_translates_for_every_isa() {
    // Each body: operands in locals 0-2 (v128) and 3 (i32), one v128 result.
    let bodies = [
        "local.get 0 local.get 1 i8x16.swizzle",
        "local.get 0 local.get 1 i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0",
        "local.get 0 local.get 1 i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23",
        "local.get 0 local.get 0 i8x16.shuffle 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
        "local.get 0 f32x4.ceil f64x2.floor f32x4.trunc f64x2.nearest",
        "local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd",
        "local.get 0 local.get 1 local.get 2 f64x2.relaxed_nmadd",
        "local.get 0 local.get 1 i8x16.relaxed_swizzle",
        "local.get 0 local.get 1 local.get 2 i32x4.relaxed_laneselect",
        "local.get 0 local.get 1 f32x4.relaxed_min",
        "local.get 0 local.get 1 f64x2.relaxed_max",
        "local.get 0 local.get 1 i16x8.relaxed_q15mulr_s",
        "local.get 0 local.get 1 i16x8.relaxed_dot_i8x16_i7x16_s",
        "local.get 0 local.get 1 local.get 2 i32x4.relaxed_dot_i8x16_i7x16_add_s",
        "local.get 0 i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u",
        "local.get 0 i32x4.relaxed_trunc_f64x2_s_zero local.get 0 i32x4.relaxed_trunc_f64x2_u_zero i32x4.add",
        "local.get 3 local.get 0 v128.load8_lane offset=3 7",
        "local.get 3 v128.load32_zero local.get 3 v128.load64_splat i64x2.mul",
        "local.get 3 v128.load16x4_s local.get 3 v128.load8x8_u i16x8.add",
        "local.get 0 local.get 3 i16x8.shl local.get 3 i64x2.shr_s",
        "local.get 0 i32x4.bitmask i32x4.splat",
        "local.get 0 i64x2.all_true i32x4.splat f32x4.convert_i32x4_u",
        "local.get 0 f32x4.sqrt f32x4.demote_f64x2_zero f64x2.promote_low_f32x4",
        "local.get 0 i32x4.trunc_sat_f64x2_s_zero f64x2.convert_low_i32x4_u i32x4.trunc_sat_f64x2_u_zero",
        "local.get 0 i8x16.popcnt i8x16.abs i64x2.abs",
        "local.get 0 local.get 1 f32x4.pmin local.get 1 f64x2.pmax",
        "local.get 0 local.get 1 i8x16.narrow_i16x8_u local.get 1 i16x8.narrow_i32x4_s",
        "local.get 0 local.get 1 i32x4.dot_i16x8_s local.get 1 i64x2.extmul_high_i32x4_u",
        "local.get 0 i16x8.extadd_pairwise_i8x16_s i32x4.extadd_pairwise_i16x8_u",
        "local.get 0 local.get 1 i16x8.q15mulr_sat_s local.get 1 i8x16.avgr_u",
        "local.get 0 local.get 1 i32x4.min_u local.get 1 i8x16.max_s local.get 1 i64x2.lt_s",
        "local.get 0 local.get 1 f64x2.le local.get 1 local.get 2 v128.bitselect",
        "local.get 0 i32x4.extract_lane 1 i32x4.splat local.get 3 i8x16.replace_lane 15",
        "local.get 3 local.get 0 v128.store16_lane 5 local.get 0",
    ];
    let funcs: String =
        bodies.iter().map(|b| format!("(func (param v128 v128 v128 i32) (result v128) {b})\n")).collect();
    check(&format!("(module (memory 1) {funcs})"));
}

#[test]
fn unsupported_in_dead_code_is_skipped() {
    let wasm = wat::parse_str(
        r#"(module (memory 1 1 shared)
          (func (param i32) (result i32) unreachable local.get 0 i32.atomic.load))"#,
    )
    .unwrap();
    translate_wasm(&wasm).unwrap();
}

#[test]
fn invalid_body_is_invalid() {
    let wasm = wat::parse_str("(module (func (result i32) i64.const 1))").unwrap();
    let err = translate_wasm(&wasm).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Invalid, "{err}");
    let wasm = wat::parse_str("(module (func (param i32) local.get 0 i32.load))").unwrap();
    assert_eq!(translate_wasm(&wasm).unwrap_err().kind(), &ErrorKind::Invalid);
}

#[test]
fn interruption_checks_translate_and_verify() {
    // Function entry and loop header carry the checks; calls flush fuel.
    let wat = r#"(module
      (func $f (param i32) (result i32)
        (loop $l (br_if $l (i32.eqz (local.get 0))))
        (call $f (i32.const 1))))"#;
    let funcs = check_with(
        wat,
        &[
            Tunables { consume_fuel: true, ..Tunables::default() },
            Tunables { epoch_interruption: true, ..Tunables::default() },
            Tunables { consume_fuel: true, epoch_interruption: true, ..Tunables::default() },
        ],
    );
    let text = funcs[0].display().to_string();
    assert!(text.contains("trapnz"), "no fuel check in\n{text}");
}

#[test]
fn translator_is_reusable_after_an_error() {
    // The same translator translates a valid function after a failed one.
    let bad = wat::parse_str("(module (tag) (func (block (throw 0))))").unwrap();
    let good = wat::parse_str("(module (func (result i32) (block (result i32) i32.const 1)))").unwrap();
    let isa = host();
    let tunables = Tunables::default();
    let mut translator = FuncTranslator::new();
    for (wasm, ok) in [(&bad, false), (&good, true), (&good, true)] {
        let (info, bodies) = module_env(wasm).unwrap();
        let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(&info));
        let cx = TranslateContext::new(&info, &offsets, &*isa, &tunables, false);
        let (func, body) = bodies.into_iter().next().unwrap();
        let r = translator.translate(&cx, DefinedFuncIndex(0), &body, &mut func.into_validator(Default::default()));
        assert_eq!(r.is_ok(), ok);
        if let Ok(f) = r {
            check_function(&info, &cx, DefinedFuncIndex(0), &f);
        }
    }
}

fn translate_wasm(wasm: &[u8]) -> Result<Vec<ir::Function>> {
    let isa = host();
    let (info, bodies) = module_env(wasm)?;
    let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(&info));
    let tunables = Tunables::default();
    let cx = TranslateContext::new(&info, &offsets, &*isa, &tunables, false);
    let mut translator = FuncTranslator::new();
    let mut out = Vec::new();
    for (i, (func, body)) in bodies.into_iter().enumerate() {
        out.push(translator.translate(
            &cx,
            DefinedFuncIndex::new(i),
            &body,
            &mut func.into_validator(Default::default()),
        )?);
    }
    Ok(out)
}

/// The offset of the last occurrence of `opcode` in `wasm`.
fn find_opcode(wasm: &[u8], opcode: &[u8]) -> usize {
    wasm.windows(opcode.len()).rposition(|w| w == opcode).unwrap()
}

#[test]
#[ignore]
fn dump() {
    let wat = std::fs::read_to_string(std::env::var("KILN_DUMP_WAT").unwrap()).unwrap();
    let t = if std::env::var("KILN_DUMP_EXPLICIT").is_ok() { explicit() } else { Tunables::default() };
    for f in translate_with(&wat, &*host(), &t).unwrap() {
        println!("{}", f.display());
    }
}

/// Translate and compile, for every ISA and both bounds-check modes, every
/// `.wasm` file of `$KILN_WASM_DIR` (e.g. the modules of the spec suite and
/// its proposals); print what fails.
#[test]
#[ignore]
fn corpus() {
    use std::collections::BTreeMap;
    let dir = std::env::var("KILN_WASM_DIR").unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let isas = all_isas();
    let (mut ok, mut skipped) = (0, 0);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for path in paths {
        let wasm = std::fs::read(&path).unwrap();
        let Ok((info, _)) = module_env(&wasm) else {
            skipped += 1;
            continue;
        };
        let _ = info;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<()> {
            for t in [Tunables::default(), explicit()] {
                for isa in &isas {
                    let (info, bodies) = module_env(&wasm)?;
                    let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(&info));
                    let cx = TranslateContext::new(&info, &offsets, &**isa, &t, false);
                    let mut translator = FuncTranslator::new();
                    for (i, (func, body)) in bodies.into_iter().enumerate() {
                        let mut validator = func.into_validator(Default::default());
                        let f = translator.translate(&cx, DefinedFuncIndex::new(i), &body, &mut validator)?;
                        check_function(&info, &cx, DefinedFuncIndex::new(i), &f);
                        compile(&**isa, &f);
                    }
                }
            }
            Ok(())
        }));
        match result {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                if e.kind() != &ErrorKind::Unsupported {
                    println!("{}: {e}", path.display());
                }
                *errors.entry(format!("{:?} {}", e.kind(), e.message())).or_default() += 1;
            }
            Err(_) => {
                println!("{}: PANIC", path.display());
                *errors.entry("panic".into()).or_default() += 1;
            }
        }
    }
    println!("ok {ok}, skipped {skipped}");
    for (e, n) in errors {
        println!("{n:5} {e}");
    }
}
