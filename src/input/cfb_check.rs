//! Structure check of OLE compound files (legacy `.xls`) before calamine
//! reads them (hardening, issue 9).
//!
//! calamine 0.38's compound file reader trusts the file: a sector chain that
//! loops makes it append sectors until memory runs out and the process
//! aborts, and out-of-range sector numbers make it panic (see
//! `docs/upstream/calamine-cfb-panic.md`). [`check_compound_file`] walks the
//! same structures calamine will read, in the same way, and refuses the file
//! unless every one of them is sound:
//!
//! * the header: sector size 512 or 4096 bytes, mini sectors of 64 bytes,
//!   sector counts no larger than the file;
//! * the DIFAT chain (acyclic, whole sectors inside the file) and every FAT
//!   sector it lists (inside the file, none listed twice: calamine loads each
//!   listed sector, so duplicates would multiply its memory);
//! * the directory chain (acyclic, every sector inside the file and covered
//!   by the FAT, ending in `ENDOFCHAIN`);
//! * when the header declares a mini FAT: the mini stream (the root entry's
//!   chain) and the mini FAT chain, each at least as long as its declared size;
//! * the chains of the streams calamine reads (`Workbook`, `Book` and the two
//!   summary information streams, found by name as calamine finds them):
//!   streams under 4096 bytes in the mini stream, others in the file, each
//!   acyclic, within bounds and at least as long as its declared size;
//! * in every chain, the file's last sector (which may be cut short) only
//!   at the chain's end: calamine reads a short sector short the first time
//!   and zero-padded afterwards, so in the middle of a chain the bytes of
//!   the stream would depend on what was read before.
//!
//! The file is read through `Read + Seek` one sector at a time; memory is a
//! byte per sector of the file plus the FAT entries for those sectors (about
//! 1/100 of the file size), whatever the file claims. Time is linear in the
//! number of sectors.
//!
//! A sound file's workbook stream (`Workbook`, else `Book`, as calamine
//! chooses) is handed back as a [`WorkbookStream`], read through the same
//! reader along the checked chain, for the sheet-size check
//! ([`crate::input::xls_check`]); it holds one entry per run of adjacent sectors,
//! not the stream.
//!
//! Errors are in Japanese with an English gloss and say which structure is
//! broken; they never contain file content.

use std::io::{Read, Seek, SeekFrom};

/// End of a sector chain.
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// First of the special sector numbers (DIFSECT, FATSECT, ENDOFCHAIN,
/// FREESECT and reserved ones): calamine follows the DIFAT below it.
const MAXREGSECT: u32 = 0xFFFF_FFFA;
/// DIFAT entries at or above this are not FAT sectors (calamine's filter).
const DIFSECT: u32 = 0xFFFF_FFFC;
/// Mini sector size: 64 bytes (mini sector shift 6).
const MINI_SECTOR: u64 = 64;
/// Streams shorter than this are stored in the mini stream (calamine uses
/// this fixed cut-off, not the header's field).
const MINI_CUTOFF: u64 = 4096;
/// Streams calamine's `.xls` reader opens by name.
const STREAMS: [&str; 4] = [
    "Workbook",
    "Book",
    "\u{5}SummaryInformation",
    "\u{5}DocumentSummaryInformation",
];

/// What is wrong with a compound file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    SectorSize,
    MiniSectorSize,
    HeaderCount,
    Loop,
    BeyondEnd,
    NotInFat,
    BadLink,
    FatListedTwice,
    Short,
    NoDirectory,
}

impl Defect {
    fn ja(self) -> &'static str {
        match self {
            Defect::SectorSize => "セクタサイズが不正です",
            Defect::MiniSectorSize => "ミニセクタサイズが不正です",
            Defect::HeaderCount => "ヘッダーのセクタ数がファイルより大きいです",
            Defect::Loop => "セクタの連鎖が循環しています",
            Defect::BeyondEnd => "ファイルの範囲外のセクタを指しています",
            Defect::NotInFat => "FAT にないセクタを指しています",
            Defect::BadLink => "連鎖に不正なセクタ番号があります",
            Defect::FatListedTwice => "同じ FAT セクタが二度登録されています",
            Defect::Short => "ストリームが宣言されたサイズより短いです",
            Defect::NoDirectory => "ディレクトリが空です",
        }
    }

    fn en(self) -> &'static str {
        match self {
            Defect::SectorSize => "sector size is not 512 or 4096",
            Defect::MiniSectorSize => "mini sector size is not 64",
            Defect::HeaderCount => "header sector count exceeds the file",
            Defect::Loop => "sector chain loops",
            Defect::BeyondEnd => "sector beyond the end of the file",
            Defect::NotInFat => "sector not covered by the FAT",
            Defect::BadLink => "invalid sector number in a chain",
            Defect::FatListedTwice => "FAT sector listed twice",
            Defect::Short => "chain shorter than the declared size",
            Defect::NoDirectory => "empty directory",
        }
    }
}

