//! The encoding of a delimited text file, decided by content in a first
//! pass that reads the file in chunks and keeps nothing of it but its first
//! lines: a byte-order mark names UTF-8, UTF-16LE or UTF-16BE; otherwise
//! the file is UTF-8 when all of it is valid UTF-8, else Shift_JIS (CP932,
//! what Excel writes for "CSV" on a Japanese Windows) when all of it is
//! valid CP932. A file that is neither is refused with the offset and line
//! of the first byte that cannot be read, so that no row is ever read with
//! a replacement character in it.
//!
//! The second pass (decoding while the rows are read) is the
//! `encoding_rs_io` reader over the same file; it never meets a malformed
//! sequence, since this pass has seen every byte. Uses only `encoding_rs`.

use std::io::Read;

/// Bytes read per step of the first pass.
const CHUNK: usize = 1 << 20;
/// The most decoded text kept from the start of the file (for the header
/// line that decides the delimiter).
const HEAD_BYTES: usize = 1 << 20;

/// What the first pass found.
#[derive(Debug)]
pub(super) struct TextEncoding {
    /// The encoding to decode with.
    pub(super) encoding: &'static encoding_rs::Encoding,
    /// Length of the byte-order mark to skip (0 when none).
    pub(super) bom: u64,
    /// Line feeds in the decoded text.
    pub(super) line_feeds: usize,
    /// The decoded text of the first lines: at least `head_lines` lines,
    /// at most [`HEAD_BYTES`] (cut at a line end when it is longer).
    pub(super) head: String,
}

/// Why a file could not be decoded as text, or could not be read.
#[derive(Debug)]
pub(super) enum DecodeError {
    /// A byte sequence that is not valid in the encoding tried.
    Malformed {
        /// Name of the encoding that was tried.
        encoding: &'static str,
        /// 0-based byte offset of the first undecodable sequence.
        offset: u64,
        /// 1-based line of that offset (0 where lines cannot be counted in
        /// bytes, as in UTF-16).
        line: u64,
    },
    /// Reading the file failed.
    Io(std::io::Error),
    /// The file grew past the input limit while it was read.
    TooLarge,
}

impl DecodeError {
    /// The message for the operator (Japanese, with an English gloss).
    pub(super) fn message(&self) -> String {
        match self {
            DecodeError::Malformed {
                encoding,
                offset,
                line,
            } => {
                let line = if *line > 0 {
                    format!(" ({line} 行目 / line {line})")
                } else {
                    String::new()
                };
                format!(
                    "文字コードを判別できません: 先頭から {offset} バイト目の位置{line}が {encoding} として不正です \
                     (undecodable byte at offset {offset} as {encoding})"
                )
            }
            DecodeError::Io(e) => format!("読み込めません (cannot read): {e}"),
            DecodeError::TooLarge => {
                "読み込み中にファイルが上限を超えて大きくなりました (the file grew past the input limit while it was read)".into()
            }
        }
    }
}

/// Decides the encoding of the text `open` reads from its start (each
/// call a fresh reader from offset 0), reading at most `limit` bytes.
/// `head_lines` is how many lines of [`TextEncoding::head`] the caller
/// needs.
pub(super) fn decide<R: Read>(
    open: &mut dyn FnMut() -> std::io::Result<R>,
    limit: u64,
    head_lines: usize,
) -> Result<TextEncoding, DecodeError> {
    let mut start = [0u8; 3];
    let got = read_full(&mut open().map_err(DecodeError::Io)?, &mut start)?;
    let start = &start[..got];
    let boms: [(&[u8], &'static encoding_rs::Encoding, &'static str, bool); 3] = [
        (b"\xEF\xBB\xBF", encoding_rs::UTF_8, "UTF-8", true),
        (b"\xFF\xFE", encoding_rs::UTF_16LE, "UTF-16LE", false),
        (b"\xFE\xFF", encoding_rs::UTF_16BE, "UTF-16BE", false),
    ];
    for (bom, encoding, name, lines) in boms {
        if start.starts_with(bom) {
            let pass = Pass::new(encoding, name, bom.len() as u64, lines, limit, head_lines);
            return pass.run(open()?).map(Pass::into_found).map_err(|(e, _)| e);
        }
    }
    let utf8 = Pass::new(encoding_rs::UTF_8, "UTF-8", 0, true, limit, head_lines);
    let utf8_error = match utf8.run(open()?) {
        Ok(p) => return Ok(p.into_found()),
        Err((DecodeError::Malformed { offset, line, .. }, ascii)) => (offset, line, ascii),
        Err((other, _)) => return Err(other),
    };
    let sjis = Pass::new(
        encoding_rs::SHIFT_JIS,
        "Shift_JIS (CP932)",
        0,
        true,
        limit,
        head_lines,
    );
    match sjis.run(open()?) {
        Ok(p) => Ok(p.into_found()),
        // A file whose valid prefix already holds non-ASCII UTF-8 is most
        // likely broken UTF-8: report that offset rather than the CP932 one.
        Err((DecodeError::Malformed { .. }, _)) if !utf8_error.2 => Err(DecodeError::Malformed {
            encoding: "UTF-8",
            offset: utf8_error.0,
            line: utf8_error.1,
        }),
        Err((e, _)) => Err(e),
    }
}

