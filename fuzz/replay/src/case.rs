//! A recorded case: a differential case whose oracles ran on one machine,
//! compiled there for another target, and replayed on a machine (or an
//! emulator) of that kind by `kiln-fuzz-replay`.
//!
//! Recording on a little-endian host gives big-endian targets a
//! trustworthy oracle (the interpreters' SIMD is wrong on s390x), and the
//! target needs only the runtime: the compiler and the oracles never run
//! under emulation.

use crate::outcome::{compare, Run};
use crate::plan::Plan;
use serde::{Deserialize, Serialize};

/// The first bytes of a case file, with the format's version.
const MAGIC: &[u8; 9] = b"kilncase\x01";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// The differential seed the module and arguments came from:
    /// `kiln-fuzz differential --seed N --cases 1` runs it on the host.
    pub seed: u64,
    /// What the artifact was compiled for.
    pub triple: String,
    pub cpu_features: Vec<String>,
    pub wasm: Vec<u8>,
    pub artifact: Vec<u8>,
    pub plan: Plan,
    /// What both oracles computed, identically, on the recording host.
    pub expected: Run,
}

impl Case {
    /// The file name of case `seed`: sorted by seed, so a replay is in
    /// seed order.
    pub fn file_name(seed: u64) -> String {
        format!("{seed:012}.case")
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        // Serializing owned, plain data into a Vec cannot fail.
        bytes.extend(postcard::to_stdvec(self).expect("a case serializes"));
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Case, String> {
        let body =
            bytes.strip_prefix(MAGIC).ok_or("not a case file of this version (recorded by another kiln-fuzz?)")?;
        postcard::from_bytes(body).map_err(|e| format!("damaged case file: {e}"))
    }
}

/// Run a case in kiln here: its run, or what went wrong (kiln differing
/// from the recorded oracles, or not running the case at all).
pub fn judge(case: &Case) -> Result<Run, String> {
    // SAFETY: the artifact is one `kiln_build::compile` wrote when the case
    // was recorded; the loader's checksum refuses one damaged since.
    let run = std::panic::catch_unwind(|| unsafe { crate::run::run(&case.artifact, &case.plan) })
        .unwrap_or_else(|p| Err(format!("panicked: {}", crate::panic_message(&*p))));
    match run {
        Ok(run) => match compare(&case.plan.calls, &run, &case.expected) {
            None => Ok(run),
            Some(d) => Err(format!("kiln differs from both oracles (recorded on the host): {d}")),
        },
        Err(e) => Err(format!("kiln could not run the case: {e}")),
    }
}

/// Linear memories as only their non-zero blocks: most of a generated
/// module's memory is zeros, and a case file is read under emulation.
pub mod sparse {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    const BLOCK: usize = 256;

    #[derive(Serialize, Deserialize)]
    struct Memory {
        len: u64,
        /// (offset, bytes) of each block that is not all zeros.
        blocks: Vec<(u64, Vec<u8>)>,
    }

