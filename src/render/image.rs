//! Images (seal, logo) loaded once per batch and shared by all documents.
//!
//! Every image is decoded and prepared for PDF embedding exactly once, at
//! load time, so writing thousands of documents never re-encodes pixels:
//!
//! * **PNG** (gray, gray+alpha, RGB, RGBA, indexed with or without `tRNS`,
//!   1/2/4/8/16-bit) is decoded and written as Gray or RGB samples, or as
//!   `/Indexed` at the smallest bit depth when it has at most 256 colours,
//!   zlib-compressed (`/FlateDecode`) with or without PNG row predictors,
//!   whichever is smaller. When any pixel is not fully opaque the alpha
//!   channel becomes a separate soft mask (`/SMask`), at the smallest bit
//!   depth that is exact, or at 16 levels when only anti-aliased edges lie
//!   between its extremes (see `encode_alpha`).
//! * **JPEG** is embedded byte for byte with `/DCTDecode`; only the frame
//!   header (SOF marker) is parsed, for the size and the number of
//!   components. Four-component (CMYK) JPEGs become `/DeviceCMYK`; when the
//!   file carries an Adobe `APP14` marker — which is what Photoshop and most
//!   other writers of CMYK JPEGs emit, storing *inverted* CMYK — the image
//!   gets `/Decode [1 0 1 0 1 0 1 0]`. This is the usual heuristic; CMYK
//!   JPEGs without the marker are taken as non-inverted.
//!
//! Images larger than [`MAX_SIDE`] pixels on a side or [`MAX_DECODED_BYTES`]
//! once decoded are refused before decoding (decompression-bomb guard), with
//! an error naming the file.

use crate::render::page::ImageId;
use std::path::Path;

/// Largest accepted width or height in pixels.
pub const MAX_SIDE: u32 = 10_000;

/// Largest accepted decoded size in bytes (all channels, 8 bits each).
pub const MAX_DECODED_BYTES: u64 = 100 * 1024 * 1024;

/// Largest image file read: twice [`MAX_DECODED_BYTES`]. No image that
/// decodes within that limit needs a larger file (PNG stores at worst its
/// samples uncompressed, plus filter bytes and chunk framing); the rest is
/// room for metadata. Checked before the file is read.
pub const MAX_IMAGE_FILE_BYTES: u64 = 2 * MAX_DECODED_BYTES;

/// zlib level used for image samples (done once per batch, so favour size).
const IMAGE_DEFLATE_LEVEL: u8 = 10;

/// A decoded image ready for embedding.
#[derive(Debug)]
pub struct Image {
    /// Name the markup refers to (the file name).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The embeddable sample data.
    pub(crate) data: ImageData,
}

/// Colour space of an embedded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorSpace {
    /// One component.
    Gray,
    /// Three components.
    Rgb,
    /// Four components (JPEG only).
    Cmyk,
}

impl ColorSpace {
    /// The PDF device colour space name.
    pub(crate) fn pdf_name(self) -> &'static [u8] {
        match self {
            ColorSpace::Gray => b"DeviceGray",
            ColorSpace::Rgb => b"DeviceRGB",
            ColorSpace::Cmyk => b"DeviceCMYK",
        }
    }
}

/// Sample data of an image, already in its PDF stream encoding.
#[derive(Debug)]
pub(crate) enum ImageData {
    /// Samples packed at `samples.bits` bits, zlib-compressed
    /// (`/FlateDecode`), plus an optional gray soft mask, also compressed.
    Flate {
        /// Colour space of the samples (Gray or Rgb), or the base colour
        /// space of the palette.
        color: ColorSpace,
        /// When set, the samples are indices into this palette of `color`
        /// values (`/Indexed`), one entry per colour.
        palette: Option<Vec<u8>>,
        /// Compressed samples.
        samples: Samples,
        /// The alpha channel, when the image is not fully opaque.
        smask: Option<SoftMask>,
    },
    /// A JPEG file embedded as-is (`/DCTDecode`).
    Jpeg {
        /// Colour space from the number of components.
        color: ColorSpace,
        /// Whether the CMYK samples are stored inverted (Adobe APP14).
        inverted: bool,
        /// The whole file.
        bytes: Vec<u8>,
    },
}

/// A compressed plane of packed samples.
#[derive(Debug)]
pub(crate) struct Samples {
    /// The zlib stream.
    pub(crate) data: Vec<u8>,
    /// Bits per component: 1, 2, 4 or 8.
    pub(crate) bits: u8,
    /// Components per pixel (1 for gray, indexed and masks; 3 for RGB).
    pub(crate) colors: u8,
    /// Whether every row starts with a PNG predictor tag: the stream then
    /// needs `/DecodeParms << /Predictor 15 /Colors /BitsPerComponent
    /// /Columns >>`.
    pub(crate) predicted: bool,
}

