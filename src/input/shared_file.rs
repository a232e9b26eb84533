//! A file read by position ([`SharedFile`]): the spreadsheet library opens a
//! workbook several times, and each opening gets a clone with its own
//! position instead of a copy of the file in memory. Uses the `files` leaf
//! (a handle checked to be a regular file).

use crate::files::RegularFile;

/// A file read by position, cheap to clone (each clone keeps its own
/// position): the spreadsheet readers open a workbook several times.
#[derive(Clone)]
pub(crate) struct SharedFile {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
    len: u64,
}

impl SharedFile {
    /// A file opened and checked by [`RegularFile::open`] (its size is the
    /// one the caller checked against the input limits).
    pub(crate) fn new(opened: RegularFile) -> std::io::Result<SharedFile> {
        Ok(SharedFile {
            file: std::sync::Arc::new(opened.file),
            pos: 0,
            len: opened.len,
        })
    }

    pub(crate) fn read_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], at + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl std::io::Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = loop {
            match self.file.read_at(buf, self.pos) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for SharedFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) => {
                self.pos = t;
                Ok(t)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
    }
}
