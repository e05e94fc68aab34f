//! `inspect`: a container, an image or a network as JSON, in an array as
//! Docker prints it, with Docker's field names where there is one.

use std::path::Path;

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use ch02_cgroups::limits::{CPU_PERIOD_US, MemorySwap};
use ch04_images::containers::{ContainerStore, Record, Status};
use ch04_images::images::ImageStore;
use ch05_network::Attachment;
use ch05_network::ports::PortMapping;
use ch05_network::state::Store;

use crate::logfile;
use crate::ps::state;
use crate::state::Runtime;
use crate::template::Template;

// ANCHOR: inspect
/// The JSON of every name, looked up as a container, then an image, then a
/// network; with `format` (`-f`), that template's text for each, one per
/// line. A name that is none of them is an error after the others are
/// printed, as in Docker.
pub fn inspect(root: &Path, names: &[String], format: Option<&str>) -> Result<()> {
    // A bad template is refused before anything is looked up.
    let template = format.map(Template::parse).transpose()?;
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
    match template {
        Some(template) => {
            for object in &found {
                writeln!(out, "{}", template.render(object)?).context("write to stdout")?;
            }
        }
        None => {
            writeln!(out, "{}", serde_json::to_string_pretty(&found)?)
                .context("write to stdout")?;
        }
    }
    if !missing.is_empty() {
        bail!("no such object: {}", missing.join(", "));
    }
    Ok(())
}
// ANCHOR_END: inspect

/// A container in Docker 20.10's shape: `State`, `Config`, `HostConfig`,
/// `Mounts`, `NetworkSettings`; what only mydocker knows (its supervisor,
/// its limits as the record keeps them) sits in top-level keys Docker does
/// not use.
fn container(store: &ContainerStore, root: &Path, record: &Record) -> Result<Value> {
    let runtime = record.part::<Runtime>()?;
    let attachment = record.part::<Attachment>()?;
    let state = state(record);
    let running = record.live_process();
    let paused = crate::pause::is_paused(record);
    let dir = store.dir_of(&record.id);
    let networks = Store::new(root);
    let (endpoint, network) = match networks.exists() {
        true => match networks.lock() {
            Ok(locked) => {
                let endpoint = locked.endpoint(&record.id).ok().flatten();
                let network = endpoint
                    .as_ref()
                    .and_then(|e| locked.network(&e.network).ok().flatten());
                (endpoint, network)
            }
            Err(_) => (None, None),
        },
        false => (None, None),
    };
    let ports = attachment.as_ref().map_or(&[][..], |a| &a.ports[..]);
    let status = match (paused, state.status) {
        (true, _) => "paused".to_string(),
        (false, status) => status.to_string(),
    };
    Ok(json!({
        "Id": record.id,
        // Docker's names start with a slash (a legacy of linked containers).
        "Name": format!("/{}", record.name),
        "Created": record.created,
        "Path": record.command.first(),
        "Args": record.command.get(1..).unwrap_or_default(),
        "Image": record.image_id.to_string(),
        "RestartCount": runtime.as_ref().map_or(0, |r| r.restart_count),
        "Driver": "overlay",
        "State": {
            "Status": status,
            "Running": running.is_some(),
            "Paused": paused,
            "Restarting": state.status == Status::Restarting,
            "OOMKilled": record.oom_killed,
            "Dead": false,
            "Pid": running.map_or(0, |p| p.pid),
            "ExitCode": state.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": record.started,
            "FinishedAt": record.finished,
        },
        "Config": {
            "Hostname": runtime.as_ref().map(|r| r.hostname.clone()),
            "Env": runtime.as_ref().map(|r| r.env.clone()),
            "Cmd": record.command,
            "Entrypoint": Value::Null,
            "Image": record.image,
            "WorkingDir": runtime.as_ref().map(|r| r.workdir.clone()),
            "Tty": runtime.as_ref().is_some_and(|r| r.tty),
            "OpenStdin": runtime.as_ref().is_some_and(|r| r.interactive),
            "Labels": {},
        },
        "HostConfig": host_config(record, runtime.as_ref(), attachment.as_ref()),
        "Mounts": mounts(record),
        "NetworkSettings": {
            "IPAddress": endpoint.as_ref().map_or(String::new(), |e| e.address.to_string()),
            "Gateway": network.as_ref().map_or(String::new(), |n| n.gateway.to_string()),
            "IPPrefixLen": network.as_ref().map_or(0, |n| n.subnet.prefix_len()),
            "MacAddress": "",
            // Docker lists the published ports only while they are live.
            "Ports": match running {
                Some(_) => port_bindings(ports, "0.0.0.0"),
                None => json!({}),
            },
            "Networks": match (&endpoint, &network) {
                (Some(e), Some(n)) => json!({ n.name.clone(): {
                    "IPAddress": e.address.to_string(),
                    "Gateway": n.gateway.to_string(),
                    "IPPrefixLen": n.subnet.prefix_len(),
                    "Aliases": attachment.as_ref().map(|a| a.aliases.clone()).unwrap_or_default(),
                    "NetworkID": n.name,
                }}),
                _ => json!({}),
            },
        },
        "LogPath": logfile::path(&dir, &record.id),
        "GraphDriver": {
            "Name": "overlay",
            "Data": {"UpperDir": dir.join("upper"), "WorkDir": dir.join("work")},
        },
        // mydocker's own: the process that reaps the container, the host
        // end of its veth, the limits as chapter 2 keeps them.
        "HostVeth": endpoint.as_ref().map(|e| e.host_veth.clone()),
        "Limits": record.resources.limits,
        "Supervisor": record.supervisor.filter(|s| s.is_alive()).map(|s| s.pid),
    }))
}