impl From<std::io::Error> for DecodeError {
    fn from(e: std::io::Error) -> Self {
        DecodeError::Io(e)
    }
}

/// Reads until `buf` is full or the end; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, DecodeError> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DecodeError::Io(e)),
        }
    }
    Ok(n)
}

/// One strict decoding pass over a whole file in one encoding.
struct Pass {
    encoding: &'static encoding_rs::Encoding,
    name: &'static str,
    bom: u64,
    /// Whether a line feed byte is a line end (not in UTF-16).
    byte_lines: bool,
    limit: u64,
    head_lines: usize,
    /// Bytes of the file consumed (BOM included).
    consumed: u64,
    /// Line feed bytes in the consumed bytes.
    byte_line_feeds: u64,
    /// Line feeds in the decoded text.
    line_feeds: usize,
    /// Whether every byte before the current chunk was ASCII.
    ascii: bool,
    head: String,
    head_done: bool,
}

impl Pass {
    fn new(
        encoding: &'static encoding_rs::Encoding,
        name: &'static str,
        bom: u64,
        byte_lines: bool,
        limit: u64,
        head_lines: usize,
    ) -> Pass {
        Pass {
            encoding,
            name,
            bom,
            byte_lines,
            limit,
            head_lines,
            consumed: bom,
            byte_line_feeds: 0,
            line_feeds: 0,
            ascii: true,
            head: String::new(),
            head_done: false,
        }
    }

    fn into_found(self) -> TextEncoding {
        TextEncoding {
            encoding: self.encoding,
            bom: self.bom,
            line_feeds: self.line_feeds,
            head: self.head,
        }
    }

    /// Decodes all of `r` (from the file's start) without replacement. On
    /// failure, also says whether everything before the bad byte was ASCII.
    fn run(mut self, mut r: impl Read) -> Result<Pass, (DecodeError, bool)> {
        let mut skip = [0u8; 3];
        let bom = self.bom as usize;
        read_full(&mut r, &mut skip[..bom]).map_err(|e| (e, true))?;
        let mut decoder = self.encoding.new_decoder_without_bom_handling();
        let mut buf = vec![0u8; CHUNK];
        let mut out = String::with_capacity(CHUNK * 3 + 16);
        loop {
            let n = read_full(&mut r, &mut buf).map_err(|e| (e, self.ascii))?;
            if self.consumed + n as u64 > self.limit {
                return Err((DecodeError::TooLarge, self.ascii));
            }
            let chunk = &buf[..n];
            let last = n == 0;
            let mut pos = 0;
            loop {
                out.clear();
                let (result, read) =
                    decoder.decode_to_string_without_replacement(&chunk[pos..], &mut out, last);
                self.take_text(&out);
                match result {
                    encoding_rs::DecoderResult::InputEmpty => break,
                    encoding_rs::DecoderResult::OutputFull => pos += read,
                    encoding_rs::DecoderResult::Malformed(bad, after) => {
                        let end = pos + read;
                        let at = end.saturating_sub(after as usize + bad as usize);
                        return Err((
                            self.malformed(chunk, at),
                            self.ascii && chunk[..at].is_ascii(),
                        ));
                    }
                }
            }
            self.byte_line_feeds += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            self.ascii &= chunk.is_ascii();
            self.consumed += n as u64;
            if last {
                return Ok(self);
            }
        }
    }

    /// Counts the line feeds of decoded text and keeps the first lines.
    fn take_text(&mut self, text: &str) {
        let feeds = text.bytes().filter(|&b| b == b'\n').count();
        if !self.head_done {
            let room = HEAD_BYTES.saturating_sub(self.head.len());
            let mut take = text.len().min(room);
            while !text.is_char_boundary(take) {
                take -= 1;
            }
            self.head.push_str(&text[..take]);
            let lines = self.head.bytes().filter(|&b| b == b'\n').count();
            self.head_done = lines >= self.head_lines || self.head.len() >= HEAD_BYTES;
        }
        self.line_feeds += feeds;
    }

    /// The error for a malformed sequence at `at` in `chunk`.
    fn malformed(&self, chunk: &[u8], at: usize) -> DecodeError {
        let line = if self.byte_lines {
            self.byte_line_feeds + chunk[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1
        } else {
            0
        };
        DecodeError::Malformed {
            encoding: self.name,
            offset: self.consumed + at as u64,
            line,
        }
    }
}
