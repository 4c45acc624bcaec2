//! Loading and validating query files. (Being written.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Query;
use crate::sources::Provider;

/// What a query file is checked against.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// Connection ids from the config and their platforms.
    pub connections: HashMap<String, Provider>,
    /// Outputs must resolve inside this directory.
    pub output_dir: PathBuf,
}

/// One problem in one query file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

/// Loads every `*.toml` in `dir`.
pub fn load_dir(_dir: &Path, _ctx: &ValidationContext) -> (Vec<Query>, Vec<Diagnostic>) {
    unimplemented!()
}

/// Loads one file.
pub fn load_file(_path: &Path, _ctx: &ValidationContext) -> Result<Query, Vec<Diagnostic>> {
    unimplemented!()
}
