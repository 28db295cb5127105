//! The per-function driver: signature, stack limit, parameters and locals,
//! then the operator loop, validating each operator before translating it.
//!
//! A [`FuncTranslator`] is meant to live as long as a worker thread: its
//! `FunctionBuilderContext`, value and control stacks, caches and the
//! operator reader's frame stack keep their allocations from one function
//! to the next.

use super::control::ControlFrame;
use super::env::{self, EnvCache, FuncEnv};
use super::interrupts;
use super::{operators, unreachable, TranslateContext};
use crate::abi;
use crate::error::{Error, Result};
use cranelift_codegen::ir::{self, types, InstBuilder, UserFuncName, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_artifact::index::DefinedFuncIndex;
use wasmparser::{
    BinaryReader, FuncValidator, FunctionBody, OperatorsReader, OperatorsReaderAllocations, ValidatorResources,
};

/// Translates function bodies one after the other, reusing its allocations.
pub(crate) struct FuncTranslator {
    builder_ctx: FunctionBuilderContext,
    state: FuncState,
    cache: EnvCache,
    reader_allocs: Option<OperatorsReaderAllocations>,
}

impl Default for FuncTranslator {
    fn default() -> Self {
        Self::new()
    }
}

impl FuncTranslator {
    /// A translator with empty state.
    pub fn new() -> Self {
        FuncTranslator {
            builder_ctx: FunctionBuilderContext::new(),
            state: FuncState::default(),
            cache: EnvCache::default(),
            reader_allocs: Some(OperatorsReaderAllocations::default()),
        }
    }

    /// Validate and translate defined function `func` whose body is `body`.
    ///
    /// Errors: `Invalid` (with the validator's offset) for invalid wasm,
    /// `Unsupported` naming the instruction and its offset, `Codegen` for an
    /// internal inconsistency. Every error carries the function index.
    pub fn translate(
        &mut self,
        cx: &TranslateContext<'_>,
        func: DefinedFuncIndex,
        body: &FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
    ) -> Result<ir::Function> {
        let func_index = cx.module.func_index(func);
        self.translate_inner(cx, func, body, validator).map_err(|e| {
            // A builder abandoned mid-function leaves its context dirty, and
            // only `finalize` clears it: start the next function afresh.
            self.builder_ctx = FunctionBuilderContext::new();
            e.in_func(func_index.0)
        })
    }

    fn translate_inner(
        &mut self,
        cx: &TranslateContext<'_>,
        func: DefinedFuncIndex,
        body: &FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
    ) -> Result<ir::Function> {
        if cx.isa.pointer_type() != types::I64 {
            return Err(Error::unsupported("targets with 32-bit pointers", 0usize));
        }
        let func_index = cx.module.func_index(func);
        let ty = cx
            .module
            .func_type(func_index)
            .ok_or_else(|| Error::codegen(format!("function {func_index} has no type")))?;

        let start = usize::try_from(body.range().start).unwrap_or(usize::MAX);
        cx.lowering.check_v128(ty.params.iter().chain(ty.results.iter()).copied(), start)?;

        let mut function =
            ir::Function::with_name_signature(UserFuncName::user(0, func_index.0), abi::wasm_signature(cx.isa, ty));
        env::set_stack_limit(&mut function, cx)?;

        self.state.clear();
        self.cache.reset(cx);
        let state = &mut self.state;
        let mut builder = FunctionBuilder::new(&mut function, &mut self.builder_ctx);

        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        // What precedes the first operator (cached vmctx loads, interruption
        // checks) belongs to the function's start, so a trap there (and a
        // trap Cranelift duplicates from it) maps to this function.
        builder.set_srcloc(ir::SourceLoc::new(u32::try_from(start).unwrap_or(u32::MAX)));
        // The environment places cached loads in the entry block: it must be
        // in the layout before the first one.
        builder.ensure_inserted_block();
        let mut env = FuncEnv::new(cx, &mut self.cache, &mut builder, entry, ty)?;

        // Parameters are the first locals; skip (callee_vmctx, caller_vmctx).
        for (i, &param) in ty.params.iter().enumerate() {
            let value = builder.block_params(entry)[2 + i];
            let var = builder.declare_var(env.ir_type(param));
            def_var(&mut builder, var, value)?;
            state.locals.push(var);
        }

        let mut reader = body.get_binary_reader();
        reader.set_features(*validator.features());
        declare_locals(&mut reader, state, &mut builder, &env, validator)?;

        // The function's own frame: `end` and branches to it return.
        let exit = builder.create_block();
        for &result in ty.results.iter() {
            builder.append_block_param(exit, env.ir_type(result));
        }
        state.control.push(ControlFrame::function(exit, ty.results.len()));
        interrupts::check(&mut env, &mut builder)?;

        let allocs = self.reader_allocs.take().unwrap_or_default();
        let mut ops = OperatorsReader::new_with_allocs(reader, allocs);
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            validator.op(offset, &op)?;
            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
            builder.set_srcloc(ir::SourceLoc::new(u32::try_from(offset).unwrap_or(u32::MAX)));
            if state.reachable {
                if cx.tunables.consume_fuel {
                    env.fuel_pending += interrupts::fuel_cost(&op);
                    if interrupts::ends_straight_line(&op) {
                        interrupts::flush_fuel(&mut env, &mut builder);
                    }
                }
                operators::translate_operator(&op, offset, state, &mut builder, &mut env)?;
            } else {
                unreachable::translate_unreachable_operator(&op, offset, state, &mut builder, &mut env)?;
            }
        }
        ops.finish()?;
        self.reader_allocs = Some(ops.into_allocations());
        if !state.control.is_empty() {
            return Err(Error::codegen("control frames left after the function's end"));
        }
        builder.finalize(cx.isa.frontend_config());
        Ok(function)
    }
}