/// A defect found in one structure (`what`: "DIFAT", "directory", …).
#[derive(Debug)]
struct Found {
    defect: Defect,
    what: &'static str,
}

/// Why the check failed.
enum Failure {
    Corrupt(Found),
    Io(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

fn corrupt<T>(defect: Defect, what: &'static str) -> Result<T, Failure> {
    Err(Failure::Corrupt(Found { defect, what }))
}

/// Checks the compound file read through `reader` (from its start) as
/// described in the [module documentation](self). The error is the message
/// for the user (Japanese with an English gloss), without the file name.
///
/// On success, returns the stream calamine will parse as the workbook
/// (`Workbook`, or else `Book`), if there is one, read through `reader`
/// (see [`WorkbookStream`]).
pub fn check_compound_file<R: Read + Seek>(reader: R) -> Result<Option<WorkbookStream<R>>, String> {
    match Checker::run(reader) {
        Ok(stream) => Ok(stream),
        Err(Failure::Corrupt(f)) => Err(format!(
            "xls ファイルの構造が壊れています: {} ({}) \
             (corrupt .xls compound file: {} in the {})",
            f.defect.ja(),
            f.what,
            f.defect.en(),
            f.what
        )),
        Err(Failure::Io(e)) => Err(format!("ファイルを読めません (cannot read file): {e}")),
    }
}

/// A directory entry's chain: first sector and declared size.
#[derive(Clone, Copy)]
struct Entry {
    start: u32,
    len: u64,
}

/// A piece of a stream: `len` bytes at `file` in the file, at `at` in the
/// stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    at: u64,
    file: u64,
    len: u64,
}

/// A stream's pieces in stream order, adjacent pieces merged; appending
/// stops at `limit` bytes (the declared size, as calamine cuts the chain).
struct Segments {
    list: Vec<Segment>,
    limit: u64,
    len: u64,
}

impl Segments {
    fn new(limit: u64) -> Self {
        Segments {
            list: Vec::new(),
            limit,
            len: 0,
        }
    }

    /// Appends `len` bytes at `file`.
    fn push(&mut self, file: u64, len: u64) {
        let len = len.min(self.limit - self.len);
        if len == 0 {
            return;
        }
        match self.list.last_mut() {
            Some(last) if last.file + last.len == file => last.len += len,
            _ => self.list.push(Segment {
                at: self.len,
                file,
                len,
            }),
        }
        self.len += len;
    }

    /// The piece holding stream byte `at` (which must be below `self.len`).
    fn find(&self, at: u64) -> Segment {
        let i = self.list.partition_point(|s| s.at + s.len <= at);
        self.list[i]
    }

    /// Appends bytes `from..from + len` of the stream described by `of`.
    fn push_from(&mut self, of: &Segments, mut from: u64, len: u64) {
        let end = (from + len).min(of.len);
        while from < end {
            let s = of.find(from);
            let skip = from - s.at;
            let take = (s.len - skip).min(end - from);
            self.push(s.file + skip, take);
            from += take;
        }
    }
}

/// The workbook stream of a checked compound file, read through the file's
/// reader (`Read + Seek`, positions counted from the start of the stream):
/// the same bytes calamine will parse, without copying the stream into
/// memory. Holds one entry per run of adjacent sectors.
pub struct WorkbookStream<R> {
    r: R,
    segments: Segments,
    pos: u64,
}

impl<R> WorkbookStream<R> {
    /// The stream's length in bytes (its declared size).
    pub fn len(&self) -> u64 {
        self.segments.len
    }
}

impl<R: Read + Seek> Read for WorkbookStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.segments.len || buf.is_empty() {
            return Ok(0);
        }
        let s = self.segments.find(self.pos);
        let skip = self.pos - s.at;
        let want = (s.len - skip).min(buf.len() as u64) as usize;
        self.r.seek(SeekFrom::Start(s.file + skip))?;
        let n = self.r.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R> Seek for WorkbookStream<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.segments.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(t) = target else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the stream",
            ));
        };
        self.pos = t;
        Ok(t)
    }
}

