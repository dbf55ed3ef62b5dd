//! Helper containers: they join a target's network or PID namespace, so faults work on any
//! target image (even a FROM-scratch one), with the tools of the helper image.

use std::{collections::HashMap, sync::Arc};

use tokio::sync::Mutex;

use crate::{
    Result,
    runtime::{Container, ContainerSpec, Engine, RunId, labels},
};

/// Which of the target's namespaces a helper joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shared {
    /// The network namespace (`--network container:<target>`), with NET_ADMIN and NET_RAW.
    Net,
    /// The PID namespace (`--pid container:<target>`): the target's processes are visible and
    /// can be signalled; the target's main process is PID 1 there.
    Pid,
}

/// Starts a helper from `image` (ordeal's `fault-helper`: iptables, tc, procps, ordeal-delay)
/// in run `run`, named `<name>-net` or `<name>-pid`, joining the namespace `shared` of
/// container `target` (a Docker id or name). Its labels are those of `run`: it goes with that
/// run.
pub(crate) async fn start(
    engine: &Engine,
    run: &RunId,
    image: &str,
    (target, name): (&str, &str),
    shared: Shared,
) -> Result<Container> {
    let suffix = match shared {
        Shared::Net => "net",
        Shared::Pid => "pid",
    };
    let mut spec = ContainerSpec::new(format!("{name}-{suffix}"), image, "fault-helper")
        .shell("exec sleep infinity");
    match shared {
        Shared::Net => {
            spec.network = Some(format!("container:{target}"));
            spec.cap_add = vec!["NET_ADMIN".into(), "NET_RAW".into()];
        }
        Shared::Pid => {
            spec.pid = Some(format!("container:{target}"));
            spec.labels.push((
                labels::ON_REMOVE.to_owned(),
                super::process::RELEASE.to_owned(),
            ));
        }
    }
    spec.start(engine, run).await
}

/// Started helpers by (target id, namespace).
type Started = HashMap<(String, Shared), Arc<Container>>;

/// The helpers of one run, one per target and namespace, started on first use.
#[derive(Clone)]
pub(crate) struct Helpers {
    pub(crate) engine: Engine,
    pub(crate) run: RunId,
    image: String,
    started: Arc<Mutex<Started>>,
}

impl Helpers {
    pub(crate) fn new(engine: Engine, run: RunId, image: String) -> Self {
        Self {
            engine,
            run,
            image,
            started: Arc::default(),
        }
    }

    /// The helper sharing `target`'s namespace `shared`, started on first use.
    pub(crate) async fn get(&self, target: &Container, shared: Shared) -> Result<Arc<Container>> {
        let mut started = self.started.lock().await;
        let key = (target.id().to_owned(), shared);
        if let Some(h) = started.get(&key) {
            // A PID helper dies with its target's init (a killed or restarted target): start a
            // new one in the target's new namespace.
            let alive = shared == Shared::Net || h.state().await.is_ok_and(|(running, _)| running);
            if alive {
                return Ok(h.clone());
            }
            let _ = crate::runtime::container::remove_container(&self.engine, h.id()).await;
            started.remove(&key);
        }
        let helper = Arc::new(
            start(
                &self.engine,
                &self.run,
                &self.image,
                (target.id(), target.name()),
                shared,
            )
            .await?,
        );
        started.insert(key, helper.clone());
        Ok(helper)
    }

    /// Forgets and removes the helper sharing `target`'s namespace `shared`, if there is one.
    pub(crate) async fn forget(&self, target: &Container, shared: Shared) -> Result<()> {
        let helper = self
            .started
            .lock()
            .await
            .remove(&(target.id().to_owned(), shared));
        match helper {
            Some(h) => crate::runtime::container::remove_container(&self.engine, h.id()).await,
            None => Ok(()),
        }
    }

    /// The helper already started for `target` and `shared`, if any.
    pub(crate) async fn existing(
        &self,
        target: &Container,
        shared: Shared,
    ) -> Option<Arc<Container>> {
        self.started
            .lock()
            .await
            .get(&(target.id().to_owned(), shared))
            .cloned()
    }
}
