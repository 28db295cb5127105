//! The driver: validate and translate every function, compile it with
//! Cranelift on all cores, add the trampolines, and hand the machine code
//! to the emitter.

use crate::config::Config;
use crate::emit::{self, CallTarget, CompiledBody, FuncReloc};
use crate::error::{Error, Result};
use crate::module_env::{self, FunctionInput};
use crate::trampolines::{self, NS_THROW_STUB, NS_WASM_FUNC};
use crate::translate::{traps::from_ir, FuncTranslator, TranslateContext};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use kiln_artifact::engine::EngineInfo;
use kiln_artifact::exceptions::{CallSite, CATCH_ALL};
use kiln_artifact::index::{DefinedFuncIndex, FuncIndex, TypeIndex};
use kiln_artifact::info::ImportKind;
use kiln_artifact::vmctx::{VMCounts, VMOffsets};
use rayon::prelude::*;
use wasmparser::FuncValidatorAllocations;

/// Per-thread state reused across functions so compiling thousands of them
/// does not reallocate.
struct Worker {
    translator: FuncTranslator,
    context: Context,
    builder: FunctionBuilderContext,
    validator_allocs: FuncValidatorAllocations,
}

impl Worker {
    fn new() -> Self {
        Worker {
            translator: FuncTranslator::new(),
            context: Context::new(),
            builder: FunctionBuilderContext::new(),
            validator_allocs: FuncValidatorAllocations::default(),
        }
    }

    /// Compile `func` with Cranelift and collect what the emitter needs.
    /// `wasm_start` is the wasm offset of a function body's start, which
    /// the address map gives the function's first byte: code before the
    /// first translated operator (the prologue and its stack check, entry
    /// interruption checks) is attributed to the function itself, never to
    /// whatever precedes it in the text.
    fn finish(&mut self, isa: &dyn TargetIsa, func: ir::Function, wasm_start: Option<u32>) -> Result<CompiledBody> {
        self.context.clear();
        self.context.func = func;
        let names = self.context.func.params.user_named_funcs().clone();
        let code = self
            .context
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| Error::codegen(format!("{:?}", e.inner)))?;
        let mut relocs = Vec::new();
        for r in code.buffer.relocs() {
            let target = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    let name = &names[*name];
                    match name.namespace {
                        NS_WASM_FUNC => CallTarget::Func(FuncIndex(name.index)),
                        NS_THROW_STUB => CallTarget::ThrowStub,
                        other => return Err(Error::codegen(format!("relocation against unknown namespace {other}"))),
                    }
                }
                other => {
                    // Anything else would need the loader to patch code,
                    // which kiln never does (the text runs in place).
                    return Err(Error::codegen(format!("unexpected relocation {:?} against {other:?}", r.kind)));
                }
            };
            relocs.push(FuncReloc { offset: r.offset, kind: r.kind, target, addend: r.addend });
        }
        let call_sites = call_sites(&code.buffer)?;
        let mut traps = Vec::with_capacity(code.buffer.traps().len());
        for t in code.buffer.traps() {
            let code = from_ir(t.code).ok_or_else(|| Error::codegen(format!("unknown trap code {}", t.code)))?;
            traps.push((t.offset, code));
        }
        let mut srclocs: Vec<(u32, u32)> = code
            .buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|s| !s.loc.is_default())
            .map(|s| (s.start, s.loc.bits()))
            .collect();
        if let Some(start) = wasm_start {
            if srclocs.first().is_none_or(|&(at, _)| at != 0) {
                srclocs.insert(0, (0, start));
            }
        }
        Ok(CompiledBody {
            code: code.code_buffer().to_vec(),
            // Functions start on a cache line (see `FUNCTION_ALIGN`), at
            // least the ISA's preferred alignment; constants may need more
            // than an embedded artifact guarantees, which the layout
            // refuses with a clear error.
            alignment: code
                .buffer
                .alignment
                .max(isa.function_alignment().preferred)
                .max(kiln_artifact::sections::FUNCTION_ALIGN as u32),
            relocs,
            traps,
            srclocs,
            call_sites,
        })
    }
}

