use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes `path` all at once: `f` writes into a temporary file in the same directory, which is
/// flushed, synced and renamed over `path` only when `f` succeeds.
///
/// Readers therefore see the old file or the whole new one, never a half-written one, and a
/// failed write leaves the old file untouched (the temporary file is removed). The rename is
/// atomic because the temporary file is on the same file system. The new file gets mode 0644 on
/// Unix, like a file created the ordinary way under the common umask.
///
/// ```
/// use std::io::Write;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("report.json");
/// assay_import::write_atomically(&path, |out| writeln!(out, "{{\"ok\": true}}"))?;
/// assert_eq!(std::fs::read_to_string(&path)?, "{\"ok\": true}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".assay-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        f(&mut writer)?;
        writer.flush()?;
    }
    temp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_or_not_at_all() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("out.txt");
        write_atomically(&path, |w| w.write_all(b"first"))?;
        assert_eq!(std::fs::read_to_string(&path)?, "first");
        let failed = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path)?, "first");
        // Only the target remains: the failed temporary file was removed.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        write_atomically(&path, |w| w.write_all(b"second"))?;
        assert_eq!(std::fs::read_to_string(&path)?, "second");
        Ok(())
    }
}
