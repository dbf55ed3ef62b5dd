//! A case and the context it runs in.

use std::{
    future::Future,
    path::Path,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::{
    Result,
    check::CaseError,
    fault::{exec::ExecutedSchedule, schedule::Schedule},
    images::ImageSet,
    runtime::{Container, ContainerSpec, Engine, Network, NetworkSpec, RunId, cleanup},
    timeline::{RunEvent, Timeline},
};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The body of a case.
pub type CaseFn = Arc<dyn Fn(CaseCtx) -> BoxFuture<Result<(), CaseError>> + Send + Sync>;

/// One check of a suite.
#[derive(Clone)]
pub struct Case {
    /// Stable, hierarchical name: `<suite>::<area>::<what_it_asserts>`.
    pub name: String,
    /// Suite it belongs to.
    pub suite: String,
    /// One sentence: what the case asserts.
    pub summary: String,
    /// What the negative control breaks on purpose (the case must then fail). `None` only for
    /// cases that cannot have one, which the README lists.
    pub control: Option<String>,
    /// Image recipes it needs (checked before any case runs).
    pub images: Vec<String>,
    /// Time budget; past it the case is an error.
    pub timeout: Duration,
    /// Part of the fast `smoke` subset (every case is part of `conformance`).
    pub smoke: bool,
    /// Where the behaviour it asserts is documented or tested upstream (a file of the
    /// component's repository, a conformance test's name, a docs page), for the README's list.
    pub source: Option<String>,
    /// The body.
    pub run: CaseFn,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl Case {
    /// A case named `suite::rest` running `body`.
    pub fn new<F, Fut>(name: &str, summary: &str, body: F) -> Self
    where
        F: Fn(CaseCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), CaseError>> + Send + 'static,
    {
        Self {
            name: name.to_owned(),
            suite: name.split("::").next().unwrap_or(name).to_owned(),
            summary: summary.to_owned(),
            control: None,
            images: Vec::new(),
            timeout: Duration::from_secs(600),
            smoke: false,
            source: None,
            run: Arc::new(move |ctx| Box::pin(body(ctx))),
        }
    }

    /// Declares the negative control.
    pub fn control(mut self, what_breaks: &str) -> Self {
        self.control = Some(what_breaks.to_owned());
        self
    }

    /// Declares the images the case needs.
    pub fn images(mut self, names: &[&str]) -> Self {
        self.images = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets the time budget.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Puts the case in the fast `smoke` subset.
    pub fn smoke(mut self) -> Self {
        self.smoke = true;
        self
    }

    /// Names where the behaviour it asserts is documented upstream.
    pub fn source(mut self, source: &str) -> Self {
        self.source = Some(source.to_owned());
        self
    }
}

/// What a running case can reach: Docker, its images, its random generator and the timeline.
/// Everything it starts is labelled with the run and the case, and removed when it ends.
#[derive(Clone)]
pub struct CaseCtx {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    slug: String,
    engine: Engine,
    run: RunId,
    images: ImageSet,
    timeline: Timeline,
    negative_control: bool,
    rng: Mutex<ChaCha8Rng>,
    containers: Mutex<Vec<Arc<Container>>>,
    labels: Vec<(String, String)>,
    schedule_input: Option<ScheduleInput>,
    executed: Mutex<Option<ExecutedSchedule>>,
    component_defaults: bool,
}

/// Where a case that runs a fault schedule takes it from, when not from the seed.
#[derive(Debug, Clone)]
pub enum ScheduleInput {
    /// A scenario file (`ordeal run --scenario FILE`).
    Scenario(Schedule),
    /// The schedule a recorded run executed, its resolved nodes pinned (`ordeal replay`).
    Replay(ExecutedSchedule),
}

impl CaseCtx {
    /// A context for case `name`.
    pub fn new(
        name: &str,
        engine: Engine,
        run: RunId,
        images: ImageSet,
        timeline: Timeline,
        rng: ChaCha8Rng,
        negative_control: bool,
    ) -> Self {
        let slug = name.replace("::", ".");
        Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                slug,
                engine,
                run,
                images,
                timeline,
                negative_control,
                rng: Mutex::new(rng),
                containers: Mutex::default(),
                labels: Vec::new(),
                schedule_input: None,
                executed: Mutex::default(),
                component_defaults: false,
            }),
        }
    }

    /// Adds `labels` to every object this context creates from now on (e.g. `ordeal.keep`);
    /// they override the default labels of the same name.
    ///
    /// # Panics
    /// If the context was already cloned: labels are set right after [`Self::new`].
    #[must_use]
    pub fn with_labels(mut self, labels: Vec<(String, String)>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_labels on a context that is not shared yet")
            .labels
            .extend(labels);
        self
    }

    /// Runs the clusters at their components' default timings (the `conformance` profile)
    /// instead of the fast ones a case asks for.
    ///
    /// # Panics
    /// If the context was already cloned: it is set right after [`Self::new`].
    #[must_use]
    pub fn with_component_defaults(mut self, defaults: bool) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_component_defaults on a context that is not shared yet")
            .component_defaults = defaults;
        self
    }

    /// Whether clusters run at their components' default timings: a cluster then ignores the
    /// fast timings a case asks for (Kubernetes node monitoring, Mesos agent pings), and every
    /// window is computed from the live flags as always.
    pub fn component_defaults(&self) -> bool {
        self.inner.component_defaults
    }

    /// Gives the case a schedule to run instead of the one its seed would draw.
    ///
    /// # Panics
    /// If the context was already cloned: the input is set right after [`Self::new`].
    #[must_use]
    pub fn with_schedule(mut self, input: Option<ScheduleInput>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_schedule on a context that is not shared yet")
            .schedule_input = input;
        self
    }

    /// The schedule given to this case (scenario file or replay), if any.
    pub fn schedule_input(&self) -> Option<&ScheduleInput> {
        self.inner.schedule_input.as_ref()
    }

    /// Records the schedule the case executed: `run.json` stores it with the case, and
    /// `ordeal replay` runs it again.
    pub fn record_schedule(&self, schedule: ExecutedSchedule) {
        *self.inner.executed.lock().expect("schedule lock") = Some(schedule);
    }

    /// The schedule recorded with [`Self::record_schedule`], if any.
    pub fn recorded_schedule(&self) -> Option<ExecutedSchedule> {
        self.inner.executed.lock().expect("schedule lock").clone()
    }

    /// The run this context belongs to.
    pub fn run_id(&self) -> &RunId {
        &self.inner.run
    }

    /// Lets every container started so far outlive this process: their guards are leaked on
    /// purpose, so no destructor removes them (`ordeal up --keep`; removal is then by label).
    pub fn keep_containers(&self) {
        for c in std::mem::take(&mut *self.inner.containers.lock().expect("containers lock")) {
            std::mem::forget(c);
        }
    }

    /// Removes every container this context started, then everything labelled with its case.
    pub async fn remove_all(&self) {
        self.finish(false, Path::new("")).await;
    }

    /// The case name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether this is the negative-control run: the case must skip or neutralise the effect
    /// it checks for (its [`Case::control`]), so its check is expected to fail.
    pub fn negative_control(&self) -> bool {
        self.inner.negative_control
    }

    /// The Docker engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The image reference for recipe `name` (or the user's override).
    pub fn image(&self, name: &str) -> Result<String> {
        self.inner.images.get(name)
    }

    /// A random u64 from the case's seeded generator.
    pub fn random_u64(&self) -> u64 {
        self.inner.rng.lock().expect("rng lock").random()
    }

    /// A random token (16 hex digits) from the case's seeded generator.
    pub fn token(&self) -> String {
        format!("{:016x}", self.random_u64())
    }

    /// Records a step in the timeline.
    pub fn step(&self, message: impl Into<String>) {
        self.record(RunEvent::Step {
            message: message.into(),
        });
    }

    /// Records a fault injection.
    pub fn fault_injected(&self, fault: &str, target: &str) {
        self.record(RunEvent::FaultInjected {
            fault: fault.into(),
            target: target.into(),
        });
    }

    /// Records a heal.
    pub fn fault_healed(&self, fault: &str, target: &str) {
        self.record(RunEvent::FaultHealed {
            fault: fault.into(),
            target: target.into(),
        });
    }

    /// Records a check that held.
    pub fn check_passed(&self, what: &str) {
        self.record(RunEvent::CheckPassed { what: what.into() });
    }

    pub(crate) fn record(&self, event: RunEvent) {
        self.inner.timeline.record(&self.inner.name, event);
    }

    /// Network faults for this case's containers, through helpers built from the
    /// `fault-helper` image (which the case must list in its images).
    pub fn net_faults(&self) -> Result<crate::fault::NetFaults> {
        Ok(crate::fault::NetFaults::new(
            self.inner.engine.clone(),
            self.inner.run.clone(),
            self.image("fault-helper")?,
        ))
    }

    /// Process faults (SIGKILL of one process, held until healed) for this case's containers,
    /// through helpers built from the `fault-helper` image (which the case must list).
    pub fn process_faults(&self) -> Result<crate::fault::ProcessFaults> {
        Ok(crate::fault::ProcessFaults::new(
            self.inner.engine.clone(),
            self.inner.run.clone(),
            self.image("fault-helper")?,
        ))
    }

    /// Creates a network for this case (`--internal` if `internal`).
    pub async fn network(&self, name: &str, internal: bool) -> Result<Network> {
        let spec = NetworkSpec {
            name: format!("{}-{name}", self.inner.slug),
            internal,
            case: Some(self.inner.name.clone()),
            labels: self.inner.labels.clone(),
        };
        let net = Network::create(&self.inner.engine, &self.inner.run, &spec).await?;
        self.step(format!("network {} created ({}/24)", net.name, net.subnet));
        Ok(net)
    }

    /// Starts a container for this case.
    pub async fn start(&self, spec: ContainerSpec) -> Result<Arc<Container>> {
        let mut spec = spec.case(self.inner.name.clone());
        spec.labels.extend(self.inner.labels.iter().cloned());
        let short = spec.name.clone();
        spec.name = format!("{}-{short}", self.inner.slug);
        spec.hostname.get_or_insert(short.clone());
        let container = Arc::new(spec.start(&self.inner.engine, &self.inner.run).await?);
        self.record(RunEvent::ContainerStarted {
            name: short,
            image: spec.image.clone(),
        });
        self.inner
            .containers
            .lock()
            .expect("containers lock")
            .push(container.clone());
        Ok(container)
    }

    /// Ends the case: on failure saves every container's log under `logs_dir`, then removes
    /// everything labelled with this case. Returns the paths of the saved logs.
    pub(crate) async fn finish(&self, failed: bool, logs_dir: &Path) -> Vec<String> {
        let containers: Vec<Arc<Container>> =
            std::mem::take(&mut *self.inner.containers.lock().expect("containers lock"));
        let mut saved = Vec::new();
        if failed && !containers.is_empty() {
            let dir = logs_dir.join(&self.inner.slug);
            if std::fs::create_dir_all(&dir).is_ok() {
                for c in &containers {
                    let text = c
                        .logs(5000)
                        .await
                        .unwrap_or_else(|e| format!("(logs unavailable: {e})\n"));
                    let short = c
                        .name()
                        .strip_prefix(&format!("{}-", self.inner.slug))
                        .unwrap_or(c.name());
                    let path = dir.join(format!("{short}.log"));
                    if std::fs::write(&path, text).is_ok() {
                        saved.push(path.display().to_string());
                    }
                }
            }
        }
        for c in containers {
            match Arc::try_unwrap(c) {
                Ok(c) => {
                    if let Err(e) = c.remove().await {
                        tracing::warn!(case = %self.inner.name, "{e}");
                    }
                }
                Err(shared) => tracing::debug!(
                    container = shared.docker_name(),
                    "still shared; removed by label"
                ),
            }
        }
        if let Err(e) =
            cleanup::remove_run(&self.inner.engine, &self.inner.run, Some(&self.inner.name)).await
        {
            tracing::warn!(case = %self.inner.name, "{e}");
        }
        saved
    }
}