struct Checker<R> {
    r: R,
    /// File length in bytes.
    len: u64,
    /// Sector size in bytes (512 or 4096).
    size: u64,
    /// Sectors that start inside the file (sector `i` starts at `(i + 1) * size`).
    sectors: u64,
    /// The FAT, as calamine concatenates it, cut after `sectors` entries.
    fat: Vec<u32>,
    /// Per sector: the tag of the last walk that visited it.
    marks: Vec<u8>,
    next_tag: u8,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32_at(b, at)) | (u64::from(u32_at(b, at + 4)) << 32)
}

/// Reads until `buf` is full or the end of the input; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl<R: Read + Seek> Checker<R> {
    fn run(mut r: R) -> Result<Option<WorkbookStream<R>>, Failure> {
        let len = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(0))?;
        let mut header = [0u8; 512];
        if read_full(&mut r, &mut header)? < 512 {
            return corrupt(Defect::BeyondEnd, "header");
        }
        let size: u64 = match u16_at(&header, 30) {
            9 => 512,
            12 => 4096,
            _ => return corrupt(Defect::SectorSize, "header"),
        };
        if u16_at(&header, 32) != 6 {
            return corrupt(Defect::MiniSectorSize, "header");
        }
        if len < size {
            return corrupt(Defect::BeyondEnd, "header");
        }
        // Sectors that start inside the file.
        let sectors = (len - size).div_ceil(size);
        let fat_count = u64::from(u32_at(&header, 44));
        let dir_start = u32_at(&header, 48);
        let mini_fat_start = u32_at(&header, 60);
        let mini_fat_count = u64::from(u32_at(&header, 64));
        let difat_start = u32_at(&header, 68);
        let difat_count = u64::from(u32_at(&header, 72));
        if fat_count > sectors || mini_fat_count > sectors || difat_count > sectors {
            return corrupt(Defect::HeaderCount, "header");
        }
        let mut c = Checker {
            r,
            len,
            size,
            sectors,
            fat: Vec::new(),
            marks: vec![0; sectors as usize],
            next_tag: 1,
        };
        c.load_fat(&header, difat_start)?;
        let dir = c.read_directory(dir_start)?;
        let segments = c.check_streams(&dir, mini_fat_start, mini_fat_count)?;
        Ok(segments.map(|segments| WorkbookStream {
            r: c.r,
            segments,
            pos: 0,
        }))
    }

    /// Bytes of sector `id` inside the file (0 if it starts at or past the end).
    fn available(&self, id: u32) -> u64 {
        if id >= MAXREGSECT {
            return 0;
        }
        let start = (u64::from(id) + 1) * self.size;
        self.len.saturating_sub(start).min(self.size)
    }

    /// Reads the whole sector `id`, which must lie entirely inside the file.
    fn read_sector(&mut self, id: u32, buf: &mut [u8], what: &'static str) -> Result<(), Failure> {
        if self.available(id) < self.size {
            return corrupt(Defect::BeyondEnd, what);
        }
        self.r
            .seek(SeekFrom::Start((u64::from(id) + 1) * self.size))?;
        if read_full(&mut self.r, buf)? < buf.len() {
            return corrupt(Defect::BeyondEnd, what);
        }
        Ok(())
    }

    fn tag(&mut self) -> u8 {
        let t = self.next_tag;
        self.next_tag += 1;
        t
    }

    /// Walks the DIFAT as calamine does (the 109 header entries, then the
    /// DIFAT sectors, the last entry of each linking to the next) and loads
    /// every FAT sector it lists.
    fn load_fat(&mut self, header: &[u8; 512], difat_start: u32) -> Result<(), Failure> {
        let fat_tag = self.tag();
        let difat_tag = self.tag();
        for i in 0..109 {
            self.add_fat_sector(u32_at(header, 76 + 4 * i), fat_tag)?;
        }
        let mut buf = vec![0u8; self.size as usize];
        let per_sector = buf.len() / 4;
        let mut next = difat_start;
        while next < MAXREGSECT {
            if self.available(next) < self.size {
                return corrupt(Defect::BeyondEnd, "DIFAT");
            }
            let mark = &mut self.marks[next as usize];
            if *mark == difat_tag {
                return corrupt(Defect::Loop, "DIFAT");
            }
            *mark = difat_tag;
            self.read_sector(next, &mut buf, "DIFAT")?;
            let entries: Vec<u32> = (0..per_sector).map(|i| u32_at(&buf, 4 * i)).collect();
            for &id in &entries[..per_sector - 1] {
                self.add_fat_sector(id, fat_tag)?;
            }
            next = entries[per_sector - 1];
        }
        Ok(())
    }

    /// One DIFAT entry: a FAT sector unless it is a special value.
    fn add_fat_sector(&mut self, id: u32, fat_tag: u8) -> Result<(), Failure> {
        if id >= DIFSECT {
            return Ok(());
        }
        if self.available(id) < self.size {
            return corrupt(Defect::BeyondEnd, "FAT");
        }
        // Marks are shared with the DIFAT walk: a sector that is both a FAT
        // and a DIFAT sector is caught by neither, but cannot repeat.
        let mark = &mut self.marks[id as usize];
        if *mark == fat_tag {
            return corrupt(Defect::FatListedTwice, "FAT");
        }
        *mark = fat_tag;
        let want = self.sectors as usize;
        if self.fat.len() >= want {
            // Entries for sectors past the end of the file are never followed.
            return Ok(());
        }
        let mut buf = vec![0u8; self.size as usize];
        self.read_sector(id, &mut buf, "FAT")?;
        let take = (buf.len() / 4).min(want - self.fat.len());
        self.fat.extend((0..take).map(|i| u32_at(&buf, 4 * i)));
        Ok(())
    }

    /// Walks the chain from `start` to `ENDOFCHAIN` in the FAT, calling
    /// `visit` with every sector (whole sectors only if `whole`); returns the
    /// bytes the chain holds inside the file.
    fn walk(
        &mut self,
        start: u32,
        what: &'static str,
        whole: bool,
        mut visit: impl FnMut(&mut Self, u32) -> Result<(), Failure>,
    ) -> Result<u64, Failure> {
        let tag = self.tag();
        let mut id = start;
        let mut bytes = 0u64;
        while id != ENDOFCHAIN {
            if id >= MAXREGSECT {
                return corrupt(Defect::BadLink, what);
            }
            let avail = self.available(id);
            if avail == 0 || (whole && avail < self.size) {
                return corrupt(Defect::BeyondEnd, what);
            }
            let Some(&next) = self.fat.get(id as usize) else {
                return corrupt(Defect::NotInFat, what);
            };
            // The file's last sector may be cut short, but only at the end
            // of a chain: calamine reads it short the first time and
            // zero-padded later, so in the middle of a chain the stream's
            // bytes would depend on what was read before.
            if avail < self.size && next != ENDOFCHAIN {
                return corrupt(Defect::BeyondEnd, what);
            }
            let mark = &mut self.marks[id as usize];
            if *mark == tag {
                return corrupt(Defect::Loop, what);
            }
            *mark = tag;
            visit(self, id)?;
            bytes += avail;
            id = next;
        }
        Ok(bytes)
    }

    /// Reads the directory: the root entry and the first entry named like
    /// each of [`STREAMS`] (as calamine matches names).
    fn read_directory(&mut self, start: u32) -> Result<Directory, Failure> {
        let mut dir = Directory {
            root: None,
            streams: [None; STREAMS.len()],
        };
        let mut buf = vec![0u8; self.size as usize];
        let large = self.size == 4096;
        self.walk(start, "directory", true, |c, id| {
            c.read_sector(id, &mut buf, "directory")?;
            for e in buf.chunks_exact(128) {
                let entry = Entry {
                    start: u32_at(e, 116),
                    len: if large {
                        u64_at(e, 120)
                    } else {
                        u64::from(u32_at(e, 120))
                    },
                };
                if dir.root.is_none() {
                    dir.root = Some(entry);
                }
                let name = entry_name(&e[..64]);
                for (i, s) in STREAMS.iter().enumerate() {
                    if dir.streams[i].is_none()
                        && name.as_bytes().eq_ignore_ascii_case(s.as_bytes())
                    {
                        dir.streams[i] = Some(entry);
                    }
                }
            }
            Ok(())
        })?;
        if dir.root.is_none() {
            return corrupt(Defect::NoDirectory, "directory");
        }
        Ok(dir)
    }

    /// Checks the mini stream, the mini FAT and the chains of [`STREAMS`];
    /// returns where the workbook stream calamine parses lies (`Workbook`,
    /// or else `Book`), if there is one.
    fn check_streams(
        &mut self,
        dir: &Directory,
        mini_fat_start: u32,
        mini_fat_count: u64,
    ) -> Result<Option<Segments>, Failure> {
        // calamine loads the mini stream and the mini FAT only when the
        // header declares mini FAT sectors.
        let mut mini_fat: Vec<u32> = Vec::new();
        let mut mini_len = 0u64;
        let mut mini_stream = Segments::new(0);
        if mini_fat_count > 0 {
            let root = dir.root.expect("checked in read_directory");
            mini_stream = Segments::new(root.len);
            let got = self.walk(root.start, "mini stream", false, |c, id| {
                mini_stream.push((u64::from(id) + 1) * c.size, c.available(id));
                Ok(())
            })?;
            if got < root.len {
                return corrupt(Defect::Short, "mini stream");
            }
            mini_len = root.len;
            let declared = mini_fat_count * self.size;
            // Entries for mini sectors past the mini stream are never followed.
            let want = (mini_len / MINI_SECTOR).min(declared / 4) as usize;
            let mut buf = vec![0u8; self.size as usize];
            let got = self.walk(mini_fat_start, "mini FAT", true, |c, id| {
                if mini_fat.len() < want {
                    c.read_sector(id, &mut buf, "mini FAT")?;
                    let take = (buf.len() / 4).min(want - mini_fat.len());
                    mini_fat.extend((0..take).map(|i| u32_at(&buf, 4 * i)));
                }
                Ok(())
            })?;
            if got < declared {
                return corrupt(Defect::Short, "mini FAT");
            }
        }
        let mini_sectors = (mini_len / MINI_SECTOR).min(mini_fat.len() as u64) as usize;
        // calamine reads `Workbook` if there is one, else `Book`.
        let workbook = if dir.streams[0].is_some() { 0 } else { 1 };
        let mut found = None;
        for (i, entry) in dir.streams.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let what = STREAM_WHAT[i];
            let mut segments = Segments::new(entry.len);
            let keep = i == workbook;
            let got = if entry.len < MINI_CUTOFF {
                walk_mini(&mini_fat[..mini_sectors], entry.start, what, |id| {
                    if keep {
                        let at = u64::from(id) * MINI_SECTOR;
                        segments.push_from(&mini_stream, at, MINI_SECTOR);
                    }
                })?
            } else {
                self.walk(entry.start, what, false, |c, id| {
                    if keep {
                        segments.push((u64::from(id) + 1) * c.size, c.available(id));
                    }
                    Ok(())
                })?
            };
            if got < entry.len {
                return corrupt(Defect::Short, what);
            }
            if keep {
                found = Some(segments);
            }
        }
        Ok(found)
    }
}