/// A soft mask (`/SMask`): the alpha channel as a gray image.
#[derive(Debug)]
pub(crate) struct SoftMask {
    /// The alpha samples.
    pub(crate) samples: Samples,
    /// `/Decode [lo hi]` when the samples are levels between two alpha
    /// values other than 0 and 1.
    pub(crate) decode: Option<[f32; 2]>,
}

/// All images of a batch, looked up by name.
#[derive(Debug, Default)]
pub struct ImageSet {
    images: Vec<Image>,
}

/// Why an image could not be loaded.
#[derive(Debug)]
pub struct ImageError {
    /// What went wrong, naming the file.
    pub message: String,
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ImageError {}

impl ImageSet {
    /// Loads one image file (PNG, with or without alpha; JPEG) under the name `name`.
    ///
    /// The format is detected from the file's signature, not its extension.
    /// A name that is already taken is an error.
    pub fn load(&mut self, name: &str, path: &Path) -> Result<ImageId, ImageError> {
        if self.find(name).is_some() {
            return Err(ImageError {
                message: format!(
                    "画像名が重複しています (duplicate image name) {name}: {}",
                    path.display()
                ),
            });
        }
        let bytes = crate::files::read_capped(path, MAX_IMAGE_FILE_BYTES)
            .map_err(|e| file_error(path, &crate::error::io_reason(&e)))?;
        let image = decode(name, bytes).map_err(|m| file_error(path, &m))?;
        self.images.push(image);
        Ok(ImageId(self.images.len() - 1))
    }

    /// Loads every `*.png`, `*.jpg` and `*.jpeg` file (extension case
    /// ignored) directly inside `dir`, in sorted file-name order, each under
    /// its file name. Subdirectories and other files are ignored.
    pub fn load_dir(dir: &Path) -> Result<ImageSet, ImageError> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| file_error(dir, &crate::error::io_reason(&e)))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| file_error(dir, &crate::error::io_reason(&e)))?;
            let path = entry.path();
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| {
                    let e = e.to_ascii_lowercase();
                    e == "png" || e == "jpg" || e == "jpeg"
                })
                .unwrap_or(false);
            if !is_image || !path.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((name, path));
        }
        files.sort();
        let mut set = ImageSet::default();
        for (name, path) in files {
            set.load(&name, &path)?;
        }
        Ok(set)
    }

    /// Looks an image up by the name used in markup.
    pub fn find(&self, name: &str) -> Option<ImageId> {
        self.images.iter().position(|i| i.name == name).map(ImageId)
    }

    /// The image behind an id.
    ///
    /// Panics on an id not issued by this set; see [`ImageSet::try_get`].
    pub fn get(&self, id: ImageId) -> &Image {
        &self.images[id.0]
    }

    /// The image behind an id, or `None` for an id not issued by this set.
    pub fn try_get(&self, id: ImageId) -> Option<&Image> {
        self.images.get(id.0)
    }

    /// Number of images loaded.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether no image is loaded.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The names of all images, in id order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.images.iter().map(|i| i.name.as_str())
    }
}

fn file_error(path: &Path, message: &str) -> ImageError {
    ImageError {
        message: format!(
            "画像を読み込めません (cannot load image) {}: {message}",
            crate::error::full_path(path).display()
        ),
    }
}

/// Decodes image file bytes; errors are messages without the file name.
fn decode(name: &str, bytes: Vec<u8>) -> Result<Image, String> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(name, &bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        decode_jpeg(name, bytes)
    } else {
        Err("not a PNG or JPEG file".into())
    }
}

/// Refuses images whose size is over the limits.
fn check_size(width: u32, height: u32, channels: u64) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err(format!("empty image ({width}×{height} px)"));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "image too large: {width}×{height} px (limit {MAX_SIDE}×{MAX_SIDE})"
        ));
    }
    let decoded = width as u64 * height as u64 * channels;
    if decoded > MAX_DECODED_BYTES {
        return Err(format!(
            "image too large: {decoded} bytes decoded (limit {MAX_DECODED_BYTES})"
        ));
    }
    Ok(())
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, IMAGE_DEFLATE_LEVEL)
}