    pub fn serialize<S: Serializer>(memories: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let sparse: Vec<Memory> = memories
            .iter()
            .map(|m| Memory {
                len: m.len() as u64,
                blocks: m
                    .chunks(BLOCK)
                    .enumerate()
                    .filter(|(_, b)| b.iter().any(|&x| x != 0))
                    .map(|(i, b)| ((i * BLOCK) as u64, b.to_vec()))
                    .collect(),
            })
            .collect();
        sparse.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        use serde::de::Error;
        let sparse = Vec::<Memory>::deserialize(d)?;
        sparse
            .into_iter()
            .map(|m| {
                let len = usize::try_from(m.len)
                    .ok()
                    .filter(|&n| n <= 1 << 32)
                    .ok_or(D::Error::custom("memory too large"))?;
                let mut bytes = vec![0; len];
                for (at, block) in m.blocks {
                    let at = usize::try_from(at).map_err(D::Error::custom)?;
                    bytes
                        .get_mut(at..at.saturating_add(block.len()))
                        .ok_or(D::Error::custom("block outside its memory"))?
                        .copy_from_slice(&block);
                }
                Ok(bytes)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Failure, Value};
    use crate::plan::Call;
    use kiln_artifact::traps::TrapCode;

    #[test]
    fn a_case_round_trips_with_its_memories() {
        let mut memory = vec![0u8; 3 * 65536 + 17];
        memory[5] = 1;
        memory[65536 * 2 + 300] = 0xff;
        *memory.last_mut().unwrap() = 9;
        let case = Case {
            seed: 42,
            triple: "s390x-unknown-linux-gnu".into(),
            cpu_features: vec!["vector-enhancements-2".into()],
            wasm: b"\0asm\x01\0\0\0".to_vec(),
            artifact: vec![1, 2, 3],
            plan: Plan {
                calls: vec![Call { export: "f".into(), args: vec![Value::V128(u128::MAX), Value::F64(7)] }],
                memories: vec!["m".into(), "n".into()],
                ..Plan::default()
            },
            expected: Run {
                calls: vec![Ok(vec![Value::I32(-1)]), Err(Failure::trap(TrapCode::MemoryOutOfBounds))],
                memories: vec![memory.clone(), Vec::new()],
                globals: vec![Value::ExternRef { null: true }],
                tables: vec![vec![true, false]],
                ..Run::default()
            },
        };
        let bytes = case.encode();
        // Three non-zero blocks, not 192 KiB.
        assert!(bytes.len() < 2000, "{} bytes", bytes.len());
        let back = Case::decode(&bytes).unwrap();
        assert_eq!(back.expected.memories, vec![memory, Vec::new()]);
        assert_eq!(crate::outcome::compare(&back.plan.calls, &back.expected, &case.expected), None);
        assert_eq!((back.seed, back.artifact, back.plan.calls[0].args[0]), (42, vec![1, 2, 3], Value::V128(u128::MAX)));
    }

    fn case_for(wat: &str, config: &kiln_build::Config, expected: Run) -> Case {
        let wasm = wat::parse_str(wat).unwrap();
        let triple = config.triple().to_string();
        let artifact = kiln_build::compile(&wasm, config).unwrap();
        let plan = Plan { calls: vec![Call { export: "f".into(), args: vec![Value::I32(20)] }], ..Plan::default() };
        Case { seed: 7, triple, cpu_features: Vec::new(), wasm, artifact, plan, expected }
    }

    #[test]
    fn judging_compares_kiln_here_with_the_recorded_oracles() {
        let host = kiln_build::Config::host();
        let wat = r#"(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 22 i32.add))"#;
        let right = Run { calls: vec![Ok(vec![Value::I32(42)])], ..Run::default() };
        let wrong = Run { calls: vec![Ok(vec![Value::I32(41)])], ..Run::default() };
        let trap = Run { calls: vec![Err(Failure::trap(TrapCode::UnreachableCodeReached))], ..Run::default() };
        assert_eq!(judge(&case_for(wat, &host, right)).unwrap().calls.len(), 1);
        let e = judge(&case_for(wat, &host, wrong)).unwrap_err();
        assert!(e.contains("differs from both oracles") && e.contains("I32(42)") && e.contains("I32(41)"), "{e}");
        assert!(judge(&case_for(wat, &host, trap)).is_err());
        // A case recorded for another architecture is not run here.
        let other = if cfg!(target_arch = "s390x") { "aarch64-unknown-linux-gnu" } else { "s390x-unknown-linux-gnu" };
        let other = kiln_build::Config::for_target(other).unwrap();
        let e = judge(&case_for(wat, &other, Run::default())).unwrap_err();
        assert!(e.contains("could not run") && e.contains("artifact is for"), "{e}");
    }

    #[test]
    fn foreign_or_damaged_files_are_refused_with_a_reason() {
        assert!(Case::decode(b"\x7fELF").unwrap_err().contains("not a case file"));
        let mut bytes = MAGIC.to_vec();
        bytes.push(0xff);
        assert!(Case::decode(&bytes).unwrap_err().contains("damaged"));
    }
}