/// How [`STREAMS`] are named in messages.
const STREAM_WHAT: [&str; 4] = [
    "Workbook stream",
    "Book stream",
    "SummaryInformation stream",
    "DocumentSummaryInformation stream",
];

/// Walks a chain of mini sectors; only the first `mini_fat.len()` mini
/// sectors exist (inside the mini stream and covered by the mini FAT).
fn walk_mini(
    mini_fat: &[u32],
    start: u32,
    what: &'static str,
    mut visit: impl FnMut(u32),
) -> Result<u64, Failure> {
    let mut seen = vec![false; mini_fat.len()];
    let mut id = start;
    let mut bytes = 0u64;
    while id != ENDOFCHAIN {
        if id >= MAXREGSECT {
            return corrupt(Defect::BadLink, what);
        }
        let Some(&next) = mini_fat.get(id as usize) else {
            return corrupt(Defect::BeyondEnd, what);
        };
        if std::mem::replace(&mut seen[id as usize], true) {
            return corrupt(Defect::Loop, what);
        }
        visit(id);
        bytes += MINI_SECTOR;
        id = next;
    }
    Ok(bytes)
}

/// The directory entries the check needs.
struct Directory {
    root: Option<Entry>,
    streams: [Option<Entry>; STREAMS.len()],
}

