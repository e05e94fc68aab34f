//! `inspect`: a container, an image or a network as JSON, in an array as
//! Docker prints it, with Docker's field names where there is one.

use std::path::Path;

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use ch04_images::containers::{ContainerStore, Record, Status};
use ch04_images::images::ImageStore;
use ch05_network::Attachment;
use ch05_network::state::Store;

use crate::logfile;
use crate::ps::state;
use crate::state::Runtime;

// ANCHOR: inspect
/// The JSON of every name, looked up as a container, then an image, then a
/// network. A name that is none of them is an error after the others are
/// printed, as in Docker.
pub fn inspect(root: &Path, names: &[String]) -> Result<()> {
    let containers = ContainerStore::new(root);
    let images = ImageStore::new(root);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        if let Ok(record) = containers.find(name) {
            found.push(container(&containers, root, &record)?);
        } else if let Some(image) = images.resolve(name).ok().flatten() {
            let mut config: Value = serde_json::from_slice(&image.raw)?;
            if let Value::Object(map) = &mut config {
                map.insert("Id".into(), json!(image.id.to_string()));
                map.insert("RepoTags".into(), json!(images.tags_of(&image.id)?));
            }
            found.push(config);
        } else if let Some(network) = network(root, name)? {
            found.push(network);
        } else {
            missing.push(name.clone());
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&found)?).context("write to stdout")?;
    if !missing.is_empty() {
        bail!("no such object: {}", missing.join(", "));
    }
    Ok(())
}
// ANCHOR_END: inspect

/// A container: its record, with chapter 5's and this chapter's parts.
fn container(store: &ContainerStore, root: &Path, record: &Record) -> Result<Value> {
    let runtime = record.part::<Runtime>()?;
    let attachment = record.part::<Attachment>()?;
    let state = state(record);
    let running = record.live_process();
    let paused = crate::pause::is_paused(record);
    let dir = store.dir_of(&record.id);
    let networks = Store::new(root);
    let endpoint = if networks.exists() {
        networks
            .lock()
            .ok()
            .and_then(|l| l.endpoint(&record.id).ok().flatten())
    } else {
        None
    };
    Ok(json!({
        "Id": record.id,
        "Name": record.name,
        "Created": record.created,
        "Path": record.command.first(),
        "Args": record.command.get(1..).unwrap_or_default(),
        "Image": record.image_id.to_string(),
        "RestartCount": runtime.as_ref().map_or(0, |r| r.restart_count),
        "State": {
            "Status": match paused {
                true => "paused".to_string(),
                false => state.status.to_string(),
            },
            "Running": running.is_some(),
            "Paused": paused,
            "Restarting": state.status == Status::Restarting,
            "OOMKilled": record.oom_killed,
            "Pid": running.map_or(0, |p| p.pid),
            "ExitCode": state.exit_code.unwrap_or(0),
            "StartedAt": record.started,
            "FinishedAt": record.finished,
        },
        "Config": {
            "Hostname": runtime.as_ref().map(|r| r.hostname.clone()),
            "Env": runtime.as_ref().map(|r| r.env.clone()),
            "Cmd": record.command,
            "Image": record.image,
            "WorkingDir": runtime.as_ref().map(|r| r.workdir.clone()),
            "Tty": runtime.as_ref().is_some_and(|r| r.tty),
        },
        "HostConfig": {
            "AutoRemove": runtime.as_ref().is_some_and(|r| r.auto_remove),
            "RestartPolicy": {
                "Name": runtime.as_ref().map_or("no", |r| r.restart.name()),
                "MaximumRetryCount": runtime.as_ref().map_or(0, |r| r.restart.maximum_retry_count()),
            },
            "CgroupParent": record.resources.cgroup_parent,
            "Limits": record.resources.limits,
            "Binds": record.mounts.iter().map(|m| format!("{}:{}{}", m.name.clone().unwrap_or_else(|| m.source.display().to_string()), m.target.display(), if m.readonly { ":ro" } else { "" })).collect::<Vec<_>>(),
        },
        "NetworkSettings": {
            "Network": attachment.as_ref().and_then(|a| a.network.clone()),
            "IPAddress": endpoint.as_ref().map(|e| e.address.to_string()),
            "Ports": attachment.as_ref().map(|a| a.ports.iter().map(ToString::to_string).collect::<Vec<_>>()),
            "HostVeth": endpoint.as_ref().map(|e| e.host_veth.clone()),
        },
        "Supervisor": record.supervisor.filter(|s| s.is_alive()).map(|s| s.pid),
        "LogPath": logfile::path(&dir, &record.id),
        "GraphDriver": {
            "Name": "overlay",
            "UpperDir": dir.join("upper"),
        },
    }))
}

/// A network and its endpoints.
fn network(root: &Path, name: &str) -> Result<Option<Value>> {
    let store = Store::new(root);
    if !store.exists() {
        return Ok(None);
    }
    let locked = store.lock()?;
    let Some(record) = locked.network(name)? else {
        return Ok(None);
    };
    let endpoints: Vec<Value> = locked
        .endpoints()?
        .into_iter()
        .filter(|e| e.network == record.name)
        .map(|e| json!({"Container": e.container_id, "IPv4Address": e.address.to_string(), "HostVeth": e.host_veth}))
        .collect();
    Ok(Some(json!({
        "Name": record.name,
        "Driver": record.driver,
        "Created": record.created,
        "IPAM": {"Config": [{"Subnet": record.subnet.to_string(), "Gateway": record.gateway.to_string()}]},
        "Bridge": record.bridge,
        "Containers": endpoints,
    })))
}
