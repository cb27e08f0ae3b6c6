//! The one way assay writes: a file or a directory is built under a unique temporary name next
//! to its destination, synced, and renamed into place, so a reader sees the old version or the
//! whole new one, never half of one.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Unix mode asked for a new file; the umask then takes its bits away, as for any ordinary
/// create (0644 under the common umask 022, 0600 under 077).
const NEW_FILE_MODE: u32 = 0o666;
/// Unix mode asked for a new directory, likewise (0755 under umask 022).
const NEW_DIR_MODE: u32 = 0o777;

/// A builder of temporary files or directories created with `mode`, less the umask.
fn temp_builder<'a>(mode: u32) -> tempfile::Builder<'a, 'a> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut builder = tempfile::Builder::new();
        builder.permissions(fs::Permissions::from_mode(mode));
        builder
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        tempfile::Builder::new()
    }
}

/// Writes `path` all at once: `f` writes into a uniquely named temporary file in the same
/// directory, which is flushed, synced and renamed over `path` only when `f` succeeds; then the
/// directory itself is synced, so the rename survives a crash.
///
/// Readers therefore see the old file or the whole new one, never a half-written one, and a
/// failed write leaves the old file untouched (the temporary file is removed). The rename is
/// atomic because the temporary file is on the same file system. On Unix a replaced file keeps
/// its permission bits; a new file gets what an ordinary create gives, 0666 less the umask.
///
/// ```
/// use std::io::Write;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("report.json");
/// assay_fetch::write_atomically(&path, |out| writeln!(out, "{{\"ok\": true}}"))?;
/// assert_eq!(std::fs::read_to_string(&path)?, "{\"ok\": true}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_of(path);
    let mut temp = temp_builder(NEW_FILE_MODE)
        .prefix(".assay-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        f(&mut writer)?;
        writer.flush()?;
    }
    #[cfg(unix)]
    if let Some(mode) = existing_mode(path)? {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Builds directory `dest` all at once: `fill` writes into a uniquely named staging directory
/// next to `dest` (`.<name>.assay-tmp-XXXXXX`); when it succeeds, every file in it is synced
/// and it is renamed to `dest`, replacing whatever `dest` held. When `fill` fails the staging
/// directory is removed and `dest` is untouched. `io_error` attaches a path to an IO failure in
/// the caller's error type. Whether `dest` may be replaced is the caller's decision.
///
/// A staging directory left by a crashed run (a directory named `.<name>.assay-tmp-*`, a name
/// only this function makes) is removed first; other names, such as a user's `<name>.tmp`, are
/// never touched. So two writers of the same `dest` at the same time are not supported: the
/// later one removes the earlier one's staging directory, whose rename then fails with an
/// error. On Linux an existing `dest` is exchanged with the staging directory in one atomic
/// step (`renameat2` with `RENAME_EXCHANGE`) and then deleted, so `dest` is never missing;
/// where the file system cannot exchange (and on other systems) it is moved aside before the
/// rename and deleted after it, so for that instant `dest` is missing. On Unix the new
/// directory keeps the permission bits of the one it replaces; a new one gets 0777 less the
/// umask, as an ordinary `mkdir` does.
pub fn replace_dir_atomically<T, E>(
    dest: &Path,
    fill: impl FnOnce(&Path) -> Result<T, E>,
    io_error: impl Fn(&Path, io::Error) -> E,
) -> Result<T, E> {
    let parent = parent_of(dest);
    let Some(name) = dest.file_name().and_then(|n| n.to_str()) else {
        return Err(io_error(
            dest,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no final directory name in UTF-8",
            ),
        ));
    };
    fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    remove_stale_staging(parent, name).map_err(|e| io_error(parent, e))?;
    let staging = temp_builder(NEW_DIR_MODE)
        .prefix(&staging_prefix(name))
        .tempdir_in(parent)
        .map_err(|e| io_error(parent, e))?;
    #[cfg(unix)]
    if let Some(mode) = existing_mode(dest).map_err(|e| io_error(dest, e))? {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(mode))
            .map_err(|e| io_error(staging.path(), e))?;
    }
    // On failure `staging` is dropped here, which removes it.
    let value = fill(staging.path())?;
    sync_tree(staging.path()).map_err(|e| io_error(staging.path(), e))?;
    let staging = staging.keep();
    let result = swap_into_place(&staging, dest, parent, name);
    if let Err(error) = result {
        // Best effort: the error being returned matters more than a failed clean-up.
        let _ = fs::remove_dir_all(&staging);
        return Err(io_error(dest, error));
    }
    sync_dir(parent).map_err(|e| io_error(parent, e))?;
    Ok(value)
}

/// Renames `staging` to `dest`; an existing `dest` is exchanged with it where the system can,
/// else moved aside first, and deleted after.
fn swap_into_place(staging: &Path, dest: &Path, parent: &Path, name: &str) -> io::Result<()> {
    if fs::symlink_metadata(dest).is_err() {
        return fs::rename(staging, dest);
    }
    if exchange(staging, dest)? {
        // `staging` now names the old `dest`: the new one is in place whatever happens next,
        // and a staging folder this fails to remove is a crashed run's to the next write.
        let _ = fs::remove_dir_all(staging);
        return Ok(());
    }
    // An empty directory reserves a unique name; renaming a directory onto an empty one
    // replaces it.
    let aside = tempfile::Builder::new()
        .prefix(&format!(".{name}.old-"))
        .tempdir_in(parent)?
        .keep();
    fs::rename(dest, &aside)?;
    if let Err(error) = fs::rename(staging, dest) {
        let _ = fs::rename(&aside, dest);
        return Err(error);
    }
    fs::remove_dir_all(&aside)
}

