//! Errors of loading and validating a scenario. Every one names the file and, when it
//! comes from the text, the line and column (1-based) of the offending value.

use std::fmt;

/// One problem found in a file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given by the user (or `embedded:<name>` for embedded files).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Why a scenario (or a file it refers to) could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's reason.
        message: String,
    },
    /// The text is not valid RON for the schema (syntax, unknown field, wrong type).
    #[error("{0}")]
    Parse(Diagnostic),
    /// The scenario parses but breaks one or more rules; every problem is listed.
    #[error("{}", join(.0))]
    Invalid(Vec<Diagnostic>),
}

fn join(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl ScenarioError {
    /// Every problem as one `file:line:col: message` line (an `Io` error gives one line
    /// without position).
    pub fn lines(&self) -> Vec<String> {
        match self {
            ScenarioError::Invalid(d) => d.iter().map(|d| d.to_string()).collect(),
            other => vec![other.to_string()],
        }
    }

    /// The diagnostics carried by this error (empty for `Io`).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ScenarioError::Io { .. } => Vec::new(),
            ScenarioError::Parse(d) => vec![d.clone()],
            ScenarioError::Invalid(d) => d.clone(),
        }
    }
}
