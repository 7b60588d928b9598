//! The WAL file the writer flushes itself (`fdatasync`), and the directory
//! entries it syncs on the first flush.

/// The WAL file, flushed by the writer after each commit.
pub(super) struct Wal {
    path: std::path::PathBuf,
    /// Opened at the first flush (SQLite creates the file).
    file: Option<std::fs::File>,
}

impl Wal {
    pub(super) fn new(path: std::path::PathBuf) -> Self {
        Wal { path, file: None }
    }

    /// `fdatasync`s the WAL file: every frame written before is on disk. A
    /// failed flush stops all writing (sets `failed`): after a failed fsync
    /// the kernel may have dropped the dirty pages, so nothing later can be
    /// trusted.
    pub(super) fn flush(&mut self, failed: &std::sync::atomic::AtomicBool) -> bool {
        if failed.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        let r = match &self.file {
            Some(f) => f.sync_data(),
            None => std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.path)
                .and_then(|f| {
                    let r = f.sync_data().and_then(|()| self.sync_directory());
                    self.file = Some(f);
                    r
                }),
        };
        if let Err(e) = &r {
            failed.store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::error!("flushing the SQLite WAL failed: {e}; writes stop until restart");
        }
        r.is_ok()
    }

    /// Makes the names durable (once, at the first flush): the WAL's and the
    /// database's entries in their directory, and that directory's entry in
    /// its parent (`serve` creates the data directory on first run). POSIX
    /// promises that `fdatasync` keeps a file's data, not its name, so files
    /// created since the last directory sync could otherwise vanish in a
    /// crash with the commits in them.
    pub(super) fn sync_directory(&self) -> std::io::Result<()> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = std::fs::canonicalize(dir.unwrap_or(std::path::Path::new(".")))?;
        std::fs::File::open(&dir)?.sync_all()?;
        match dir.parent() {
            Some(parent) => std::fs::File::open(parent)?.sync_all(),
            None => Ok(()),
        }
    }
}