fn decode_png(name: &str, bytes: &[u8]) -> Result<Image, String> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: MAX_DECODED_BYTES as usize + (1 << 20),
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let (width, height) = {
        let info = decoder.read_header_info().map_err(|e| e.to_string())?;
        (info.width, info.height)
    };
    // Worst case after expansion: RGBA, 8 bits per sample.
    check_size(width, height, 4)?;
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "image too large".to_string())?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(frame.buffer_size());
    let (color_type, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(format!("unsupported PNG bit depth {depth:?}"));
    }
    let px = width as usize * height as usize;
    let (color, samples, alpha) = match color_type {
        png::ColorType::Grayscale => (ColorSpace::Gray, buf, None),
        png::ColorType::Rgb => (ColorSpace::Rgb, buf, None),
        png::ColorType::GrayscaleAlpha => {
            let mut gray = Vec::with_capacity(px);
            let mut alpha = Vec::with_capacity(px);
            // Invisible pixels take the first visible value until one is seen.
            let mut last = buf.chunks_exact(2).find(|p| p[1] != 0).map_or(0, |p| p[0]);
            for p in buf.chunks_exact(2) {
                // Invisible pixels repeat the last visible value: same image,
                // far better compression.
                if p[1] != 0 {
                    last = p[0];
                }
                gray.push(last);
                alpha.push(p[1]);
            }
            (ColorSpace::Gray, gray, Some(alpha))
        }
        png::ColorType::Rgba => {
            let mut rgb = Vec::with_capacity(px * 3);
            let mut alpha = Vec::with_capacity(px);
            let mut last = buf
                .chunks_exact(4)
                .find(|p| p[3] != 0)
                .map_or([0; 3], |p| [p[0], p[1], p[2]]);
            for p in buf.chunks_exact(4) {
                // Invisible pixels repeat the last visible colour: same image,
                // far better compression (a seal's colour plane becomes flat).
                if p[3] != 0 {
                    last = [p[0], p[1], p[2]];
                }
                rgb.extend_from_slice(&last);
                alpha.push(p[3]);
            }
            (ColorSpace::Rgb, rgb, Some(alpha))
        }
        png::ColorType::Indexed => return Err("palette was not expanded".into()),
    };
    let channels = if color == ColorSpace::Rgb { 3 } else { 1 };
    if samples.len() != px * channels {
        return Err("truncated PNG image data".into());
    }
    let (width_px, height_px) = (width as usize, height as usize);
    let (palette, samples) = encode_color(color, &samples, width_px, height_px);
    // A fully opaque alpha channel is dropped: no soft mask, smaller PDFs.
    let smask = alpha
        .filter(|a| a.iter().any(|v| *v != 255))
        .map(|a| encode_alpha(&a, width_px, height_px));
    Ok(Image {
        name: name.to_string(),
        width,
        height,
        data: ImageData::Flate {
            color,
            palette,
            samples,
            smask,
        },
    })
}

/// Bit depths an image plane may be packed at, smallest first.
const DEPTHS: [u8; 4] = [1, 2, 4, 8];

/// The colour plane: as `/Indexed` at the smallest bit depth when it has
/// few enough distinct colours (and that is smaller), else as 8-bit
/// samples. Returns the palette (if indexed) and the compressed samples.
fn encode_color(
    color: ColorSpace,
    samples: &[u8],
    width: usize,
    height: usize,
) -> (Option<Vec<u8>>, Samples) {
    let channels = if color == ColorSpace::Rgb { 3 } else { 1 };
    let direct = || best_plane(samples, width, height, channels, 8);
    let Some((palette, indices)) = index_colors(samples, channels) else {
        return (None, direct());
    };
    let count = palette.len() / channels;
    let bits = DEPTHS.into_iter().find(|b| count <= 1 << b).unwrap_or(8);
    if channels == 1 && bits == 8 {
        // A 256-entry gray palette is the gray image again.
        return (None, direct());
    }
    let indexed = best_plane(&indices, width, height, 1, bits);
    if channels == 3 {
        // Three times fewer samples: always worth it, no need to compare.
        return (Some(palette), indexed);
    }
    let plain = direct();
    if indexed.data.len() + palette.len() + 24 < plain.data.len() {
        (Some(palette), indexed)
    } else {
        (None, plain)
    }
}

/// The distinct colours (sorted, `channels` bytes each) and each pixel's
/// index, or `None` with more than 256 colours.
fn index_colors(samples: &[u8], channels: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    let key = |p: &[u8]| p.iter().fold(0u32, |k, b| k << 8 | *b as u32);
    let mut seen = std::collections::BTreeSet::new();
    for p in samples.chunks_exact(channels) {
        seen.insert(key(p));
        if seen.len() > 256 {
            return None;
        }
    }
    let colors: Vec<u32> = seen.into_iter().collect();
    let palette = colors
        .iter()
        .flat_map(|k| k.to_be_bytes()[4 - channels..].to_vec())
        .collect();
    let indices = samples
        .chunks_exact(channels)
        .map(|p| colors.binary_search(&key(p)).unwrap_or(0) as u8)
        .collect();
    Some((palette, indices))
}

/// Alpha masks whose intermediate values (anti-aliased edges) make up at
/// most this share of the pixels are reduced to 4-bit levels.
const EDGE_ONLY_SHARE: f64 = 0.10;