/// `HostConfig`: what `run`'s flags asked for, in Docker's units (bytes,
/// billionths of a CPU).
fn host_config(
    record: &Record,
    runtime: Option<&Runtime>,
    attachment: Option<&Attachment>,
) -> Value {
    let limits = &record.resources.limits;
    let binds: Vec<String> = record
        .mounts
        .iter()
        .map(|m| {
            let source = m
                .name
                .clone()
                .unwrap_or_else(|| m.source.display().to_string());
            let ro = if m.readonly { ":ro" } else { "" };
            format!("{source}:{}{ro}", m.target.display())
        })
        .collect();
    let network_mode = attachment
        .and_then(|a| a.network.clone())
        .unwrap_or_else(|| "none".to_string());
    let memory_swap: i64 = match limits.memory_swap {
        Some(MemorySwap::Total(n)) => n as i64,
        Some(MemorySwap::Unlimited) => -1,
        None => 0,
    };
    let list = |f: fn(&Runtime) -> &Vec<String>| runtime.map(f).filter(|l| !l.is_empty()).cloned();
    json!({
        "Binds": (!binds.is_empty()).then_some(binds),
        "NetworkMode": network_mode,
        "PortBindings": port_bindings(attachment.map_or(&[][..], |a| &a.ports[..]), ""),
        "RestartPolicy": {
            "Name": runtime.map_or("no", |r| r.restart.name()),
            "MaximumRetryCount": runtime.map_or(0, |r| r.restart.maximum_retry_count()),
        },
        "AutoRemove": runtime.is_some_and(|r| r.auto_remove),
        "Privileged": runtime.is_some_and(|r| r.privileged),
        "CapAdd": list(|r| &r.cap_add),
        "CapDrop": list(|r| &r.cap_drop),
        "SecurityOpt": list(|r| &r.security_opt),
        "ReadonlyRootfs": runtime.is_some_and(|r| r.read_only),
        "CgroupParent": record.resources.cgroup_parent,
        "Memory": limits.memory.unwrap_or(0),
        "MemorySwap": memory_swap,
        "NanoCpus": limits.cpu_quota.map_or(0, |q| q * 1_000_000_000 / CPU_PERIOD_US),
        "CpuShares": limits.cpu_shares.unwrap_or(0),
        "CpusetCpus": limits.cpuset_cpus.clone().unwrap_or_default(),
        "PidsLimit": limits.pids_max,
    })
}

/// Docker's port map: `{"80/tcp": [{"HostIp": "", "HostPort": "8888"}]}`;
/// `any` is what an unset host address reads as.
fn port_bindings(ports: &[PortMapping], any: &str) -> Value {
    let mut map = serde_json::Map::new();
    for port in ports {
        let key = format!("{}/{}", port.container_port, port.proto);
        let binding = json!({
            "HostIp": port.host_ip.map_or(any.to_string(), |ip| ip.to_string()),
            "HostPort": port.host_port.to_string(),
        });
        match map.get_mut(&key) {
            Some(Value::Array(list)) => list.push(binding),
            _ => {
                map.insert(key, json!([binding]));
            }
        }
    }
    Value::Object(map)
}

/// `Mounts`: each `-v`, a bind of a host path or a named volume.
fn mounts(record: &Record) -> Vec<Value> {
    record
        .mounts
        .iter()
        .map(|m| {
            let mut mount = json!({
                "Type": if m.name.is_some() { "volume" } else { "bind" },
                "Source": m.source,
                "Destination": m.target,
                "Mode": if m.readonly { "ro" } else { "" },
                "RW": !m.readonly,
                "Propagation": if m.name.is_some() { "" } else { "rprivate" },
            });
            if let (Some(name), Value::Object(map)) = (&m.name, &mut mount) {
                map.insert("Name".into(), json!(name));
                map.insert("Driver".into(), json!("local"));
            }
            mount
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_keyed_by_container_port_and_protocol() {
        let ports: Vec<PortMapping> = ["8888:80", "198.51.100.2:53:53/udp", "8080:80"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            port_bindings(&ports, ""),
            json!({
                "80/tcp": [{"HostIp": "", "HostPort": "8888"}, {"HostIp": "", "HostPort": "8080"}],
                "53/udp": [{"HostIp": "198.51.100.2", "HostPort": "53"}],
            })
        );
        assert_eq!(
            port_bindings(&ports[..1], "0.0.0.0")["80/tcp"][0]["HostIp"],
            "0.0.0.0"
        );
    }

    #[test]
    fn mounts_say_bind_or_volume() {
        let record: Record = serde_json::from_value(json!({
            "id": "a".repeat(64), "name": "m", "image": "busybox",
            "image_id": format!("sha256:{}", "0".repeat(64)), "command": ["true"],
            "created": "2024-01-01T00:00:00Z", "status": "created",
            "mounts": [
                {"source": "/srv", "destination": "/data", "readonly": true},
                {"source": "/v/db/_data", "name": "db", "destination": "/db"},
            ],
        }))
        .unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&mounts(&record)).unwrap(), @r#"
        [
          {
            "Destination": "/data",
            "Mode": "ro",
            "Propagation": "rprivate",
            "RW": false,
            "Source": "/srv",
            "Type": "bind"
          },
          {
            "Destination": "/db",
            "Driver": "local",
            "Mode": "",
            "Name": "db",
            "Propagation": "",
            "RW": true,
            "Source": "/v/db/_data",
            "Type": "volume"
          }
        ]
        "#);
    }
}
