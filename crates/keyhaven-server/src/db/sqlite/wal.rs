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

    /// `fdatasync`s the WAL file: every frame written before is on disk.
    /// After an error the writer checkpoints before it commits again (see
    /// `writer::recover_wal`): the kernel may have dropped the dirty pages.
    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        match &self.file {
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
        }
    }

    /// Opens the file afresh at the next flush (after a failed one).
    pub(super) fn reopen(&mut self) {
        self.file = None;
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
