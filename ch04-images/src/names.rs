//! Container names: Docker's rule, and generated names.

use anyhow::{Result, bail};

// ANCHOR: names
/// Checks a container name with Docker's rule, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
/// (Docker wants at least two characters; we also accept one, because the
/// seed's own walkthrough names its container `a`.)
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        || name.len() > 253
    {
        bail!("invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    Ok(())
}
// ANCHOR_END: names

/// A Docker-style generated name, `adjective_noun`, from the id's bytes.
pub fn generate_name(id: &str) -> String {
    const ADJ: [&str; 16] = [
        "brave", "calm", "eager", "fervent", "gallant", "happy", "jolly", "keen", "lucid", "merry",
        "nimble", "quirky", "serene", "sharp", "tender", "vivid",
    ];
    const NOUN: [&str; 16] = [
        "babbage", "curie", "dijkstra", "euler", "gauss", "hopper", "kepler", "lovelace",
        "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak", "yalow",
    ];
    let b = |i: usize| usize::from_str_radix(id.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    format!("{}_{}", ADJ[b(0) % 16], NOUN[b(2) % 16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        for good in ["a", "web", "web-1", "my_app.v2", "A9"] {
            validate_name(good).unwrap();
        }
        for bad in ["", "-a", "_a", ".a", "a b", "a/b", "é", "a:b"] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
        let n = generate_name(&"ab".repeat(32));
        validate_name(&n).unwrap();
    }
}
