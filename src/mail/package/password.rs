//! The package password, kept out of logs.
//!
//! Uses only [`crate::error`]: the password is read from a file or an
//! environment variable, never from the command line.

use crate::error::BatchError;
use std::path::Path;

/// A package password. Its `Debug` output is redacted so it never reaches a
/// log; it is only ever read from a file or an environment variable.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Reads the password from the first line of a file (trailing CR/LF removed).
    pub fn from_file(path: &Path) -> Result<Password, BatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            BatchError::Input(format!(
                "パスワードファイルを読めません (cannot read the password file) {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or("");
        Password::new(line).map_err(|m| BatchError::Input(format!("{}: {m}", path.display())))
    }

    /// Reads the password from an environment variable.
    pub fn from_env(var: &str) -> Result<Password, BatchError> {
        let value = std::env::var(var).map_err(|_| {
            BatchError::Input(format!(
                "環境変数 {var} にパスワードがありません (environment variable {var} is not set or not UTF-8)"
            ))
        })?;
        Password::new(&value).map_err(|m| BatchError::Input(format!("{var}: {m}")))
    }

    fn new(s: &str) -> Result<Password, String> {
        if s.is_empty() {
            Err("パスワードが空です (the password is empty)".into())
        } else {
            Ok(Password(s.to_string()))
        }
    }

    /// The password's bytes (for the zip library only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(Password::new("").is_err());
    }
}
