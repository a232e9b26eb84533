//! Image XObjects: per used image one XObject (plus a soft mask for PNGs
//! with transparency) from the stream data [`crate::render::image`] encoded at
//! load time, and the image fingerprint that goes into the file `/ID`.
//!
//! May use `crate::render::image`, `crate::render::page` (image ids), `pdf-writer` and
//! `sha2`.

use crate::render::image::{ColorSpace, Image, ImageData, ImageSet, Samples, SoftMask};
use crate::render::page::ImageId;
use pdf_writer::{Filter, Finish, Name, Pdf, Ref};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Writes the XObjects of the images `ids` in id order; their objects in
/// that order (named `Im0`, `Im1`, … in the resources).
pub(super) fn write_images(
    pdf: &mut Pdf,
    alloc: &mut Ref,
    ids: &BTreeSet<usize>,
    images: &ImageSet,
) -> Vec<Ref> {
    ids.iter()
        .map(|id| write_image(pdf, alloc, images.get(ImageId(*id))))
        .collect()
}

/// Writes one image XObject (and its soft mask); the XObject's ref.
fn write_image(pdf: &mut Pdf, alloc: &mut Ref, image: &Image) -> Ref {
    let r = alloc.bump();
    match &image.data {
        ImageData::Flate {
            color,
            palette,
            samples,
            smask,
        } => {
            let smask_ref = smask.as_ref().map(|_| alloc.bump());
            let mut x = pdf.image_xobject(r, &samples.data);
            flate_image(&mut x, image.width, samples);
            x.width(image.width as i32).height(image.height as i32);
            match palette {
                Some(p) => {
                    let n = p.len() / if *color == ColorSpace::Rgb { 3 } else { 1 };
                    x.color_space()
                        .indexed(Name(color.pdf_name()), n as i32 - 1, p);
                }
                None => {
                    x.color_space_name(Name(color.pdf_name()));
                }
            }
            if let Some(s) = smask_ref {
                x.s_mask(s);
            }
            x.finish();
            if let (Some(s), Some(mask)) = (smask_ref, smask) {
                write_soft_mask(pdf, s, image, mask);
            }
        }
        ImageData::Jpeg {
            color,
            inverted,
            bytes,
        } => {
            let mut x = pdf.image_xobject(r, bytes);
            x.filter(Filter::DctDecode);
            x.width(image.width as i32)
                .height(image.height as i32)
                .color_space_name(Name(color.pdf_name()))
                .bits_per_component(8);
            if *inverted {
                x.decode([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
            }
        }
    }
    r
}

/// Writes the soft mask (alpha channel) of `image` as a gray XObject.
fn write_soft_mask(pdf: &mut Pdf, r: Ref, image: &Image, mask: &SoftMask) {
    let mut m = pdf.image_xobject(r, &mask.samples.data);
    flate_image(&mut m, image.width, &mask.samples);
    m.width(image.width as i32)
        .height(image.height as i32)
        .color_space_name(Name(b"DeviceGray"));
    if let Some([lo, hi]) = mask.decode {
        m.decode([lo, hi]);
    }
}

/// Writes `/Filter`, `/BitsPerComponent` and, for PNG-predicted
/// samples, `/DecodeParms` of a flate image stream.
fn flate_image(x: &mut pdf_writer::writers::ImageXObject, width: u32, s: &Samples) {
    x.filter(Filter::FlateDecode);
    x.bits_per_component(s.bits as i32);
    if s.predicted {
        let mut p = x.decode_parms();
        p.predictor(pdf_writer::types::Predictor::PngOptimum);
        if s.colors != 1 {
            p.colors(s.colors as i32);
        }
        if s.bits != 8 {
            p.bits_per_component(s.bits as i32);
        }
        p.columns(width as i32);
    }
}

/// Feeds an image's kind, sizes and the first and last bytes of its
/// encoded data into the /ID hash (image data is constant over a batch
/// and large; a changed image changes its size or its ends).
pub(super) fn fingerprint(data: &ImageData, h: &mut Sha256) {
    let ends = |h: &mut Sha256, b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(&b[..b.len().min(256)]);
        h.update(&b[b.len().saturating_sub(256)..]);
    };
    match data {
        ImageData::Flate {
            color,
            palette,
            samples,
            smask,
        } => {
            h.update(b"F");
            h.update(color.pdf_name());
            if let Some(p) = palette {
                h.update(b"I");
                ends(h, p);
            }
            h.update([samples.bits, u8::from(samples.predicted)]);
            ends(h, &samples.data);
            if let Some(m) = smask {
                h.update([m.samples.bits, u8::from(m.samples.predicted)]);
                ends(h, &m.samples.data);
            }
        }
        ImageData::Jpeg {
            color,
            inverted,
            bytes,
        } => {
            h.update(b"J");
            h.update(color.pdf_name());
            h.update([u8::from(*inverted)]);
            ends(h, bytes);
        }
    }
}
