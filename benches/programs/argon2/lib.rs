//! Cryptography: Argon2id password hashing, 8 MiB of memory, 2 passes
//! (memory-hard: 64-bit arithmetic over a large buffer).
use argon2::{Algorithm, Argon2, Params, Version};
use common::{check, digest};

common::program!((), || (), |_: &()| {
    let params = Params::new(8 * 1024, 2, 1, Some(32)).unwrap();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    argon.hash_password_into(b"correct horse battery staple", b"kiln-salt-0001", &mut out).unwrap();
    let mut other = [0u8; 32];
    argon.hash_password_into(b"correct horse battery stapler", b"kiln-salt-0001", &mut other).unwrap();
    check(out != other, "different passwords give different hashes");
    digest(&out)
});
