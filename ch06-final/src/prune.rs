//! `container prune` and `image prune`: everything that is stopped, or
//! that nothing uses, in one go, after asking (unless `-f`), as Docker does.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{Context, Result};

use ch04_images::containers::{ContainerStore, Status};
use ch04_images::images::ImageStore;
use ch04_images::size::{human_size, tree_size};

use crate::ps::state;

/// Asks `question` on stderr and reads y/yes from stdin; without a yes (or
/// without a stdin) nothing is done.
pub fn confirm(question: &str) -> Result<bool> {
    eprint!("WARNING! {question}\nAre you sure you want to continue? [y/N] ");
    std::io::stderr().flush().context("write to stderr")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("read the answer from stdin")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

// ANCHOR: container_prune
/// `container prune`: removes every container that is not running (with
/// what it holds, as `rm`), and prints their ids and the space given back.
pub fn containers(root: &Path, out: &mut dyn Write) -> Result<()> {
    let store = ContainerStore::new(root);
    let removal = ch05_network::removal(root, store.clone());
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for record in store.list()? {
        if !matches!(state(&record).status, Status::Exited | Status::Created) {
            continue;
        }
        let size = tree_size(&store.dir_of(&record.id).join("upper"));
        removal.remove(&record.id, false)?;
        reclaimed += size;
        deleted.push(record.id);
    }
    if !deleted.is_empty() {
        writeln!(out, "Deleted Containers:").context("write to stdout")?;
        for id in &deleted {
            writeln!(out, "{id}").context("write to stdout")?;
        }
        writeln!(out).context("write to stdout")?;
    }
    writeln!(out, "Total reclaimed space: {}", human_size(reclaimed)).context("write to stdout")
}
// ANCHOR_END: container_prune

// ANCHOR: image_prune
/// `image prune [-a]`: removes the images no tag names and no container
/// uses (with `-a`, every image no container uses), then the layers no
/// image lists, and prints Docker's `untagged:`/`deleted:` lines.
pub fn images(root: &Path, all: bool, out: &mut dyn Write) -> Result<()> {
    let images = ImageStore::new(root);
    let containers = ContainerStore::new(root);
    let _lock = images.lock()?;
    let used = containers.images_in_use()?;
    let layer_total = |images: &ImageStore| -> Result<u64> {
        Ok(images
            .layers
            .list()?
            .iter()
            .map(|d| images.layers.info(d).map_or(0, |i| i.size))
            .sum())
    };
    let before = layer_total(&images)?;
    let mut lines = Vec::new();
    if all {
        let tags: Vec<(String, _)> = images.repositories()?.into_iter().collect();
        for (tag, id) in tags {
            if !used.contains_key(&id) {
                lines.extend(images.remove(&tag, false, &used)?);
            }
        }
    }
    lines.extend(images.collect_garbage(&used)?);
    let after = layer_total(&images)?;
    if !lines.is_empty() {
        writeln!(out, "Deleted Images:").context("write to stdout")?;
        for line in &lines {
            // Docker's prune writes these two words in lower case.
            let line = line
                .replace("Untagged: ", "untagged: ")
                .replace("Deleted: ", "deleted: ");
            writeln!(out, "{line}").context("write to stdout")?;
        }
        writeln!(out).context("write to stdout")?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        human_size(before.saturating_sub(after))
    )
    .context("write to stdout")
}
// ANCHOR_END: image_prune