/// The calls of a compiled function that have exception handlers
/// (`try_call`s), for `.kiln.exceptions`.
fn call_sites(buffer: &cranelift_codegen::MachBufferFinalized<cranelift_codegen::Final>) -> Result<Vec<CallSite>> {
    use cranelift_codegen::{ExceptionContextLoc, FinalizedMachExceptionHandler as H};
    let mut out = Vec::new();
    for site in buffer.call_sites() {
        if site.exception_handlers.is_empty() {
            continue;
        }
        let frame_offset =
            site.frame_offset.ok_or_else(|| Error::codegen("a call with exception handlers has no frame offset"))?;
        let mut context_offset = None;
        let mut handlers = Vec::new();
        for h in site.exception_handlers {
            match *h {
                H::Context(ExceptionContextLoc::SPOffset(off)) if context_offset.is_none() => {
                    context_offset = Some(off)
                }
                H::Context(other) => {
                    return Err(Error::codegen(format!("unexpected exception context location {other:?}")))
                }
                H::Tag(tag, landing) => handlers.push((tag.as_u32(), landing)),
                H::Default(landing) => handlers.push((CATCH_ALL, landing)),
            }
        }
        let context_offset =
            context_offset.ok_or_else(|| Error::codegen("a call with exception handlers has no context"))?;
        out.push(CallSite { ret: site.ret_addr, frame_offset, context_offset, handlers });
    }
    Ok(out)
}

/// `error`, raised in a function, with the function's name and, when the
/// module carries DWARF, the source line of the offending instruction.
fn located(error: Error, names: &[Option<&str>], dwarf: &crate::debuginfo::WasmDwarf<'_>) -> Error {
    let name = error.func().and_then(|f| names.get(f as usize).copied().flatten());
    let source = error.offset().and_then(|o| dwarf.location(o));
    error.with_source(name, source)
}

/// Run `f` over `items`, in parallel if asked, with one `Worker` per thread.
fn run<T: Send, R: Send>(
    parallel: bool,
    items: Vec<T>,
    f: impl Fn(&mut Worker, T) -> Result<R> + Sync + Send,
) -> Result<Vec<R>> {
    if parallel {
        items.into_par_iter().map_init(Worker::new, |w, item| f(w, item)).collect()
    } else {
        let mut w = Worker::new();
        items.into_iter().map(|item| f(&mut w, item)).collect()
    }
}

/// A callback told `(functions compiled, functions in the module)` as
/// compilation goes (from any worker thread).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

pub(crate) fn compile(wasm: &[u8], config: &Config, progress: Progress<'_>) -> Result<Vec<u8>> {
    let (isa, cpu_features) = crate::isa::build(config)?;
    let isa = &*isa;
    let features = module_env::features(config);
    let env = module_env::parse(wasm, features)?;
    let info = &env.info;
    let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(info));
    let cx = TranslateContext::new(info, &offsets, isa, &config.tunables, config.relaxed_simd_deterministic);

    let wasm_offsets: Vec<u32> = env.functions.iter().map(|f| f.body.range().start as u32).collect();
    let body_ranges: Vec<std::ops::Range<u32>> =
        env.functions.iter().map(|f| f.body.range().start as u32..f.body.range().end as u32).collect();
    let inputs: Vec<(DefinedFuncIndex, FunctionInput<'_>)> =
        env.functions.into_iter().enumerate().map(|(i, f)| (DefinedFuncIndex::new(i), f)).collect();
    let total = inputs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let bodies = run(config.parallel, inputs, |w, (def, input)| {
        let index = info.func_index(def);
        let mut validator = input.validator.into_validator(std::mem::take(&mut w.validator_allocs));
        let func = w
            .translator
            .translate(&cx, def, &input.body, &mut validator)
            .map_err(|e| located(e.in_func(index.0), &env.func_names, &env.dwarf))?;
        w.validator_allocs = validator.into_allocations();
        let body = w.finish(isa, func, wasm_offsets.get(def.index()).copied()).map_err(|e| e.in_func(index.0))?;
        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, total);
        Ok(body)
    })?;

    // The host reaches a defined function through its array trampoline:
    // every escaping function, and the start function.
    let mut reachable: Vec<FuncIndex> =
        info.func_refs.iter().copied().chain(info.start).filter(|&f| !info.is_imported_func(f)).collect();
    reachable.sort();
    reachable.dedup();
    let array_trampolines = run(config.parallel, reachable, |w, func| {
        let ty = info.func_type(func).ok_or_else(|| Error::codegen(format!("function {func} has no type")))?;
        let f = trampolines::array_to_wasm(isa, &mut w.builder, func, ty);
        Ok((func, w.finish(isa, f, None)?))
    })?;

    let mut import_types: Vec<TypeIndex> = info
        .imports
        .iter()
        .filter_map(|i| match i.kind {
            ImportKind::Func(t) => Some(t),
            _ => None,
        })
        .collect();
    import_types.sort();
    import_types.dedup();
    let host_trampolines = run(config.parallel, import_types, |w, t| {
        let ty = &info.types[t.index()];
        let f = trampolines::wasm_to_array(isa, &mut w.builder, &offsets, t, ty);
        Ok((t, w.finish(isa, f, None)?))
    })?;

    // The throw stub, if some function calls it.
    let throw_stub = if bodies.iter().any(|b| b.relocs.iter().any(|r| r.target == CallTarget::ThrowStub)) {
        let f = trampolines::throw_stub(isa, &mut FunctionBuilderContext::new(), &offsets);
        Some(Worker::new().finish(isa, f, None)?)
    } else {
        None
    };

    // Landing pads are entered by the runtime's jump, and a module that
    // catches has not run with branch protection enforced yet: refuse the
    // pair by name rather than build code that may fault.
    let branch_protection =
        config.branch_protection && matches!(config.triple.architecture, target_lexicon::Architecture::Aarch64(_));
    if branch_protection && (throw_stub.is_some() || bodies.iter().any(|b| !b.call_sites.is_empty())) {
        return Err(Error::unsupported("exception handling together with aarch64 branch protection (BTI)", 0usize));
    }

    let engine = EngineInfo {
        triple: config.triple.to_string(),
        cpu_features,
        codegen_flags: crate::isa::recorded_flags(isa).join(" "),
        wasm_features: config.features.names().collect::<Vec<_>>().join(" "),
        relaxed_simd: cx.lowering.relaxed,
        branch_protection,
        tunables: config.tunables.clone(),
    };
    let mut bytes = emit::emit(emit::Input {
        isa,
        engine,
        info: env.info.clone(),
        bodies,
        array_trampolines,
        host_trampolines,
        throw_stub,
        data: env.data,
        srclocs: if config.debug_info { env.dwarf.srclocs(&body_ranges) } else { Vec::new() },
        debug_image: config.debug_info,
        func_names: env.func_names,
        wasm_offsets,
    })?;
    kiln_artifact::integrity::seal(&mut bytes);
    Ok(bytes)
}

