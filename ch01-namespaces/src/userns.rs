//! A user namespace: root inside, nobody outside (`--userns=private`).
//!
//! Every other namespace changes what a process *sees*. A user namespace
//! changes who it *is*: the kernel keeps one set of user and group ids, and a
//! user namespace is a window onto a slice of it, with its own numbering.
//! Two files, written once by a process outside, say how the numbers
//! translate:
//!
//! ```text
//! /proc/PID/uid_map    0 100000 65536    ids 0..65535 inside are 100000..165535 outside
//! /proc/PID/gid_map    0 100000 65536    the same for groups
//! ```
//!
//! Root inside (uid 0) is then uid 100000 to the host: an ordinary user that
//! owns no host file. Its capabilities count only for what the namespace
//! owns (its mounts, its hostname, its network devices); towards the host's
//! files, devices and kernel settings it is nobody. An id with no line in
//! the map does not exist inside at all (it shows as 65534, `nobody`).
//!
//! The range is the one `/etc/subuid` and `/etc/subgid` give the user
//! running mydocker (root), so no two tools hand out the same host ids.
//! Docker spells this `dockerd --userns-remap`, a setting of its daemon for
//! every container; mydocker has no daemon, so it is a flag of `run`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::unistd::{Gid, Pid, Uid};
use serde::{Deserialize, Serialize};

/// The most ids a container gets: 65536, Docker's and podman's size, enough
/// for every id an image uses (`nobody` is 65534).
pub const MAX_IDS: u32 = 65536;

/// The files that give each user their host ids.
pub const SUBUID: &str = "/etc/subuid";
/// ... and their host groups.
pub const SUBGID: &str = "/etc/subgid";

// ANCHOR: idmap
/// Where a container's ids land on the host: inside ids `0..size` are host
/// uids `uid..uid+size` and host gids `gid..gid+size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    /// The host uid of root inside.
    pub uid: u32,
    /// The host gid of root's group inside.
    pub gid: u32,
    /// How many ids are mapped, from 0.
    pub size: u32,
}
// ANCHOR_END: idmap

impl IdMap {
    /// What `--userns` asks for: `host` (the default: no user namespace)
    /// or `private` (a namespace mapped to this user's subordinate ids).
    pub fn from_flag(value: Option<&str>) -> Result<Option<IdMap>> {
        match value {
            None | Some("host" | "") => Ok(None),
            Some("private") => {
                IdMap::for_current_user(Path::new(SUBUID), Path::new(SUBGID)).map(Some)
            }
            Some(other) => bail!("invalid --userns {other:?}: mydocker knows host and private"),
        }
    }

    /// The range of the user running mydocker in `subuid` and `subgid`.
    pub fn for_current_user(subuid: &Path, subgid: &Path) -> Result<IdMap> {
        let uid = nix::unistd::geteuid();
        let name = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |u| u.name);
        let (uid_start, uid_count) = range_in(subuid, &name, uid.as_raw())?;
        let (gid_start, gid_count) = range_in(subgid, &name, uid.as_raw())?;
        Ok(IdMap {
            uid: uid_start,
            gid: gid_start,
            size: uid_count.min(gid_count).min(MAX_IDS),
        })
    }

    /// The host uid of `inside`, or `inside` itself beyond the map (the
    /// kernel then shows it as nobody).
    pub fn host_uid(&self, inside: u32) -> u32 {
        if inside < self.size {
            self.uid + inside
        } else {
            inside
        }
    }

    /// The host gid of `inside`, as [`IdMap::host_uid`].
    pub fn host_gid(&self, inside: u32) -> u32 {
        if inside < self.size {
            self.gid + inside
        } else {
            inside
        }
    }
}

// ANCHOR: subid
/// The first range of `user` (by name or by number) in a subordinate-id
/// file: lines `NAME:START:COUNT`, as `usermod --add-subuids` writes them.
fn range_in(file: &Path, user: &str, uid: u32) -> Result<(u32, u32)> {
    let missing = || {
        anyhow::anyhow!(
            "--userns=private: no range for {user} in {}; add one with \
             `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}`",
            file.display()
        )
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(err) => return Err(err).with_context(|| format!("read {}", file.display())),
    };
    parse_range(&text, user, uid).ok_or_else(missing)
}

