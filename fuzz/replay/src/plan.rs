//! What a differential case does with a module once it is instantiated.

use crate::outcome::Value;
use serde::{Deserialize, Serialize};

/// Call each exported function once, in export order, with these
/// arguments; then read every exported memory, global and table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    pub calls: Vec<Call>,
    pub memories: Vec<String>,
    pub globals: Vec<String>,
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub export: String,
    pub args: Vec<Value>,
}