/// The Cranelift IR of every defined function, as kiln translates it
/// (before Cranelift's own optimisation), in function order: `(function
/// index, text)`.
pub(crate) fn clif(wasm: &[u8], config: &Config) -> Result<Vec<(u32, String)>> {
    let (isa, _) = crate::isa::build(config)?;
    let isa = &*isa;
    let env = module_env::parse(wasm, module_env::features(config))?;
    let info = &env.info;
    let offsets = VMOffsets::new(isa.pointer_bytes(), VMCounts::of(info));
    let cx = TranslateContext::new(info, &offsets, isa, &config.tunables, config.relaxed_simd_deterministic);
    let mut w = Worker::new();
    let mut out = Vec::new();
    for (i, input) in env.functions.into_iter().enumerate() {
        let def = DefinedFuncIndex::new(i);
        let index = info.func_index(def);
        let mut validator = input.validator.into_validator(std::mem::take(&mut w.validator_allocs));
        let func = w
            .translator
            .translate(&cx, def, &input.body, &mut validator)
            .map_err(|e| located(e.in_func(index.0), &env.func_names, &env.dwarf))?;
        w.validator_allocs = validator.into_allocations();
        out.push((index.0, func.display().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_every_function_once() {
        let wasm = wat::parse_str("(module (func) (func (result i32) i32.const 1) (func (param i64)))").unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let record = |done: usize, total: usize| seen.lock().unwrap().push((done, total));
        compile(&wasm, &Config::host(), &record).unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, [(1, 3), (2, 3), (3, 3)]);
    }

    #[test]
    fn exceptions_with_branch_protection_are_refused_by_name() {
        let wasm = wat::parse_str(
            "(module (tag $e) (func $f (throw $e)) (func (block $h (try_table (catch_all $h) (call $f)))))",
        )
        .unwrap();
        let mut config = Config::for_target("aarch64-unknown-linux-gnu").unwrap();
        assert!(compile(&wasm, &config, &|_, _| {}).is_ok());
        config.branch_protection(true);
        let err = compile(&wasm, &config, &|_, _| {}).unwrap_err();
        assert!(err.to_string().contains("branch protection"), "{err}");
        // Without exceptions, branch protection compiles as before.
        let plain = wat::parse_str("(module (func (result i32) i32.const 1))").unwrap();
        assert!(compile(&plain, &config, &|_, _| {}).is_ok());
    }

    #[test]
    fn clif_is_kiln_translation_of_each_function() {
        let wasm = wat::parse_str(
            "(module (import \"m\" \"f\" (func)) (func (result i32) i32.const 7) (func (param i32) (result i32) local.get 0))",
        )
        .unwrap();
        let clif = clif(&wasm, &Config::host()).unwrap();
        assert_eq!(clif.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
        assert!(clif[0].1.contains("iconst.i32 7"), "{}", clif[0].1);
        assert!(clif[1].1.starts_with("function u0:2"), "{}", clif[1].1);
    }
}
