//! Compression of streams: zlib with a reused per-thread compressor, and
//! zlib streams spliced around bytes deflated once ([`DeflatedRun`], used
//! by the font cores).
//!
//! Knows nothing of PDF objects: it may use `miniz_oxide` and nothing
//! else of the crate or its dependencies.

use miniz_oxide::deflate::core::TDEFLFlush;
use miniz_oxide::DataFormat;

/// zlib-compresses `data`, reusing a per-thread compressor (allocating
/// and zeroing a fresh one costs more than compressing a small content
/// stream). `reset` zeroes all compressor state, so the output is the same
/// as from a fresh compressor.
pub(super) fn zlib(data: &[u8], level: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    if deflate_into(&mut out, data, level, DataFormat::Zlib, TDEFLFlush::Finish) {
        out
    } else {
        miniz_oxide::deflate::compress_to_vec_zlib(data, level)
    }
}

/// Appends `data` compressed with a fresh (reset, per-thread) compressor
/// to `out`. With `DataFormat::Raw` and `TDEFLFlush::Sync` the output is
/// a run of non-final deflate blocks ending on a byte boundary, which
/// other such runs and a final one can follow (see [`DeflatedRun`]).
/// `false` (and `out` unchanged) only on misuse of the compressor API.
fn deflate_into(
    out: &mut Vec<u8>,
    data: &[u8],
    level: u8,
    format: DataFormat,
    flush: TDEFLFlush,
) -> bool {
    use miniz_oxide::deflate::core::{compress, CompressorOxide, TDEFLStatus};
    use std::cell::RefCell;
    thread_local! {
        static COMPRESSOR: RefCell<Option<Box<CompressorOxide>>> = const { RefCell::new(None) };
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = slot.get_or_insert_with(|| Box::new(CompressorOxide::new(0)));
        c.reset();
        c.set_format_and_level(format, level);
        let start = out.len();
        let mut pos = start;
        out.resize(start + data.len() / 2 + 64, 0);
        let mut input = data;
        loop {
            let (status, read, written) = compress(c, input, &mut out[pos..], flush);
            pos += written;
            input = &input[read..];
            match status {
                TDEFLStatus::Done => break,
                // All input taken and output room left: everything is
                // flushed (a non-final flush never reports `Done`).
                TDEFLStatus::Okay
                    if flush != TDEFLFlush::Finish && input.is_empty() && pos < out.len() =>
                {
                    break
                }
                TDEFLStatus::Okay => {
                    if out.len() - pos < 64 {
                        let grow = out.len() - start;
                        out.resize(out.len() + grow.max(64), 0);
                    }
                }
                // Only on misuse of the API (bad parameters); not reachable.
                _ => {
                    out.truncate(start);
                    return false;
                }
            }
        }
        out.truncate(pos);
        true
    })
}

/// Bytes deflated once (at level 9) to be spliced into many zlib streams:
/// raw deflate blocks, not final, ending on a byte boundary, so that other
/// blocks can precede and follow them. The zlib stream of
/// `before ‖ bytes ‖ after` is then a stored block (or blocks) for
/// `before`, these cached blocks, `after` deflated on its own, and the
/// Adler-32 of the whole, combined from the parts' checksums.
#[derive(Debug)]
pub(super) struct DeflatedRun {
    /// The bytes.
    pub(super) bytes: Vec<u8>,
    /// `bytes` as raw deflate blocks (not final, byte-aligned end).
    pub(super) deflated: Vec<u8>,
    /// Adler-32 of `bytes`.
    adler: u32,
}

impl DeflatedRun {
    /// Deflates `bytes` once; `None` only on misuse of the compressor API.
    pub(super) fn new(bytes: Vec<u8>) -> Option<DeflatedRun> {
        let mut deflated = Vec::with_capacity(bytes.len() / 2 + 64);
        if !deflate_into(&mut deflated, &bytes, 9, DataFormat::Raw, TDEFLFlush::Sync) {
            return None;
        }
        let adler = miniz_oxide::mz_adler32_oxide(1, &bytes);
        Some(DeflatedRun {
            bytes,
            deflated,
            adler,
        })
    }