/// The start of the name of every staging directory for `name`: hidden, and in a namespace of
/// assay's own, so that no user file is ever taken for one.
fn staging_prefix(name: &str) -> String {
    format!(".{name}.assay-tmp-")
}

/// Exchanges `a` and `b` atomically; `false` when this system or file system cannot, and
/// nothing was done.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |path: &Path| {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Ok(false),
        _ => Err(error),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Removes the staging directories of earlier, crashed runs for `name` in `parent`.
fn remove_stale_staging(parent: &Path, name: &str) -> io::Result<()> {
    let prefix = staging_prefix(name);
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if file_name.starts_with(&prefix) && entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The permission bits of `path`, or `None` when it does not exist.
#[cfg(unix)]
fn existing_mode(path: &Path) -> io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(path) {
        Ok(metadata) => Ok(Some(metadata.permissions().mode() & 0o7777)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Syncs every file and directory under `dir`, and `dir` itself.
fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            sync_tree(&entry.path())?;
        } else if kind.is_file() {
            fs::File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// Syncs a directory's entries (a rename is durable only after this). Not possible on Windows,
/// and refused by a few file systems, where it is skipped.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match fs::File::open(dir)?.sync_all() {
            Ok(()) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) => {}
            Err(error) => return Err(error),
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
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

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_gets_an_ordinary_files() -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| -> io::Result<u32> {
            Ok(fs::metadata(path)?.permissions().mode() & 0o7777)
        };
        let dir = tempfile::tempdir()?;
        // What a plain create gives under this process's umask.
        let plain = dir.path().join("plain.txt");
        fs::write(&plain, "plain")?;
        let fresh = dir.path().join("fresh.txt");
        write_atomically(&fresh, |w| w.write_all(b"new"))?;
        assert_eq!(mode(&fresh)?, mode(&plain)?);

        let secret = dir.path().join("secret.txt");
        fs::write(&secret, "old")?;
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600))?;
        write_atomically(&secret, |w| w.write_all(b"new"))?;
        assert_eq!(mode(&secret)?, 0o600);
        assert_eq!(fs::read_to_string(&secret)?, "new");

        let script = dir.path().join("run.sh");
        fs::write(&script, "old")?;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o750))?;
        write_atomically(&script, |w| w.write_all(b"new"))?;
        assert_eq!(mode(&script)?, 0o750);
        Ok(())
    }

    #[test]
    fn temporary_names_are_unique_per_write() -> io::Result<()> {
        // Two writes of the same file open at once must not share a temporary file.
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("shared.txt");
        let inner = path.clone();
        write_atomically(&path, |outer| {
            write_atomically(&inner, |w| w.write_all(b"inner"))?;
            // The outer temporary file is still there, beside the finished inner write.
            assert_eq!(fs::read_dir(inner.parent().unwrap())?.count(), 2);
            outer.write_all(b"outer")
        })?;
        assert_eq!(fs::read_to_string(&path)?, "outer");
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    fn names(dir: &Path) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<io::Result<_>>()?;
        names.sort();
        Ok(names)
    }

    #[test]
    fn directories_are_replaced_whole_or_not_at_all() -> io::Result<()> {
        let root = tempfile::tempdir()?;
        let dest = root.path().join("pack");
        let io_error = |_: &Path, e: io::Error| e;
        replace_dir_atomically(&dest, |dir| fs::write(dir.join("a.txt"), "1"), io_error)?;
        assert_eq!(names(&dest)?, ["a.txt"]);

        let failed: io::Result<()> = replace_dir_atomically(
            &dest,
            |dir| {
                fs::write(dir.join("b.txt"), "half")?;
                Err(io::Error::other("boom"))
            },
            io_error,
        );
        assert!(failed.is_err());
        assert_eq!(names(&dest)?, ["a.txt"]);
        assert_eq!(names(root.path())?, ["pack"]);

        // A crashed run's staging directory is removed; a user's folders with names like
        // `pack.tmp` are not assay's to remove; the old contents are replaced.
        fs::create_dir(root.path().join(".pack.assay-tmp-stale"))?;
        fs::write(root.path().join(".pack.assay-tmp-stale/half.txt"), "half")?;
        for theirs in ["pack.tmp", "pack.tmp-old", ".pack.tmp-x"] {
            fs::create_dir(root.path().join(theirs))?;
            fs::write(root.path().join(theirs).join("notes.txt"), "keep me")?;
        }
        let value =
            replace_dir_atomically(&dest, |dir| fs::write(dir.join("c.txt"), "3"), io_error);
        assert!(value.is_ok());
        assert_eq!(names(&dest)?, ["c.txt"]);
        assert_eq!(
            names(root.path())?,
            [".pack.tmp-x", "pack", "pack.tmp", "pack.tmp-old"]
        );
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_directory_keeps_its_mode() -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir()?;
        let io_error = |_: &Path, e: io::Error| e;
        let plain = root.path().join("plain");
        fs::create_dir(&plain)?;
        let fresh = root.path().join("fresh");
        replace_dir_atomically(&fresh, |_| Ok(()), io_error)?;
        assert_eq!(
            fs::metadata(&fresh)?.permissions().mode() & 0o7777,
            fs::metadata(&plain)?.permissions().mode() & 0o7777
        );
        let private = root.path().join("private");
        fs::create_dir(&private)?;
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700))?;
        replace_dir_atomically(&private, |_| Ok(()), io_error)?;
        assert_eq!(fs::metadata(&private)?.permissions().mode() & 0o7777, 0o700);
        Ok(())
    }
}