/// The soft mask: at 1, 2 or 4 bits when the alpha values allow it
/// exactly; else, for a mask that is flat except for anti-aliased edges
/// (a seal, a logo), at 16 levels spread between its lowest and highest
/// alpha (`/Decode`), so both extremes stay exact and an edge pixel moves
/// by at most 1/30 of that range: invisible on edges one or two pixels
/// wide, and a third of the size. Anything else stays 8-bit.
fn encode_alpha(alpha: &[u8], width: usize, height: usize) -> SoftMask {
    // Exact at a lower depth: every value is a multiple of 255 / (2^b − 1).
    for bits in [1u8, 2, 4] {
        let max = (1u32 << bits) - 1;
        if alpha.iter().all(|v| (*v as u32 * max).is_multiple_of(255)) {
            let levels: Vec<u8> = alpha
                .iter()
                .map(|v| (*v as u32 * max / 255) as u8)
                .collect();
            return SoftMask {
                samples: best_plane(&levels, width, height, 1, bits),
                decode: None,
            };
        }
    }
    let lo = *alpha.iter().min().unwrap_or(&0);
    let hi = *alpha.iter().max().unwrap_or(&255);
    let between = alpha.iter().filter(|v| **v != lo && **v != hi).count();
    if hi > lo && (between as f64) <= EDGE_ONLY_SHARE * alpha.len() as f64 {
        let span = (hi - lo) as u32;
        let levels: Vec<u8> = alpha
            .iter()
            .map(|v| (((*v - lo) as u32 * 15 + span / 2) / span) as u8)
            .collect();
        return SoftMask {
            samples: best_plane(&levels, width, height, 1, 4),
            decode: Some([lo as f32 / 255.0, hi as f32 / 255.0]),
        };
    }
    SoftMask {
        samples: best_plane(alpha, width, height, 1, 8),
        decode: None,
    }
}

/// Packs one byte per sample (`values`, `channels` per pixel, each below
/// `2^bits`) into rows of `bits`-bit samples, each row padded to a byte.
fn pack(values: &[u8], width: usize, channels: usize, bits: u8) -> Vec<u8> {
    if bits == 8 {
        return values.to_vec();
    }
    let per_row = width * channels;
    let row_bytes = (per_row * bits as usize).div_ceil(8);
    let mut out = Vec::with_capacity(row_bytes * values.len() / per_row.max(1));
    for row in values.chunks(per_row) {
        let (mut acc, mut n) = (0u32, 0u32);
        for v in row {
            acc = acc << bits | *v as u32;
            n += bits as u32;
            if n == 8 {
                out.push(acc as u8);
                (acc, n) = (0, 0);
            }
        }
        if n > 0 {
            out.push((acc << (8 - n)) as u8);
        }
    }
    out
}

/// Packs and compresses a plane, trying the stream without a predictor,
/// each PNG filter on every row, and a per-row choice (smallest sum of
/// absolute differences, the usual PNG heuristic); keeps the smallest
/// stream (ties: the earlier candidate). Done once per batch.
fn best_plane(values: &[u8], width: usize, height: usize, channels: usize, bits: u8) -> Samples {
    let packed = pack(values, width, channels, bits);
    let row_bytes = (width * channels * bits as usize).div_ceil(8);
    let bpp = (channels * bits as usize).div_ceil(8);
    let mut best = (deflate(&packed), false);
    let candidates = [Some(1u8), Some(2), Some(3), Some(4), None];
    for filter in candidates {
        let predicted = png_filter(&packed, row_bytes, height, bpp, filter);
        let data = deflate(&predicted);
        if data.len() < best.0.len() {
            best = (data, true);
        }
    }
    Samples {
        data: best.0,
        bits,
        colors: channels as u8,
        predicted: best.1,
    }
}

/// PNG-filters `rows` (each `row_bytes` long): with `filter` every row
/// uses that filter type, with `None` each row the type whose output has
/// the smallest sum of absolute (signed) values.
fn png_filter(
    data: &[u8],
    row_bytes: usize,
    height: usize,
    bpp: usize,
    filter: Option<u8>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity((row_bytes + 1) * height);
    let zero = vec![0u8; row_bytes];
    let mut line = vec![0u8; row_bytes];
    for y in 0..height {
        let row = &data[y * row_bytes..(y + 1) * row_bytes];
        let prev = if y == 0 {
            &zero[..]
        } else {
            &data[(y - 1) * row_bytes..y * row_bytes]
        };
        let kind = match filter {
            Some(f) => f,
            None => (0..=4u8)
                .min_by_key(|f| {
                    filter_row(*f, row, prev, bpp, &mut line);
                    line.iter()
                        .map(|b| (*b as i8).unsigned_abs() as u64)
                        .sum::<u64>()
                })
                .unwrap_or(0),
        };
        filter_row(kind, row, prev, bpp, &mut line);
        out.push(kind);
        out.extend_from_slice(&line);
    }
    out
}

/// One row through PNG filter `kind` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth).
fn filter_row(kind: u8, row: &[u8], prev: &[u8], bpp: usize, out: &mut [u8]) {
    for x in 0..row.len() {
        let left = if x >= bpp { row[x - bpp] } else { 0 };
        let up = prev[x];
        let up_left = if x >= bpp { prev[x - bpp] } else { 0 };
        let predictor = match kind {
            1 => left,
            2 => up,
            3 => ((left as u16 + up as u16) / 2) as u8,
            4 => {
                let p = left as i16 + up as i16 - up_left as i16;
                let (pa, pb, pc) = (
                    (p - left as i16).abs(),
                    (p - up as i16).abs(),
                    (p - up_left as i16).abs(),
                );
                if pa <= pb && pa <= pc {
                    left
                } else if pb <= pc {
                    up
                } else {
                    up_left
                }
            }
            _ => 0,
        };
        out[x] = row[x].wrapping_sub(predictor);
    }
}

