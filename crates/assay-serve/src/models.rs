//! Model version folders that must go: a version fitted on a deleted user's data keeps that
//! user's influence, so its files are removed once a version without them serves.

use std::path::Path;

use crate::engine::ServeError;

/// Removes a version's folder; a folder already gone is fine.
pub fn drop_version(dir: &Path) -> Result<(), ServeError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(ServeError::Conflict(format!(
            "{}: the model version's files could not be removed: {error}",
            dir.display()
        ))),
    }
}