/// The first valid `START:COUNT` of `user` in the text of a subid file.
pub fn parse_range(text: &str, user: &str, uid: u32) -> Option<(u32, u32)> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let (who, start, count) = (fields.next()?, fields.next()?, fields.next()?);
        if who != user && who != uid.to_string() {
            return None;
        }
        let start: u32 = start.parse().ok()?;
        let count: u32 = count.parse().ok()?;
        // Host root's own ids must never be handed to a container.
        (start > 0 && count > 0 && start.checked_add(count).is_some()).then_some((start, count))
    })
}
// ANCHOR_END: subid

// ANCHOR: write_maps
/// In the parent, while the child waits: the child's uid and gid maps.
///
/// Each file is written once, in one `write(2)`, by a process with
/// `CAP_SETUID` (`CAP_SETGID`) over the parent namespace: host root may map
/// any range. Until then the child is nobody in its own namespace.
pub fn write_maps(pid: Pid, map: &IdMap) -> Result<()> {
    for (file, start) in [("uid_map", map.uid), ("gid_map", map.gid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, format!("0 {start} {}\n", map.size))
            .with_context(|| format!("write {path}"))?;
    }
    Ok(())
}
// ANCHOR_END: write_maps

// ANCHOR: become_root
/// In the child, once the maps are written, before anything else: become
/// root of the namespace.
///
/// `clone` does not change a process's ids: the child is still host root,
/// which the new map does not contain, so inside it is nobody (with every
/// capability of the namespace, for now). `setresuid(0)` makes it the
/// namespace's root, host uid 100000, and the capability rules keep its
/// capabilities because it becomes uid 0 of its namespace. The groups go
/// first (changing groups needs the uid that still may), and the host
/// root's supplementary groups are dropped: they would otherwise follow it
/// inside as groups it cannot even name.
pub fn become_root() -> Result<()> {
    let root_gid = Gid::from_raw(0);
    nix::unistd::setresgid(root_gid, root_gid, root_gid)
        .context("setresgid 0 in the user namespace")?;
    nix::unistd::setgroups(&[]).context("setgroups [] in the user namespace")?;
    let root = Uid::from_raw(0);
    nix::unistd::setresuid(root, root, root).context("setresuid 0 in the user namespace")
}
// ANCHOR_END: become_root

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_number() {
        let text = "alice:200000:65536\n# comment\nroot:100000:65536\n0:300000:10\n";
        assert_eq!(parse_range(text, "root", 0), Some((100000, 65536)));
        assert_eq!(parse_range("0:300000:10\n", "root", 0), Some((300000, 10)));
        assert_eq!(parse_range(text, "bob", 1001), None);
        // Ranges that start at host root or overflow are no ranges.
        assert_eq!(parse_range("root:0:65536\n", "root", 0), None);
        assert_eq!(parse_range("root:4294967295:2\n", "root", 0), None);
        assert_eq!(parse_range("root:x:2\n", "root", 0), None);
    }

    #[test]
    fn the_map_is_capped_and_translates_ids() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("subid");
        let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .unwrap()
            .name;
        std::fs::write(&file, format!("{user}:100000:1000000\n")).unwrap();
        let map = IdMap::for_current_user(&file, &file).unwrap();
        assert_eq!(
            map,
            IdMap {
                uid: 100000,
                gid: 100000,
                size: 65536
            }
        );
        assert_eq!(map.host_uid(0), 100000);
        assert_eq!(map.host_gid(65534), 165534);
        assert_eq!(map.host_uid(70000), 70000);
    }

    #[test]
    fn a_missing_range_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("subuid");
        for text in [None, Some("someone-else:100000:65536\n")] {
            if let Some(text) = text {
                std::fs::write(&file, text).unwrap();
            }
            let err = IdMap::for_current_user(&file, &file)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&*file.to_string_lossy()), "{err}");
            assert!(err.contains("usermod --add-subuids 100000-165535"), "{err}");
        }
    }
}
