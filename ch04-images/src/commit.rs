//! A container becomes an image again (`commit`), or a flat tar (`export`).
//!
//! The container's upper directory holds exactly what it changed, already
//! in the overlayfs dialect: new and modified files, 0/0 character devices
//! for deletions, opaque directories. `commit` packs that directory into a
//! layer tar (turning the deletion markers into OCI whiteouts), unpacks the
//! stream into the layer store as it is produced, and writes a new image
//! configuration: the parent's layers plus this one. Its cost grows with the
//! change, not with the image.
//!
//! `export` instead needs the container's whole file tree, as the container
//! saw it. We let the kernel compute it: a read-only overlay of the upper
//! directory and the image layers, mounted in a private mount namespace.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use ch03_overlayfs::syscall::{Kernel, Syscall};

use crate::containers::{ContainerStore, Record};
use crate::digest::Digest;
use crate::images::ImageStore;
use crate::progress;
use crate::tarwrite::{Dialect, write_tree};

/// The upper directory of a container.
pub fn upper_dir(containers: &ContainerStore, record: &Record) -> PathBuf {
    containers.dir_of(&record.id).join("upper")
}

// ANCHOR: layer_from_dir
/// Packs `upper` (overlayfs dialect) into a layer and stores it. The tar is
/// written by one thread into a pipe and unpacked from it by this one, so it
/// never touches the disk as a file. Returns the diff-id and whether the
/// layer is new.
pub fn layer_from_dir(images: &ImageStore, upper: &Path) -> Result<(Digest, bool)> {
    let (r, w) = nix::unistd::pipe().context("pipe for the layer tar")?;
    // A 1 MiB pipe instead of the default 64 KiB: fewer switches between
    // the writer and the reader. Failing to grow it only costs speed.
    let _ = nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    let src = upper.to_path_buf();
    let bar = progress::bar(&format!("committing {}", upper.display()), None);
    let bar2 = bar.clone();
    let producer = std::thread::spawn(move || {
        write_tree(&src, File::from(w), Dialect::Layer, &mut |n| bar2.inc(n)).map(drop)
    });
    let stored = images.layers.ingest(File::from(r), None);
    let produced = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the tar writer thread panicked"))?;
    bar.finish_and_clear();
    // The writer's error is the cause; the reader's is then only "broken pipe".
    produced.with_context(|| format!("pack {}", upper.display()))?;
    stored
}
// ANCHOR_END: layer_from_dir

// ANCHOR: commit
/// `commit CONTAINER [IMAGE]`: the container's changes become one new layer
/// on top of its image's layers. The new image keeps the parent's settings
/// and takes the container's command as its default (as Docker does).
/// The caller holds [`ImageStore::lock`].
pub fn commit(
    images: &ImageStore,
    containers: &ContainerStore,
    container: &str,
    name: Option<&str>,
) -> Result<Digest> {
    let record = containers.find(container)?;
    let parent = images
        .get(&record.image_id)
        .with_context(|| format!("the image of container {}", record.name))?;
    let upper = upper_dir(containers, &record);
    if !upper.is_dir() {
        bail!(
            "container {} has no writable layer at {}",
            record.name,
            upper.display()
        );
    }
    let (diff_id, created) = layer_from_dir(images, &upper)?;
    let created_by = format!(
        "mydocker commit {}: {}",
        record.name,
        record.command.join(" ")
    );
    let result = images.add_layer_image(&parent, &diff_id, &created_by, &record.command, name);
    if result.is_err() && created {
        let _ = images.layers.remove(&diff_id);
    }
    result
}
// ANCHOR_END: commit

// ANCHOR: export
/// `export CONTAINER`: the container's file tree as one flat tar.
///
/// Mounts a read-only overlay (upper directory on top of the image layers)
/// in a new private mount namespace, so the mount is invisible to the host
/// and disappears with this process even if it is killed. `unshare` of the
/// mount namespace needs a single-threaded process: call this from `main`.
pub fn export(
    images: &ImageStore,
    containers: &ContainerStore,
    container: &str,
    out: impl Write,
) -> Result<()> {
    let record = containers.find(container)?;
    let image = images.get(&record.image_id)?;
    let root = images
        .root()
        .canonicalize()
        .with_context(|| format!("resolve {}", images.root().display()))?;
    let mut lowers = vec![upper_dir(containers, &record)];
    lowers.extend(image.lowerdirs(&images.layers));
    // Paths relative to the data root keep the mount options short (they
    // are limited to one page): the kernel resolves them from our cwd.
    let rel: Vec<String> = lowers
        .iter()
        .map(|p| {
            p.strip_prefix(images.root())
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mnt = containers.dir_of(&record.id).join("export");
    with_merged_tree(&Kernel, &root, &mnt, &rel, |tree| {
        write_tree(tree, out, Dialect::Flat, &mut |_| {})
            .and_then(|mut w| w.flush().context("write the tar"))
    })
}

/// Mounts the read-only overlay of `lowers` (relative to `root`, top-most
/// first) on `mnt`, in a new private mount namespace, hands the tree to
/// `read`, and unmounts it. `mnt` itself is created and removed for real: it
/// is in the data root.
pub fn with_merged_tree(
    sys: &dyn Syscall,
    root: &Path,
    mnt: &Path,
    lowers: &[String],
    read: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    sys.unshare(CloneFlags::CLONE_NEWNS)
        .context("unshare the mount namespace for export")?;
    sys.mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .context("make / private (mount --make-rprivate /)")?;
    std::fs::create_dir_all(mnt).with_context(|| format!("create {}", mnt.display()))?;
    let cwd = File::open(".").context("open the current directory")?;
    // Said as the standard library says it (`... (os error 2)`), like the
    // other errors of this sequence.
    sys.chdir(root)
        .map_err(std::io::Error::from)
        .with_context(|| format!("chdir {}", root.display()))?;
    let opts = format!("lowerdir={}", lowers.join(":"));
    let mounted = sys
        .mount(
            Some(Path::new("overlay")),
            mnt,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(opts.as_str()),
        )
        .with_context(|| format!("mount overlay on {} ({opts})", mnt.display()));
    sys.fchdir(cwd.as_fd())
        .context("return to the current directory")?;
    mounted?;
    let written = read(mnt);
    let _ = sys.umount2(mnt, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_dir(mnt);
    written
}
// ANCHOR_END: export

#[cfg(test)]
mod tests {
    use ch03_overlayfs::syscall::Recorder;

    use super::*;

    #[test]
    fn export_mounts_the_merged_tree_privately_and_reads_it_before_the_unmount() {
        let tmp = tempfile::tempdir().unwrap();
        let mnt = tmp.path().join("containers/abc/export");
        let lowers = ["containers/abc/upper".to_string(), "layers/l1/diff".into()];
        let sys = Recorder::new();
        with_merged_tree(
            &sys,
            Path::new("/var/lib/mydocker"),
            &mnt,
            &lowers,
            |tree| {
                sys.note(&format!("read {}", tree.display()));
                Ok(())
            },
        )
        .unwrap();
        assert!(!mnt.exists(), "the mount point is removed");
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r#"[^"<\s]*/\.tmp\w+"#, "[TMP]");
        // The descriptor of the directory the test runs in.
        settings.add_filter(r"fchdir\(\d+<[^>]*>\)", "fchdir(N<[CWD]>)");
        settings.bind(|| insta::assert_snapshot!(sys));
    }
}