/// What the JPEG frame header says.
#[derive(Debug, PartialEq, Eq)]
struct JpegInfo {
    width: u32,
    height: u32,
    components: u8,
    adobe: bool,
}

/// Walks the JPEG marker segments up to the first SOF marker.
fn parse_jpeg(b: &[u8]) -> Result<JpegInfo, String> {
    let truncated = || "truncated or malformed JPEG".to_string();
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG file".into());
    }
    let mut i = 2;
    let mut adobe = false;
    loop {
        // Find the next marker: 0xFF, possibly padded with more 0xFF bytes.
        if *b.get(i).ok_or_else(truncated)? != 0xFF {
            return Err(truncated());
        }
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *b.get(i).ok_or_else(truncated)?;
        i += 1;
        // Standalone markers carry no length.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            // End of image or start of scan before any frame header.
            return Err("JPEG has no frame header (SOF)".into());
        }
        let len_bytes = b.get(i..i + 2).ok_or_else(truncated)?;
        let len = u16::from_be_bytes([len_bytes[0], len_bytes[1]]) as usize;
        if len < 2 {
            return Err(truncated());
        }
        let seg = b.get(i + 2..i + len).ok_or_else(truncated)?;
        match marker {
            // APP14 "Adobe": CMYK stored inverted.
            0xEE if seg.starts_with(b"Adobe") => adobe = true,
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                if seg.len() < 6 {
                    return Err(truncated());
                }
                if seg[0] != 8 {
                    return Err(format!("unsupported JPEG precision {} bits", seg[0]));
                }
                if marker == 0xC3 || marker >= 0xC9 {
                    return Err("unsupported JPEG coding (lossless or arithmetic)".into());
                }
                let height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
                let width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
                return Ok(JpegInfo {
                    width,
                    height,
                    components: seg[5],
                    adobe,
                });
            }
            _ => {}
        }
        i += len;
    }
}

