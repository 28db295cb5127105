//! The single mapping between kiln's [`TrapCode`] (the numbering of the
//! artifact format) and Cranelift's [`ir::TrapCode`] (what trapping
//! instructions carry).
//!
//! The five traps Cranelift raises by itself — stack overflow in prologues,
//! integer overflow and division by zero in `sdiv`/`udiv`/`srem`/`urem`,
//! failed float-to-int conversions, and the default code of heap accesses —
//! map to Cranelift's reserved codes. Every other kiln code `n` maps to
//! `ir::TrapCode::user(n)`. The mapping is a bijection between kiln codes and
//! its image; [`from_ir`] returns `None` outside the image, so a trap site
//! whose code is not kiln's is a compiler bug the driver reports.

use cranelift_codegen::ir;
use kiln_artifact::traps::TrapCode;

/// The Cranelift trap code compiled code uses for `code`.
pub fn to_ir(code: TrapCode) -> ir::TrapCode {
    match code {
        TrapCode::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        TrapCode::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        TrapCode::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        TrapCode::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        TrapCode::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        // Kiln numbers its codes from 1 to well below Cranelift's reserved
        // range (251..=255); `every_code_round_trips` pins this.
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// The kiln trap code of a Cranelift trap site, if it is one of kiln's.
pub fn from_ir(code: ir::TrapCode) -> Option<TrapCode> {
    let kiln = match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        user => TrapCode::from_u8(user.as_raw().get())?,
    };
    // `user(1)` is not the image of `StackOverflow` (which uses the reserved
    // code): only codes that `to_ir` produces map back.
    (to_ir(kiln) == code).then_some(kiln)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for &code in TrapCode::ALL {
            assert_eq!(from_ir(to_ir(code)), Some(code), "{code:?}");
        }
    }

    #[test]
    fn mapping_is_injective() {
        let mut seen = std::collections::HashSet::new();
        for &code in TrapCode::ALL {
            assert!(seen.insert(to_ir(code)), "{code:?} shares its Cranelift code");
        }
    }

    #[test]
    fn codes_outside_the_image_are_refused() {
        for byte in 1..=u8::MAX {
            let ir_code = ir::TrapCode::from_raw(std::num::NonZeroU8::new(byte).unwrap());
            if let Some(kiln) = from_ir(ir_code) {
                assert_eq!(to_ir(kiln), ir_code);
            }
        }
        // The user codes shadowed by the reserved ones are not kiln's.
        assert_eq!(from_ir(ir::TrapCode::unwrap_user(TrapCode::StackOverflow as u8)), None);
        assert_eq!(from_ir(ir::TrapCode::unwrap_user(200)), None);
    }

    #[test]
    fn cranelift_reserved_codes_are_covered() {
        for &code in ir::TrapCode::non_user_traps() {
            assert!(from_ir(code).is_some(), "{code} has no kiln code");
        }
    }
}