/// A directory entry's name as calamine decodes it: the 64 bytes as
/// UTF-16LE, cut at the first NUL.
fn entry_name(raw: &[u8]) -> String {
    let mut name = encoding_rs::UTF_16LE.decode(raw).0.into_owned();
    if let Some(l) = name.as_bytes().iter().position(|b| *b == 0) {
        name.truncate(l);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn put16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// A version-3 header (512-byte sectors), no mini FAT, no DIFAT sectors,
    /// one FAT sector at `fat_sector`, the directory at `dir_start` (the
    /// layout of the upstream report's reproducer).
    fn header(fat_sector: u32, dir_start: u32) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[0..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        put16(&mut h, 24, 0x003E);
        put16(&mut h, 26, 3);
        put16(&mut h, 28, 0xFFFE);
        put16(&mut h, 30, 9);
        put16(&mut h, 32, 6);
        put32(&mut h, 44, 1);
        put32(&mut h, 48, dir_start);
        put32(&mut h, 60, ENDOFCHAIN);
        put32(&mut h, 68, ENDOFCHAIN);
        for i in 0..109 {
            put32(&mut h, 76 + 4 * i, 0xFFFF_FFFF);
        }
        put32(&mut h, 76, fat_sector);
        h
    }

    /// Header + a FAT (sector 0) where sector 1 links to `next_of_1`, then
    /// `extra` zero sectors; the directory starts at sector 1.
    fn with_fat(next_of_1: u32, extra: usize) -> Vec<u8> {
        let mut f = header(0, 1);
        let mut fat = vec![0xFFu8; 512];
        put32(&mut fat, 0, 0xFFFF_FFFD);
        put32(&mut fat, 4, next_of_1);
        f.extend_from_slice(&fat);
        f.resize(f.len() + 512 * extra, 0);
        f
    }

    /// The upstream report's three cases.
    pub(crate) fn case(name: &str) -> Vec<u8> {
        match name {
            "index" => header(1, ENDOFCHAIN),
            "fat" => with_fat(130, 140),
            "cycle" => with_fat(1, 1),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_committed_reported_cases_are_these() {
        for name in ["index", "fat", "cycle"] {
            let path = format!(
                "{}/fuzz/regressions/workbook/calamine-cfb-{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            assert!(std::fs::read(path).unwrap() == case(name), "{name}");
        }
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        check_compound_file(Cursor::new(bytes)).map(|_| ())
    }

    fn workbook(bytes: &[u8]) -> Vec<u8> {
        let mut s = check_compound_file(Cursor::new(bytes)).unwrap().unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out.len() as u64, s.len());
        out
    }

    /// A directory entry: name, start sector, size.
    fn dir_entry(name: &str, start: u32, len: u32) -> [u8; 128] {
        let mut e = [0u8; 128];
        for (i, u) in name.encode_utf16().enumerate() {
            put16(&mut e, 2 * i, u);
        }
        put16(&mut e, 64, 2 * (name.encode_utf16().count() as u16 + 1));
        put32(&mut e, 116, start);
        put32(&mut e, 120, len);
        e
    }

    /// A sound file: FAT at 0, directory at 1, a 4096-byte `Workbook` in
    /// sectors 2..=9; `link` rewrites FAT entries (sector, next).
    fn big_stream_file(links: &[(u32, u32)]) -> Vec<u8> {
        let mut f = header(0, 1);
        let mut fat = vec![0xFFu8; 512];
        put32(&mut fat, 0, 0xFFFF_FFFD);
        put32(&mut fat, 4, ENDOFCHAIN);
        for s in 2..9 {
            put32(&mut fat, 4 * s, s as u32 + 1);
        }
        put32(&mut fat, 36, ENDOFCHAIN);
        for &(s, n) in links {
            put32(&mut fat, 4 * s as usize, n);
        }
        f.extend_from_slice(&fat);
        let mut dir = vec![0u8; 512];
        dir[..128].copy_from_slice(&dir_entry("Root Entry", ENDOFCHAIN, 0));
        dir[128..256].copy_from_slice(&dir_entry("Workbook", 2, 4096));
        f.extend_from_slice(&dir);
        f.resize(f.len() + 8 * 512, 0x5A);
        f
    }

    #[test]
    fn the_reported_cases_are_refused() {
        for (name, what) in [
            ("index", "header"),
            ("fat", "directory"),
            ("cycle", "directory"),
        ] {
            let e = check(&case(name)).unwrap_err();
            assert!(
                e.contains("xls ファイルの構造が壊れています") && e.contains(what),
                "{name}: {e}"
            );
        }
        assert!(check(&case("cycle"))
            .unwrap_err()
            .contains("sector chain loops"));
        // One FAT sector declared, none in the file.
        assert!(check(&case("index"))
            .unwrap_err()
            .contains("header sector count exceeds the file"));
        let mut index = case("index");
        put32(&mut index, 44, 0);
        assert!(check(&index)
            .unwrap_err()
            .contains("beyond the end of the file in the FAT"));
        assert!(check(&case("fat"))
            .unwrap_err()
            .contains("not covered by the FAT"));
    }

    #[test]
    fn a_sound_file_passes_and_each_broken_link_is_found() {
        check(&big_stream_file(&[])).unwrap();
        let e = check(&big_stream_file(&[(5, 3)])).unwrap_err();
        assert!(e.contains("loops in the Workbook stream"), "{e}");
        let e = check(&big_stream_file(&[(5, ENDOFCHAIN)])).unwrap_err();
        assert!(e.contains("shorter than the declared size"), "{e}");
        let e = check(&big_stream_file(&[(5, 50)])).unwrap_err();
        assert!(e.contains("beyond the end of the file"), "{e}");
        // A ninth sector, 10, cut short with the file: fine at the end of
        // the stream's chain, not in its middle.
        let cut = |links: &[(u32, u32)]| {
            let mut f = big_stream_file(links);
            f.resize(f.len() + 412, 0x5A);
            put32(&mut f, 512 + 512 + 128 + 120, 4096 + 412);
            f
        };
        check(&cut(&[(9, 10), (10, ENDOFCHAIN)])).unwrap();
        let e = check(&cut(&[(8, 10), (10, 9), (9, ENDOFCHAIN)])).unwrap_err();
        assert!(
            e.contains("beyond the end of the file in the Workbook"),
            "{e}"
        );
        let e = check(&big_stream_file(&[(5, 0xFFFF_FFFF)])).unwrap_err();
        assert!(e.contains("invalid sector number"), "{e}");
    }

    #[test]
    fn the_workbook_stream_is_read_along_its_chain() {
        // Sectors 2..=9 hold bytes 2..=9; the chain runs 2 → 4 → 3 → 5 ….
        let mut f = big_stream_file(&[(2, 4), (4, 3), (3, 5)]);
        for s in 2..10 {
            let at = (s + 1) * 512;
            f[at..at + 512].fill(s as u8);
        }
        let w = workbook(&f);
        assert_eq!(w.len(), 4096);
        let order: Vec<u8> = w.chunks(512).map(|c| c[0]).collect();
        assert_eq!(order, [2, 4, 3, 5, 6, 7, 8, 9]);
        assert!(w.chunks(512).all(|c| c.iter().all(|b| *b == c[0])));
        // Seeking into the middle of a sector.
        let mut s = check_compound_file(Cursor::new(&f[..])).unwrap().unwrap();
        s.seek(SeekFrom::Start(1000)).unwrap();
        let mut two = [0u8; 30];
        s.read_exact(&mut two).unwrap();
        assert_eq!(two[..24], [4; 24]);
        assert_eq!(two[24..], [3; 6]);
        // calamine falls back on `Book`.
        let mut f = big_stream_file(&[]);
        f[2 * 512 + 128..2 * 512 + 256].copy_from_slice(&dir_entry("Book", 2, 4096));
        assert_eq!(workbook(&f).len(), 4096);
        // No workbook stream: nothing to read.
        let mut f = big_stream_file(&[]);
        f[2 * 512 + 128..2 * 512 + 256].copy_from_slice(&dir_entry("Other", 2, 4096));
        assert!(check_compound_file(Cursor::new(&f[..])).unwrap().is_none());
    }

    #[test]
    fn a_looping_difat_and_a_fat_sector_listed_twice_are_refused() {
        let mut f = big_stream_file(&[]);
        put32(&mut f, 80, 0);
        let e = check(&f).unwrap_err();
        assert!(e.contains("FAT sector listed twice"), "{e}");
        // DIFAT sector 9 (also the stream's last sector) lists no FAT
        // sector and links to itself.
        let mut f = big_stream_file(&[]);
        put32(&mut f, 68, 9);
        f[10 * 512..11 * 512].fill(0xFF);
        put32(&mut f, 10 * 512 + 508, 9);
        let e = check(&f).unwrap_err();
        assert!(e.contains("loops in the DIFAT"), "{e}");
    }

    #[test]
    fn header_sanity() {
        let mut f = big_stream_file(&[]);
        put16(&mut f, 30, 10);
        assert!(check(&f).unwrap_err().contains("sector size"));
        let mut f = big_stream_file(&[]);
        put32(&mut f, 44, 1000);
        assert!(check(&f).unwrap_err().contains("header sector count"));
        assert!(check(&f[..300]).unwrap_err().contains("header"));
    }

    #[test]
    fn small_streams_are_checked_in_the_mini_stream() {
        // Sector 2: the mini stream (root entry, 512 bytes = 8 mini
        // sectors); sector 3: the mini FAT; Workbook in mini sectors 0..=3.
        let build = |mini_links: &[(u32, u32)], root_len: u32| {
            let mut f = header(0, 1);
            put32(&mut f, 60, 3);
            put32(&mut f, 64, 1);
            let mut fat = vec![0xFFu8; 512];
            put32(&mut fat, 0, 0xFFFF_FFFD);
            put32(&mut fat, 4, ENDOFCHAIN);
            put32(&mut fat, 8, ENDOFCHAIN);
            put32(&mut fat, 12, ENDOFCHAIN);
            f.extend_from_slice(&fat);
            let mut dir = vec![0u8; 512];
            dir[..128].copy_from_slice(&dir_entry("Root Entry", 2, root_len));
            dir[128..256].copy_from_slice(&dir_entry("WORKBOOK", 0, 200));
            f.extend_from_slice(&dir);
            f.extend((0..8u8).flat_map(|m| [m; 64]));
            let mut minifat = vec![0xFFu8; 512];
            for (s, n) in [(0u32, 1u32), (1, 2), (2, 3), (3, ENDOFCHAIN)] {
                put32(&mut minifat, 4 * s as usize, n);
            }
            for &(s, n) in mini_links {
                put32(&mut minifat, 4 * s as usize, n);
            }
            f.extend_from_slice(&minifat);
            f
        };
        check(&build(&[], 512)).unwrap();
        // The stream's 200 bytes: mini sectors 0, 1, 2 and 8 bytes of 3,
        // here in the order 0, 5, 2, 3.
        let w = workbook(&build(&[(0, 5), (5, 2)], 512));
        let mut want: Vec<u8> = [0u8, 5, 2].iter().flat_map(|m| [*m; 64]).collect();
        want.extend([3; 8]);
        assert_eq!(w, want);
        let e = check(&build(&[(2, 0)], 512)).unwrap_err();
        assert!(e.contains("loops in the Workbook stream"), "{e}");
        let e = check(&build(&[(2, 8)], 512)).unwrap_err();
        assert!(e.contains("beyond the end"), "{e}");
        let e = check(&build(&[], 1024)).unwrap_err();
        assert!(
            e.contains("shorter than the declared size in the mini stream"),
            "{e}"
        );
        let e = check(&build(&[(2, ENDOFCHAIN)], 512)).unwrap_err();
        assert!(
            e.contains("shorter than the declared size in the Workbook"),
            "{e}"
        );
    }

    #[test]
    fn the_real_xls_fixtures_pass() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for p in [
            "tests/fixtures/source/cells.xls",
            "tests/fixtures/input/staff.xls",
            "fuzz/seeds/workbook/cells.xls",
            "fuzz/seeds/workbook/staff.xls",
        ] {
            let bytes = std::fs::read(root.join(p)).unwrap();
            check(&bytes).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn the_fuzz_regression_is_refused() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bytes =
            std::fs::read(root.join("fuzz/regressions/workbook/calamine-cfb-panic")).unwrap();
        let e = check(&bytes).unwrap_err();
        assert!(e.contains("xls ファイルの構造が壊れています"), "{e}");
    }
}
