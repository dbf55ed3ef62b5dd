//! SIGKILL of one process inside a container, kept dead until the heal.

use std::sync::{
    Arc,
    atomic::{AtomicU32, Ordering},
};

use super::{
    helper::{Helpers, Shared},
    schedule::check_process_name,
};
use crate::{
    Error, Result,
    runtime::{Container, Engine, RunId},
};

/// Kills processes inside containers of one run, from helpers sharing their PID namespace.
#[derive(Clone)]
pub struct ProcessFaults {
    helpers: Helpers,
    next_id: Arc<AtomicU32>,
}

/// One process kill, held until healed.
#[derive(Debug)]
pub struct ProcessFault {
    id: String,
    /// What it is (`kill-process httpd in n1`).
    pub description: String,
    /// The pids killed at injection, as the target's PID namespace numbers them.
    pub killed: Vec<u32>,
    target: Arc<Container>,
    helper: Arc<Container>,
    healed: bool,
}

/// The script (bash) that holds a process dead: `$1` the name, `$2` the file of stopped
/// supervisors, `$3` the pids killed at injection (still dying: not respawns). Every 10 ms, a
/// live process of that name outside the helper's own cgroup is SIGKILLed, and, being a
/// respawn, its parent (the supervisor that started it again) is stopped with SIGSTOP unless it
/// is PID 1. It forks nothing while there is nothing to kill (bash builtins read `/proc`, and
/// `read -t` on an idle pipe is its sleep): about 2% of a core, where `pgrep` and `sleep` every
/// 10 ms took 25%.
const HOLD: &str = r#"N="$1"; held="$2"; initial=" $3 "; read -r me < /proc/self/cgroup
exec 3<> <(:)
while :; do
  for f in /proc/[0-9]*/comm; do
    read -r c < "$f" 2>/dev/null || continue
    [ "$c" = "$N" ] || continue
    p=${f#/proc/}; p=${p%/comm}
    case "$initial" in *" $p "*) continue ;; esac
    read -r st < "/proc/$p/stat" 2>/dev/null || continue
    set -- ${st##*) }
    [ "$1" = Z ] && continue
    read -r cg < "/proc/$p/cgroup" 2>/dev/null || continue
    [ "$cg" = "$me" ] && continue
    kill -9 "$p" 2>/dev/null
    echo "respawn $p parent $2" >> "$held.log"
    if [ "$2" != 1 ] && [ "$2" != 0 ] && kill -STOP "$2" 2>/dev/null; then echo "$2" >> "$held"; fi
  done
  read -t 0.01 -u 3 || true
done"#;

/// Ends the holds of `$@` (fault ids; none: every hold in the helper): stops their loops and
/// resumes the supervisors they stopped. The heal runs it for one fault; a PID helper carries it
/// for all as its [`crate::runtime::labels::ON_REMOVE`] script, so removing the helper of a run
/// that died mid-hold (`ordeal clean`) resumes them too.
pub(crate) const RELEASE: &str = r#"[ $# -gt 0 ] || set -- $(ls /tmp/ | sed -n 's/^ordeal-hold-\(.*\)\.sh$/\1/p')
for id in "$@"; do
  pkill -9 -f "^bash /tmp/ordeal-hold-$id\.sh "
  for p in $(sort -u "/tmp/ordeal-hold-$id.held" 2>/dev/null); do kill -CONT "$p" 2>/dev/null; done
  rm -f "/tmp/ordeal-hold-$id.held"
done
true"#;

impl ProcessFaults {
    /// Process faults for run `run`, with helpers from `helper_image` (ordeal's `fault-helper`:
    /// procps).
    pub fn new(engine: Engine, run: RunId, helper_image: String) -> Self {
        Self {
            helpers: Helpers::new(engine, run, helper_image),
            next_id: Arc::default(),
        }
    }

    /// SIGKILLs every process named `name` (as `ps -o comm` shows it, like `pkill -x`) in
    /// `target`'s PID namespace, and keeps it dead until [`Self::heal`]: a process of that
    /// name that starts again is killed within about 10 ms, and its parent, which restarted
    /// it (a supervisor), is stopped (SIGSTOP) so that it restarts nothing more; a supervisor
    /// that is the container's PID 1 cannot be stopped from inside, so its restarts are only
    /// killed on sight, each living up to about 10 ms.
    ///
    /// Fails, killing nothing, if no such process runs or if one of them is the container's
    /// main process (PID 1): the kernel drops a SIGKILL sent to a namespace's init from
    /// inside it; kill the container instead.
    pub async fn kill_process(&self, target: &Arc<Container>, name: &str) -> Result<ProcessFault> {
        check_process_name(name).map_err(Error::usage)?;
        let id = format!("process{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let helper = self.helpers.get(target, Shared::Pid).await?;
        // Found, checked and killed in one exec; the helper's own processes are left out by
        // their cgroup.
        let kill = format!(
            r#"me=$(cat /proc/self/cgroup); pids=""
for p in $(pgrep -x '{name}'); do
  [ "$(cat /proc/$p/cgroup 2>/dev/null)" = "$me" ] && continue
  [ "$p" = 1 ] && exit 3
  pids="$pids $p"
done
[ -n "$pids" ] || exit 4
kill -9 $pids 2>/dev/null; echo $pids"#
        );
        let out = helper.sh(&kill).await?;
        let who = target.docker_name();
        match out.code {
            0 => {}
            3 => {
                return Err(Error::usage(format!(
                    "`{name}` is the main process (PID 1) of `{who}`, which cannot be killed alone (hint: kill the container: kind `kill`)"
                )));
            }
            4 => {
                return Err(Error::usage(format!(
                    "no process named `{name}` runs in `{who}` (hint: the name as `ps -o comm` shows it)"
                )));
            }
            _ => {
                return Err(Error::infra(format!(
                    "failed to kill `{name}` in `{who}`: {}",
                    out.summary()
                )));
            }
        }
        let killed: Vec<u32> = out
            .stdout
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        let pids = killed
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let script = format!("/tmp/ordeal-hold-{id}.sh");
        let start = format!(
            "cat > {script} <<'ORDEAL_HOLD'\n{HOLD}\nORDEAL_HOLD\n\
             nohup bash {script} '{name}' /tmp/ordeal-hold-{id}.held '{pids}' >/dev/null 2>&1 &"
        );
        let out = helper.sh(&start).await?;
        let fault = ProcessFault {
            description: format!("kill-process {name} in {} (pids {pids})", target.name()),
            id,
            killed,
            target: target.clone(),
            helper,
            healed: false,
        };
        if !out.success() {
            return Err(Error::infra(format!(
                "killed `{name}` in `{who}` but could not hold it dead: {}",
                out.summary()
            )));
        }
        Ok(fault)
    }

    /// Stops holding the process dead and resumes the supervisors stopped meanwhile, which then
    /// start it again; a process without a supervisor stays dead. Healing again, or a target
    /// that is gone, is not an error.
    pub async fn heal(&self, fault: &mut ProcessFault) -> Result<()> {
        let release = fault
            .helper
            .exec(["sh", "-c", RELEASE, "release", fault.id.as_str()])
            .await;
        match release {
            Ok(o) if o.success() => {}
            Ok(o) => {
                return Err(Error::infra(format!(
                    "failed to end {} in `{}`: {}",
                    fault.description,
                    fault.target.docker_name(),
                    o.summary()
                )));
            }
            // The target is gone: its PID namespace, and the helper in it, with it.
            Err(_)
                if !fault
                    .target
                    .state()
                    .await
                    .map(|(running, _)| running)
                    .unwrap_or(false) => {}
            Err(e) => return Err(e),
        }
        fault.healed = true;
        Ok(())
    }

    /// The supervisors stopped so far (pids in the target's namespace): parents that started
    /// the process again while it was held.
    pub async fn stopped_supervisors(&self, fault: &ProcessFault) -> Result<Vec<u32>> {
        let out = fault
            .helper
            .sh(&format!(
                "sort -u /tmp/ordeal-hold-{}.held 2>/dev/null; true",
                fault.id
            ))
            .await?;
        Ok(out
            .stdout
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect())
    }
}

impl ProcessFaults {
    /// How many restarts of the process the hold has killed so far.
    pub async fn restarts_killed(&self, fault: &ProcessFault) -> Result<usize> {
        let out = fault
            .helper
            .sh(&format!(
                "cat /tmp/ordeal-hold-{}.held.log 2>/dev/null | wc -l",
                fault.id
            ))
            .await?;
        Ok(out.stdout.trim().parse().unwrap_or(0))
    }
}

impl ProcessFault {
    /// The fault's id within the run.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether it was healed.
    pub fn is_healed(&self) -> bool {
        self.healed
    }
}