    /// The zlib stream of `before ‖ self.bytes ‖ after`, with `after`
    /// compressed at `level` (`None` only on misuse of the compressor API).
    pub(super) fn splice(&self, before: &[u8], after: &[u8], level: u8) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(self.deflated.len() + after.len() / 2 + 128);
        // CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (no dictionary,
        // "fastest"; check bits make 0x7801 a multiple of 31).
        out.extend_from_slice(&[0x78, 0x01]);
        // The bytes before the run are few (for a font core, the subset's
        // table directory: ~140 bytes of offsets and checksums): a stored
        // block, which is byte-aligned and saves resetting a compressor
        // for them.
        match u16::try_from(before.len()) {
            Ok(len) => {
                out.push(0); // BFINAL 0, BTYPE 00 (stored), padding bits.
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(before);
            }
            Err(_) => {
                if !deflate_into(&mut out, before, level, DataFormat::Raw, TDEFLFlush::Sync) {
                    return None;
                }
            }
        }
        out.extend_from_slice(&self.deflated);
        if !deflate_into(&mut out, after, level, DataFormat::Raw, TDEFLFlush::Finish) {
            return None;
        }
        let head = miniz_oxide::mz_adler32_oxide(1, before);
        let joined = adler32_combine(head, self.adler, self.bytes.len());
        let adler = miniz_oxide::mz_adler32_oxide(joined, after);
        out.extend_from_slice(&adler.to_be_bytes());
        Some(out)
    }
}

/// The Adler-32 of `a ‖ b` from the checksums of `a` and of `b` and the
/// length of `b`: the sum `A` adds up (minus the 1 `b` started from), and
/// each of `b`'s `len` running sums grows by `A(a) - 1`.
fn adler32_combine(a: u32, b: u32, len_b: usize) -> u32 {
    const MOD: u64 = 65521;
    let (a1, b1) = (u64::from(a & 0xFFFF), u64::from(a >> 16));
    let (a2, b2) = (u64::from(b & 0xFFFF), u64::from(b >> 16));
    let n = len_b as u64 % MOD;
    let sum_a = (a1 + a2 + MOD - 1) % MOD;
    let sum_b = (b1 + b2 + n * ((a1 + MOD - 1) % MOD)) % MOD;
    ((sum_b << 16) | sum_a) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_of_parts_combines_to_adler32_of_whole() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for cut in [0, 1, 5551, 65521, 100_000, 200_000] {
            let (a, b) = data.split_at(cut);
            let whole = miniz_oxide::mz_adler32_oxide(1, &data);
            let (pa, pb) = (
                miniz_oxide::mz_adler32_oxide(1, a),
                miniz_oxide::mz_adler32_oxide(1, b),
            );
            assert_eq!(adler32_combine(pa, pb, b.len()), whole, "cut {cut}");
        }
    }

    #[test]
    fn spliced_stream_inflates_to_the_whole() {
        let run = DeflatedRun::new(b"cached middle, cached middle".to_vec()).unwrap();
        for before in [&b""[..], b"head", &[3u8; 70_000]] {
            let after = b"and the tail";
            let z = run.splice(before, after, 1).unwrap();
            let whole = [before, &run.bytes[..], after].concat();
            assert_eq!(
                miniz_oxide::inflate::decompress_to_vec_zlib(&z).unwrap(),
                whole
            );
        }
    }

    #[test]
    fn reused_compressor_matches_fresh_one() {
        let inputs: [&[u8]; 4] = [b"", b"BT /F0 10 Tf ET", &[7u8; 100_000], b"abcabcabcabc"];
        for level in [1u8, 6, 9, 1] {
            for data in inputs {
                assert_eq!(
                    zlib(data, level),
                    miniz_oxide::deflate::compress_to_vec_zlib(data, level)
                );
            }
        }
    }
}