fn decode_jpeg(name: &str, bytes: Vec<u8>) -> Result<Image, String> {
    let info = parse_jpeg(&bytes)?;
    let color = match info.components {
        1 => ColorSpace::Gray,
        3 => ColorSpace::Rgb,
        4 => ColorSpace::Cmyk,
        n => return Err(format!("unsupported JPEG with {n} components")),
    };
    check_size(info.width, info.height, info.components as u64)?;
    Ok(Image {
        name: name.to_string(),
        width: info.width,
        height: info.height,
        data: ImageData::Jpeg {
            color,
            inverted: color == ColorSpace::Cmyk && info.adobe,
            bytes,
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes a PNG in memory.
    pub(crate) fn encode_png(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
        palette: Option<(&[u8], &[u8])>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(color);
            enc.set_depth(depth);
            if let Some((plte, trns)) = palette {
                enc.set_palette(plte.to_vec());
                if !trns.is_empty() {
                    enc.set_trns(trns.to_vec());
                }
            }
            let mut wr = enc.write_header().unwrap();
            wr.write_image_data(data).unwrap();
        }
        out
    }

    /// A red circle on a transparent background (a seal), RGBA.
    pub(crate) fn seal_png(size: u32) -> Vec<u8> {
        let mut data = Vec::new();
        let c = (size as f32 - 1.0) / 2.0;
        let r = size as f32 / 2.0 - 1.0;
        for y in 0..size {
            for x in 0..size {
                let d = ((x as f32 - c).powi(2) + (y as f32 - c).powi(2)).sqrt();
                let ring = d <= r && d >= r - size as f32 / 10.0;
                let dot = d <= r / 3.0;
                let a = if ring || dot { 255 } else { 0 };
                data.extend_from_slice(&[200, 20, 30, a]);
            }
        }
        encode_png(
            size,
            size,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &data,
            None,
        )
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        miniz_oxide::inflate::decompress_to_vec_zlib(data).unwrap()
    }

    /// Undoes the PNG row filters of a predicted plane.
    fn unfilter(data: &[u8], row_bytes: usize, bpp: usize) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for (y, row) in data.chunks(row_bytes + 1).enumerate() {
            let (kind, row) = (row[0], &row[1..]);
            let start = out.len();
            for x in 0..row_bytes {
                let left = if x >= bpp { out[start + x - bpp] } else { 0 };
                let up = if y > 0 { out[start + x - row_bytes] } else { 0 };
                let up_left = if y > 0 && x >= bpp {
                    out[start + x - bpp - row_bytes]
                } else {
                    0
                };
                let p = match kind {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => ((left as u16 + up as u16) / 2) as u8,
                    4 => {
                        let q = left as i16 + up as i16 - up_left as i16;
                        let (pa, pb, pc) = (
                            (q - left as i16).abs(),
                            (q - up as i16).abs(),
                            (q - up_left as i16).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            left
                        } else if pb <= pc {
                            up
                        } else {
                            up_left
                        }
                    }
                    k => panic!("bad filter type {k}"),
                };
                out.push(row[x].wrapping_add(p));
            }
        }
        out
    }

    /// Decompresses, unfilters and unpacks a plane to one byte per sample.
    pub(crate) fn plane_values(s: &Samples, width: usize, height: usize) -> Vec<u8> {
        let channels = s.colors as usize;
        let bits = s.bits as usize;
        let row_bytes = (width * channels * bits).div_ceil(8);
        let mut data = inflate(&s.data);
        if s.predicted {
            assert_eq!(data.len(), (row_bytes + 1) * height);
            data = unfilter(&data, row_bytes, (channels * bits).div_ceil(8));
        }
        assert_eq!(data.len(), row_bytes * height);
        let mut values = Vec::with_capacity(width * height * channels);
        for row in data.chunks(row_bytes) {
            for i in 0..width * channels {
                let bit = i * bits;
                let byte = row[bit / 8];
                let v = (byte >> (8 - bits - bit % 8)) & ((1u16 << bits) - 1) as u8;
                values.push(v);
            }
        }
        values
    }

    /// The image's pixels as 8-bit samples of its base colour space, and
    /// its alpha as 8-bit values (palette and `/Decode` applied).
    fn flate(img: &Image) -> (ColorSpace, Vec<u8>, Option<Vec<u8>>) {
        let (w, h) = (img.width as usize, img.height as usize);
        match &img.data {
            ImageData::Flate {
                color,
                palette,
                samples,
                smask,
            } => {
                let values = plane_values(samples, w, h);
                let pixels = match palette {
                    Some(p) => {
                        let n = if *color == ColorSpace::Rgb { 3 } else { 1 };
                        assert!(p.len() / n <= 1 << samples.bits, "palette too long");
                        values
                            .iter()
                            .flat_map(|i| p[*i as usize * n..(*i as usize + 1) * n].to_vec())
                            .collect()
                    }
                    None => {
                        assert_eq!(samples.bits, 8);
                        values
                    }
                };
                let alpha = smask.as_ref().map(|m| {
                    let max = ((1u32 << m.samples.bits) - 1) as f32;
                    let [lo, hi] = m.decode.unwrap_or([0.0, 1.0]);
                    plane_values(&m.samples, w, h)
                        .iter()
                        .map(|k| ((lo + (hi - lo) * *k as f32 / max) * 255.0).round() as u8)
                        .collect()
                });
                (*color, pixels, alpha)
            }
            ImageData::Jpeg { .. } => panic!("not flate"),
        }
    }

    #[test]
    fn rgba_png_gets_smask() {
        let img = decode("seal.png", seal_png(16)).unwrap();
        assert_eq!((img.width, img.height), (16, 16));
        let (color, samples, smask) = flate(&img);
        assert_eq!(color, ColorSpace::Rgb);
        assert_eq!(samples.len(), 16 * 16 * 3);
        let smask = smask.expect("transparent pixels need a soft mask");
        assert_eq!(smask.len(), 16 * 16);
        assert_eq!(smask[0], 0);
        assert_eq!(smask[8 * 16 + 8], 255);
    }

    #[test]
    fn opaque_alpha_is_dropped() {
        let data = [10, 255, 20, 255, 30, 255, 40, 255];
        let png = encode_png(
            2,
            2,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &data,
            None,
        );
        let (color, samples, smask) = flate(&decode("g.png", png).unwrap());
        assert_eq!(color, ColorSpace::Gray);
        assert_eq!(samples, vec![10, 20, 30, 40]);
        assert!(smask.is_none());
    }

    #[test]
    fn sixteen_bit_is_reduced_to_eight() {
        // 1×2 RGB, 16-bit: high bytes 0x12/0x34/0x56 and 0xAB/0xCD/0xEF.
        let data = [
            0x12, 0x00, 0x34, 0x00, 0x56, 0x00, 0xAB, 0xFF, 0xCD, 0xFF, 0xEF, 0xFF,
        ];
        let png = encode_png(
            1,
            2,
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            &data,
            None,
        );
        let (color, samples, smask) = flate(&decode("x.png", png).unwrap());
        assert_eq!(color, ColorSpace::Rgb);
        assert_eq!(samples, vec![0x12, 0x34, 0x56, 0xAB, 0xCD, 0xEF]);
        assert!(smask.is_none());
    }

    #[test]
    fn indexed_png_with_trns_is_expanded() {
        let plte = [255, 0, 0, 0, 0, 255];
        let trns = [0]; // index 0 transparent, index 1 opaque
                        // 4×1 pixels, 8-bit indices.
        let png = encode_png(
            4,
            1,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &[0, 1, 1, 0],
            Some((&plte, &trns)),
        );
        let (color, samples, smask) = flate(&decode("p.png", png).unwrap());
        assert_eq!(color, ColorSpace::Rgb);
        // Visible pixels keep their colour; invisible ones repeat the last
        // visible colour (the first visible one before any), which
        // compresses better.
        assert_eq!(samples, vec![0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255]);
        assert_eq!(smask.unwrap(), vec![0, 255, 255, 0]);
        // Without tRNS: opaque, no mask. 2-bit indices.
        let png = encode_png(
            4,
            1,
            png::ColorType::Indexed,
            png::BitDepth::Two,
            &[0b0001_0100],
            Some((&plte, &[])),
        );
        let (_, samples, smask) = flate(&decode("p2.png", png).unwrap());
        assert_eq!(samples, vec![255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0]);
        assert!(smask.is_none());
    }

    /// Deterministic pseudo-random bytes.
    fn noise(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect()
    }

    #[test]
    fn planes_round_trip_at_every_depth_and_filter() {
        let (w, h) = (13, 7); // rows not a whole number of bytes
        for channels in [1usize, 3] {
            for bits in DEPTHS {
                let values: Vec<u8> = noise(w * h * channels, bits as u32)
                    .iter()
                    .map(|v| v >> (8 - bits))
                    .collect();
                let s = best_plane(&values, w, h, channels, bits);
                assert_eq!(plane_values(&s, w, h), values, "{channels}×{bits}");
                // Every filter, forced, decodes back too.
                let packed = pack(&values, w, channels, bits);
                let row_bytes = (w * channels * bits as usize).div_ceil(8);
                let bpp = (channels * bits as usize).div_ceil(8);
                for f in [Some(0u8), Some(1), Some(2), Some(3), Some(4), None] {
                    let filtered = png_filter(&packed, row_bytes, h, bpp, f);
                    assert_eq!(unfilter(&filtered, row_bytes, bpp), packed, "filter {f:?}");
                }
            }
        }
    }

    #[test]
    fn few_colours_become_indexed_at_the_smallest_depth() {
        // 3 visible colours + transparent pixels, lossless 0/255 alpha: 2 bits.
        let colours = [[200u8, 20, 30], [0, 0, 0], [10, 200, 40]];
        let (w, h) = (9u32, 5u32);
        let mut data = Vec::new();
        for i in 0..w * h {
            let c = colours[(i % 3) as usize];
            let a = if i % 4 == 0 { 0 } else { 255 };
            data.extend_from_slice(&[c[0], c[1], c[2], a]);
        }
        let png = encode_png(
            w,
            h,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &data,
            None,
        );
        let img = decode("c.png", png).unwrap();
        match &img.data {
            ImageData::Flate {
                palette,
                samples,
                smask,
                ..
            } => {
                assert_eq!(palette.as_ref().map(|p| p.len()), Some(9));
                assert_eq!(samples.bits, 2);
                let m = smask.as_ref().unwrap();
                assert_eq!((m.samples.bits, m.decode), (1, None));
            }
            _ => panic!("not flate"),
        }
        let (color, rgb, alpha) = flate(&img);
        assert_eq!(color, ColorSpace::Rgb);
        let alpha = alpha.unwrap();
        for i in 0..(w * h) as usize {
            assert_eq!(alpha[i], data[i * 4 + 3]);
            if alpha[i] != 0 {
                assert_eq!(rgb[i * 3..i * 3 + 3], data[i * 4..i * 4 + 3], "pixel {i}");
            }
        }
        // One colour: 1 bit, a one-entry palette.
        let img = decode("seal.png", seal_png(24)).unwrap();
        let ImageData::Flate {
            palette, samples, ..
        } = &img.data
        else {
            panic!("not flate")
        };
        assert_eq!(palette.as_deref(), Some(&[200u8, 20, 30][..]));
        assert_eq!(samples.bits, 1);
    }

    #[test]
    fn many_colours_stay_direct() {
        let (w, h) = (20u32, 20u32);
        let data = noise((w * h * 3) as usize, 7);
        let png = encode_png(w, h, png::ColorType::Rgb, png::BitDepth::Eight, &data, None);
        let img = decode("n.png", png).unwrap();
        let (color, rgb, alpha) = flate(&img);
        assert_eq!(color, ColorSpace::Rgb);
        assert_eq!(rgb, data);
        assert!(alpha.is_none());
        // Two gray levels: indexed (or direct, whichever is smaller), exact.
        let gray: Vec<u8> = (0..400)
            .map(|i| if i % 7 == 0 { 30 } else { 220 })
            .collect();
        let png = encode_png(
            w,
            h,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &gray,
            None,
        );
        let (color, values, _) = flate(&decode("g.png", png).unwrap());
        assert_eq!(color, ColorSpace::Gray);
        assert_eq!(values, gray);
    }

    #[test]
    fn edge_only_alpha_is_reduced_to_sixteen_levels() {
        // A disc at alpha 199 with a one-pixel anti-aliased rim, like the seal.
        let size = 40u32;
        let mut data = Vec::new();
        let c = (size as f32 - 1.0) / 2.0;
        for y in 0..size {
            for x in 0..size {
                let d = ((x as f32 - c).powi(2) + (y as f32 - c).powi(2)).sqrt();
                let cover = (15.0 - d).clamp(0.0, 1.0);
                data.extend_from_slice(&[210, 35, 42, (cover * 199.0).round() as u8]);
            }
        }
        let png = encode_png(
            size,
            size,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &data,
            None,
        );
        let img = decode("s.png", png).unwrap();
        let ImageData::Flate { smask: Some(m), .. } = &img.data else {
            panic!("no soft mask")
        };
        assert_eq!(m.samples.bits, 4);
        assert_eq!(m.decode, Some([0.0, 199.0 / 255.0]));
        let (_, _, alpha) = flate(&img);
        for (i, a) in alpha.unwrap().iter().enumerate() {
            let want = data[i * 4 + 3];
            if want == 0 || want == 199 {
                assert_eq!(*a, want, "extremes stay exact");
            } else {
                assert!(a.abs_diff(want) <= 7, "pixel {i}: {a} vs {want}");
            }
        }
        // A gradient is not an edge: kept at 8 bits, exact.
        let data: Vec<u8> = (0..size * size)
            .flat_map(|i| [0, 0, 0, (i % 256) as u8])
            .collect();
        let png = encode_png(
            size,
            size,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &data,
            None,
        );
        let img = decode("f.png", png).unwrap();
        let (_, _, alpha) = flate(&img);
        let want: Vec<u8> = data.chunks(4).map(|p| p[3]).collect();
        assert_eq!(alpha.unwrap(), want);
    }

    #[test]
    fn oversized_png_is_refused_before_decoding() {
        // Header claims 20000×1; only the IHDR is checked before refusal.
        let png = encode_png(
            20_000,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::One,
            &[0; 2500],
            None,
        );
        let err = decode("big.png", png).unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }

    fn jpeg_bytes(components: u8, adobe: bool, w: u16, h: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        // APP0 JFIF
        b.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        if adobe {
            b.extend_from_slice(&[0xFF, 0xEE, 0, 14]);
            b.extend_from_slice(b"Adobe\0\x64\0\0\0\0\x02");
        }
        // fill bytes before a marker are allowed
        b.extend_from_slice(&[0xFF, 0xFF, 0xC0]);
        let len = 8 + 3 * components as u16;
        b.extend_from_slice(&len.to_be_bytes());
        b.push(8);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.push(components);
        for c in 0..components {
            b.extend_from_slice(&[c + 1, 0x11, 0]);
        }
        b.extend_from_slice(&[0xFF, 0xD9]);
        b
    }

    #[test]
    fn jpeg_header_is_parsed() {
        let info = parse_jpeg(&jpeg_bytes(3, false, 640, 480)).unwrap();
        assert_eq!(
            info,
            JpegInfo {
                width: 640,
                height: 480,
                components: 3,
                adobe: false
            }
        );
        let img = decode("c.jpg", jpeg_bytes(4, true, 10, 20)).unwrap();
        match img.data {
            ImageData::Jpeg {
                color,
                inverted,
                ref bytes,
            } => {
                assert_eq!(color, ColorSpace::Cmyk);
                assert!(inverted);
                assert_eq!(bytes.len(), jpeg_bytes(4, true, 10, 20).len());
            }
            _ => panic!("not jpeg"),
        }
    }

    #[test]
    fn truncated_and_huge_jpegs_are_errors() {
        let full = jpeg_bytes(3, false, 640, 480);
        for cut in 2..full.len() - 2 {
            // Must never panic; cutting inside the SOF must fail.
            let _ = parse_jpeg(&full[..cut]);
        }
        assert!(parse_jpeg(&full[..30]).is_err());
        assert!(decode("x.jpg", jpeg_bytes(3, false, 20_000, 10)).is_err());
        assert!(decode("x.jpg", b"\xFF\xD8\xFF\xD9".to_vec()).is_err());
        assert!(decode("x.gif", b"GIF89a".to_vec()).is_err());
    }

    #[test]
    fn load_dir_sorts_and_names_by_file() {
        let dir = std::env::temp_dir().join(format!("chohyo-img-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b_seal.PNG"), seal_png(8)).unwrap();
        std::fs::write(dir.join("a_logo.jpg"), jpeg_bytes(1, false, 4, 4)).unwrap();
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        let set = ImageSet::load_dir(&dir).unwrap();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["a_logo.jpg", "b_seal.PNG"]
        );
        assert_eq!(set.find("b_seal.PNG"), Some(ImageId(1)));
        // A broken image names its file.
        std::fs::write(dir.join("c.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
        let err = ImageSet::load_dir(&dir).unwrap_err();
        assert!(err.message.contains("c.png"), "{}", err.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
