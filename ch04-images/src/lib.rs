//! Chapter 4: images, container records, and a container becoming an image.
//!
//! The modules, in the order the book tells them:
//!
//! 1. [`digest`]: content addresses (`sha256:…`).
//! 2. [`confine`] and [`unpack`]: unpacking an untrusted tar without letting
//!    it write outside its destination.
//! 3. [`whiteout`]: how a layer deletes files, in OCI's and overlayfs' terms.
//! 4. [`split`] and [`layers`]: the layer store, one directory per diff-id.
//! 5. [`images`]: image configurations, names and tags, `import`, `rmi`.
//! 6. [`archive`]: `load` and `save` in the formats Docker and podman use.
//! 7. [`tarwrite`] and [`commit`]: a container's changes as a new layer, and
//!    `export`.
//! 8. [`containers`]: ids and records of containers, with [`names`];
//!    [`process`] and [`pidfd`]: their processes, named and held so that a
//!    recycled pid cannot fool a kill;
//!    [`remove`]: `rm`, releasing what a container holds from its record.
//! 9. [`progress`]: a progress bar, only on a terminal.
//! 10. [`commands`]: the commands other than `run`, shared with chapter 6,
//!     with [`history`] and Docker's tables ([`table`]).

pub mod archive;
pub mod cli;
pub mod commands;
pub mod commit;
pub mod confine;
pub mod containers;
pub mod digest;
pub mod gc;
pub mod history;
pub mod images;
pub mod import;
pub mod layers;
pub mod names;
pub mod oci;
pub mod pidfd;
pub mod process;
pub mod progress;
pub mod reference;
pub mod remove;
pub mod run;
pub mod size;
pub mod split;
pub mod table;
pub mod tarwrite;
pub mod unpack;
pub mod whiteout;
