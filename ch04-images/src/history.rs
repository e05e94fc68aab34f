//! `history IMAGE`: how each layer of an image was made, newest first, from
//! the `history` list of its configuration.
//!
//! The configuration lists one entry per step; a step that changed no file
//! (`empty_layer`) has no layer, the others take the image's layers in
//! order. Only the newest line can name an image id: the older steps were
//! images once, on the machine that built them, but their ids are not
//! kept, so Docker shows `<missing>` for them, and so do we.

use serde_json::Value;

use ch03_overlayfs::storage::clock;

use crate::images::{Image, ImageStore};
use crate::size::human_size;

// ANCHOR: history
/// The rows of `history`: IMAGE, CREATED, CREATED BY, SIZE, COMMENT.
pub fn history_rows(images: &ImageStore, image: &Image, no_trunc: bool) -> Vec<Vec<String>> {
    let mut layers = image.config.rootfs.diff_ids.iter();
    let mut rows: Vec<Vec<String>> = image
        .config
        .history
        .iter()
        .map(|step| {
            let text = |key: &str| step.get(key).and_then(Value::as_str).unwrap_or_default();
            let empty = step
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let size = match empty {
                true => 0,
                false => layers
                    .next()
                    .and_then(|d| images.layers.info(d).ok())
                    .map_or(0, |i| i.size),
            };
            let created_by = text("created_by");
            let created_by = match no_trunc || created_by.chars().count() <= 45 {
                true => created_by.to_string(),
                false => format!("{}…", created_by.chars().take(44).collect::<String>()),
            };
            vec![
                "<missing>".to_string(),
                match text("created") {
                    "" => "N/A".to_string(),
                    created => clock::ago(created),
                },
                created_by,
                human_size(size),
                text("comment").to_string(),
            ]
        })
        .collect();
    rows.reverse();
    if let Some(newest) = rows.first_mut() {
        newest[0] = match no_trunc {
            true => image.id.to_string(),
            false => image.id.short().to_string(),
        };
    }
    rows
}
// ANCHOR_END: history
