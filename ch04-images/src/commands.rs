//! The image and container commands of chapter 4, as a library, so that
//! chapter 6's `mydocker` runs exactly the same code for them.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::archive;
use crate::cli::{Command, ImageCommand, RmArgs};
use crate::commit;
use crate::containers::ContainerStore;
use crate::history;
use crate::images::{ImageStore, human_size};
use crate::remove::Removal;
use crate::table::write_table;
use ch03_overlayfs::storage::{self, Durability, clock};

/// Runs every command except `run` against the data root `root`, and
/// returns the exit code.
pub fn run_command(root: &Path, command: Command) -> Result<i32> {
    match command {
        Command::Run(_) => bail!("run needs the binary's own wiring"),
        Command::Image(command) => run_image_command(root, command),
        Command::Rm(a) => rm(&Removal::new(root), &a),
    }
}

/// `rm CONTAINER...`: removes each one with `removal` (which knows what
/// this chapter's containers hold), printing the name of each removed.
pub fn rm(removal: &Removal, args: &RmArgs) -> Result<i32> {
    let mut failed = None;
    for c in &args.containers {
        match removal.remove(c, args.force) {
            Ok(_) => println!("{c}"),
            Err(e) => failed = Some(e),
        }
    }
    failed.map_or(Ok(0), Err)
}

/// Runs an image command against the data root `root`, and returns the
/// exit code.
pub fn run_image_command(root: &Path, command: ImageCommand) -> Result<i32> {
    let images = ImageStore::new(root);
    let containers = ContainerStore::new(root);
    match command {
        ImageCommand::Import(a) => {
            let _lock = images.lock()?;
            let id = images.import(&a.file, &a.name)?;
            println!("{id}");
            Ok(0)
        }
        ImageCommand::Load(a) => {
            let _lock = images.lock()?;
            let loaded = match &a.input {
                Some(path) => archive::load(&images, path)?,
                None => {
                    if std::io::stdin().is_terminal() {
                        bail!(
                            "requested load from stdin, but stdin is a terminal: use -i FILE or redirect the input"
                        );
                    }
                    archive::load_stream(&images, std::io::stdin(), "standard input")?
                }
            };
            for l in loaded {
                if a.quiet {
                    continue;
                }
                if l.tags.is_empty() {
                    println!("Loaded image ID: {}", l.id);
                }
                for t in l.tags {
                    println!("Loaded image: {t}");
                }
            }
            Ok(0)
        }
        ImageCommand::Save(a) => {
            write_output(a.output.as_deref(), |w| {
                archive::save(&images, &a.images, w)
            })?;
            Ok(0)
        }
        ImageCommand::Images(a) => {
            if a.format.is_some() {
                bail!("images --format: templates are chapter 6's (use its mydocker)");
            }
            list_images(&images, a.quiet)?;
            Ok(0)
        }
        ImageCommand::Rmi(a) => {
            let _lock = images.lock()?;
            let used = containers.images_in_use()?;
            let mut failed = None;
            for r in &a.images {
                match images.remove(r, a.force, &used) {
                    Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                    Err(e) => failed = Some(e),
                }
            }
            failed.map_or(Ok(0), Err)
        }
        ImageCommand::Tag(a) => {
            let _lock = images.lock()?;
            let image = images
                .resolve(&a.source)?
                .with_context(|| format!("no such image: {}", a.source))?;
            images.tag(&image.id, &a.target)?;
            Ok(0)
        }
        ImageCommand::History(a) => {
            let image = images
                .resolve(&a.image)?
                .with_context(|| format!("no such image: {}", a.image))?;
            let rows = history::history_rows(&images, &image, a.no_trunc);
            let header = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"];
            write_table(&mut std::io::stdout().lock(), &header, &rows)?;
            Ok(0)
        }
        ImageCommand::Commit(a) => {
            let _lock = images.lock()?;
            let id = commit::commit(&images, &containers, &a.container, a.image.as_deref())?;
            println!("{id}");
            Ok(0)
        }
        ImageCommand::Export(a) => {
            write_output(a.output.as_deref(), |w| {
                commit::export(&images, &containers, &a.container, w)
            })?;
            Ok(0)
        }
    }
}