/// Read the local declarations, validate them, and give each local a
/// variable initialised to zero.
fn declare_locals(
    reader: &mut BinaryReader<'_>,
    state: &mut FuncState,
    builder: &mut FunctionBuilder<'_>,
    env: &FuncEnv<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
) -> Result<()> {
    let groups = reader.read_var_u32()?;
    for _ in 0..groups {
        let offset = reader.original_position();
        let count: u32 = reader.read()?;
        let ty: wasmparser::ValType = reader.read()?;
        // Validates the type and bounds the total number of locals before
        // anything is allocated for them.
        validator.define_locals(offset, count, ty)?;
        if ty == wasmparser::ValType::V128 {
            env.cx.lowering.check_v128([kiln_artifact::types::ValType::V128], offset)?;
        }
        let ir_ty = env.wasm_type(ty);
        let zero = zero_value(builder, ir_ty);
        for _ in 0..count {
            let var = builder.declare_var(ir_ty);
            def_var(builder, var, zero)?;
            state.locals.push(var);
        }
    }
    Ok(())
}

fn zero_value(builder: &mut FunctionBuilder<'_>, ty: ir::Type) -> Value {
    match ty {
        types::I8X16 => {
            let zero = builder.func.dfg.constants.insert(ir::ConstantData::from(&[0u8; 16][..]));
            builder.ins().vconst(types::I8X16, zero)
        }
        types::F32 => builder.ins().f32const(0.0),
        types::F64 => builder.ins().f64const(0.0),
        ty => builder.ins().iconst(ty, 0),
    }
}

fn def_var(builder: &mut FunctionBuilder<'_>, var: Variable, value: Value) -> Result<()> {
    builder.try_def_var(var, value).map_err(|e| Error::codegen(format!("defining a local: {e}")))
}

/// The state of the function being translated: the wasm operand stack as
/// Cranelift values, the control frames, and the locals.
#[derive(Default)]
pub(crate) struct FuncState {
    /// The operand stack.
    pub stack: Vec<Value>,
    /// The control frames, outermost (the function) first.
    pub control: Vec<ControlFrame>,
    /// Whether the current position is reachable. When it is not, operators
    /// are validated and only their nesting is tracked (`unreachable.rs`).
    pub reachable: bool,
    /// How many blocks were opened in unreachable code and are not closed
    /// yet; they have no frame.
    pub dead_depth: u32,
    /// The variable of each local, parameters first.
    pub locals: Vec<Variable>,
    /// The parameters of each open `if`, restored for its `else` arm.
    pub else_params: Vec<Value>,
    /// Scratch for the targets of `br_table`.
    pub br_targets: Vec<u32>,
    /// The handlers of the open `try_table`s and legacy `try` bodies,
    /// outermost first.
    pub scopes: Vec<super::exceptions::Scope>,
    /// The clauses of each open `try_table`, outermost first.
    pub try_tables: Vec<Vec<wasmparser::Catch>>,
}

#[cold]
fn underflow() -> Error {
    Error::codegen("operand stack underflow in validated code")
}

impl FuncState {
    fn clear(&mut self) {
        self.stack.clear();
        self.control.clear();
        self.reachable = true;
        self.dead_depth = 0;
        self.locals.clear();
        self.else_params.clear();
        self.br_targets.clear();
        self.scopes.clear();
        self.try_tables.clear();
    }

    /// Push a value.
    pub fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    /// Pop a value.
    pub fn pop(&mut self) -> Result<Value> {
        self.stack.pop().ok_or_else(underflow)
    }

    /// Pop two values, returned in push order.
    pub fn pop2(&mut self) -> Result<(Value, Value)> {
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b))
    }

    /// Pop three values, returned in push order.
    pub fn pop3(&mut self) -> Result<(Value, Value, Value)> {
        let c = self.pop()?;
        let (a, b) = self.pop2()?;
        Ok((a, b, c))
    }

    /// The top value, left in place.
    pub fn peek(&self) -> Result<Value> {
        self.stack.last().copied().ok_or_else(underflow)
    }

    /// The top `n` values in push order, left in place.
    pub fn peekn(&self, n: usize) -> Result<&[Value]> {
        let at = self.stack.len().checked_sub(n).ok_or_else(underflow)?;
        Ok(&self.stack[at..])
    }

    /// Drop the top `n` values.
    pub fn popn(&mut self, n: usize) -> Result<()> {
        let at = self.stack.len().checked_sub(n).ok_or_else(underflow)?;
        self.stack.truncate(at);
        Ok(())
    }

    /// The variable of local `index`.
    pub fn local(&self, index: u32) -> Result<Variable> {
        self.locals.get(index as usize).copied().ok_or_else(|| Error::codegen(format!("local {index} out of range")))
    }

    /// The frame `depth` levels out from the innermost.
    pub fn frame(&mut self, depth: u32) -> Result<&mut ControlFrame> {
        let at = (self.control.len())
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| Error::codegen(format!("branch depth {depth} out of range")))?;
        Ok(&mut self.control[at])
    }
}
