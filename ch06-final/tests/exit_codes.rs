//! Docker's exit codes outside `run`, privileged: a failed `rm`, `start`,
//! `stop`, `logs`, `inspect`, `exec`, `rmi` or `tag` exits 1 with one line on
//! stderr; `rm -f` of nothing is not an error; `exec -w` into a directory
//! that is not there is 126; a bad flag is 125 for every command, as
//! Docker's command line says it.

mod common;

use common::{Env, outcome};

#[test]
fn commands_other_than_run_fail_with_one() {
    if !testkit::require_root("commands_other_than_run_fail_with_one") {
        return;
    }
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "up", "busybox", "sleep", "60"]);
    env.ok(&["run", "--name", "down", "busybox", "true"]);

    let (code, _, err) = outcome(&env, &["rm", "up"]);
    assert_eq!(code, Some(1), "rm of a running container: {err}");
    assert!(err.contains("stop it first"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    for args in [
        &["rm", "nothing"][..],
        &["start", "nothing"],
        &["stop", "nothing"],
        &["logs", "nothing"],
        &["exec", "nothing", "true"],
    ] {
        let (code, _, err) = outcome(&env, args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains("no such container: nothing"),
            "{args:?}: {err}"
        );
    }
    let (code, out, err) = outcome(&env, &["inspect", "nothing"]);
    assert_eq!((code, out.trim()), (Some(1), "[]"), "{err}");
    assert!(err.contains("no such object: nothing"), "{err}");
    for args in [&["rmi", "nothing"][..], &["tag", "nothing", "other"]] {
        let (code, _, err) = outcome(&env, args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
    }

    let (code, out, err) = outcome(&env, &["exec", "down", "true"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("is not running"), "{err}");

    // rm -f of something that is not there: done, silently; of a mix, the
    // rest is removed and only their names printed.
    let (code, out, err) = outcome(&env, &["rm", "-f", "nothing", "down"]);
    assert_eq!((code, out.as_str()), (Some(0), "down\n"), "{err}");

    let (code, _, err) = outcome(&env, &["exec", "-w", "/no/such/dir", "up", "true"]);
    assert_eq!(code, Some(126), "{err}");
    assert!(err.contains("chdir to /no/such/dir"), "{err}");

    // A bad flag is the command line's error: 125, for rm as for run.
    assert_eq!(outcome(&env, &["rm", "--no-such-flag", "up"]).0, Some(125));
    assert_eq!(
        outcome(&env, &["run", "--no-such-flag", "busybox"]).0,
        Some(125)
    );
}