/// One line of `images`, under the names Docker's `images --format` uses
/// (`{{.Repository}}`, `{{.ID}}`...).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRow {
    /// The repository, `<none>` for an untagged image.
    pub repository: String,
    /// The tag, `<none>` for an untagged image.
    pub tag: String,
    /// The short id (12 hex digits).
    #[serde(rename = "ID")]
    pub id: String,
    /// How long ago it was made: `2 weeks ago`.
    pub created_since: String,
    /// When it was made: `2024-05-01 12:34:56 +0000 UTC`.
    pub created_at: String,
    /// Its size on disk, as Docker writes sizes.
    pub size: String,
}

/// Every image, once per tag, then the untagged ones.
pub fn image_rows(images: &ImageStore) -> Result<Vec<ImageRow>> {
    let repos = images.repositories()?;
    let mut rows = Vec::new();
    let mut tagged = std::collections::HashSet::new();
    let row = |repo: &str, tag: &str, image: &crate::images::Image| {
        let created = image.config.created.as_deref();
        ImageRow {
            repository: repo.to_string(),
            tag: tag.to_string(),
            id: image.id.short().to_string(),
            created_since: created.map_or("N/A".to_string(), clock::ago),
            created_at: created.map_or(String::new(), go_time),
            size: human_size(images.size(image)),
        }
    };
    for (key, id) in &repos {
        let Ok(image) = images.get(id) else { continue };
        let (repo, tag) = key.rsplit_once(':').unwrap_or((key, "latest"));
        tagged.insert(id.clone());
        rows.push(row(repo, tag, &image));
    }
    for id in images.ids()? {
        if !tagged.contains(&id) {
            if let Ok(image) = images.get(&id) {
                rows.push(row("<none>", "<none>", &image));
            }
        }
    }
    Ok(rows)
}

/// A time as Go prints it by default, which Docker's `CreatedAt` fields
/// are: `2024-05-01 12:34:56 +0000 UTC`.
pub fn go_time(rfc3339: &str) -> String {
    match clock::parse_rfc3339(rfc3339) {
        Some(secs) => {
            let text = clock::format_rfc3339(secs, 0);
            let text = text.trim_end_matches('Z').replacen('T', " ", 1);
            format!("{text} +0000 UTC")
        }
        None => rfc3339.to_string(),
    }
}

/// `images`: Docker's table (with `quiet`, only the ids: one per line of
/// the table, so an image with two tags is listed twice, as in Docker).
pub fn list_images(images: &ImageStore, quiet: bool) -> Result<()> {
    let rows = image_rows(images)?;
    let mut out = std::io::stdout().lock();
    if quiet {
        for row in &rows {
            writeln!(out, "{}", row.id).context("write to stdout")?;
        }
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| vec![r.repository, r.tag, r.id, r.created_since, r.size])
        .collect();
    let header = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
    write_table(&mut out, &header, &table)
}

/// Runs `body` with FILE (written to a temporary file and renamed, so a
/// failure leaves no half file) or with standard output, which must not be
/// a terminal: a tar is not for reading on a screen.
pub fn write_output(
    path: Option<&Path>,
    body: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    match path {
        Some(p) => storage::write_atomic_with(p, Durability::Durable, |f| {
            let mut w = BufWriter::with_capacity(1 << 20, f);
            body(&mut w)?;
            w.flush().with_context(|| format!("write {}", p.display()))
        }),
        None => {
            if std::io::stdout().is_terminal() {
                bail!("refusing to write a tar to a terminal: use -o FILE or redirect the output");
            }
            let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            body(&mut w)?;
            w.flush().context("write to stdout")
        }
    }
}
