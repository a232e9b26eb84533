//! Images (seal, logo) loaded once per batch and shared by all documents.
//!
//! STUB: the signatures are fixed; the implementation is being written.

use crate::page::ImageId;
use std::path::Path;

/// A decoded image ready for embedding.
#[derive(Debug)]
pub struct Image {
    /// Name the markup refers to (the file name).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
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

impl ImageSet {
    /// Loads one image file (PNG, with or without alpha; JPEG) under the name `name`.
    pub fn load(&mut self, name: &str, path: &Path) -> Result<ImageId, ImageError> {
        let _ = (name, path);
        todo!()
    }

    /// Loads every image of a folder, in file-name order.
    pub fn load_dir(dir: &Path) -> Result<ImageSet, ImageError> {
        let _ = dir;
        todo!()
    }

    /// Looks an image up by the name used in markup.
    pub fn find(&self, name: &str) -> Option<ImageId> {
        self.images.iter().position(|i| i.name == name).map(ImageId)
    }

    /// The image behind an id.
    pub fn get(&self, id: ImageId) -> &Image {
        &self.images[id.0]
    }
}
