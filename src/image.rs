//! Images (seal, logo) loaded once per batch and shared by all documents.
//!
//! Every image is decoded and prepared for PDF embedding exactly once, at
//! load time, so writing thousands of documents never re-encodes pixels:
//!
//! * **PNG** (gray, gray+alpha, RGB, RGBA, indexed with or without `tRNS`,
//!   1/2/4/8/16-bit) is decoded, normalised to 8-bit Gray or RGB samples and
//!   zlib-compressed (`/FlateDecode`). When any pixel is not fully opaque the
//!   alpha channel becomes a separate, compressed soft mask (`/SMask`).
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

use crate::page::ImageId;
use std::path::Path;

/// Largest accepted width or height in pixels.
pub const MAX_SIDE: u32 = 10_000;

/// Largest accepted decoded size in bytes (all channels, 8 bits each).
pub const MAX_DECODED_BYTES: u64 = 100 * 1024 * 1024;

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
    /// 8-bit samples, zlib-compressed (`/FlateDecode`), plus an optional
    /// 8-bit gray soft mask, also compressed.
    Flate {
        /// Colour space of `samples` (Gray or Rgb).
        color: ColorSpace,
        /// Compressed samples.
        samples: Vec<u8>,
        /// Compressed alpha channel, when the image is not fully opaque.
        smask: Option<Vec<u8>>,
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
        let bytes = std::fs::read(path).map_err(|e| file_error(path, &e.to_string()))?;
        let image = decode(name, bytes).map_err(|m| file_error(path, &m))?;
        self.images.push(image);
        Ok(ImageId(self.images.len() - 1))
    }

    /// Loads every `*.png`, `*.jpg` and `*.jpeg` file (extension case
    /// ignored) directly inside `dir`, in sorted file-name order, each under
    /// its file name. Subdirectories and other files are ignored.
    pub fn load_dir(dir: &Path) -> Result<ImageSet, ImageError> {
        let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, &e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| file_error(dir, &e.to_string()))?;
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
            path.display()
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
            let mut last = 0u8;
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
            let mut last = [0u8; 3];
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
    let expected = px * if color == ColorSpace::Rgb { 3 } else { 1 };
    if samples.len() != expected {
        return Err("truncated PNG image data".into());
    }
    // A fully opaque alpha channel is dropped: no soft mask, smaller PDFs.
    let smask = alpha
        .filter(|a| a.iter().any(|v| *v != 255))
        .map(|a| deflate(&a));
    Ok(Image {
        name: name.to_string(),
        width,
        height,
        data: ImageData::Flate {
            color,
            samples: deflate(&samples),
            smask,
        },
    })
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

    fn flate(img: &Image) -> (ColorSpace, Vec<u8>, Option<Vec<u8>>) {
        match &img.data {
            ImageData::Flate {
                color,
                samples,
                smask,
            } => (*color, inflate(samples), smask.as_deref().map(inflate)),
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
        // visible colour (black before any), which compresses better.
        assert_eq!(samples, vec![0, 0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255]);
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
