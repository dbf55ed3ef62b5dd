//! HTTP clients for the v1 operator and scheduler APIs.

use std::{pin::Pin, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;

use super::{
    RecordIo,
    api::{
        Agent, Event, EventType, Filters, Flag, FrameworkInfo, Id, MasterInfo, TaskInfo, TaskState,
        TaskStatus,
    },
};
use crate::Error;

/// A failed Mesos API call, with what was asked and what came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MesosError {
    /// No HTTP answer (connection refused, timeout).
    #[error("failed to call {call} at {url}: {why}")]
    Unreachable {
        /// The call.
        call: String,
        /// Endpoint.
        url: String,
        /// Transport error.
        why: String,
    },
    /// This master is not the leader; `location` is where it redirects.
    #[error("{url} is not the leading master (redirects to {location})")]
    NotLeader {
        /// Endpoint.
        url: String,
        /// The redirect target, as the master wrote it.
        location: String,
    },
    /// An HTTP error status.
    #[error("{call} at {url} answered {status}: {body}")]
    Status {
        /// The call.
        call: String,
        /// Endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// Response body (trimmed).
        body: String,
    },
    /// A body that is not what the API documents.
    #[error("malformed answer to {call} from {url}: {why}")]
    Decode {
        /// The call.
        call: String,
        /// Endpoint.
        url: String,
        /// Parse error.
        why: String,
    },
}

impl From<MesosError> for Error {
    fn from(e: MesosError) -> Self {
        Error::infra(e.to_string())
    }
}

/// In a case, an API call that fails is the harness's problem, not a check's verdict.
impl From<MesosError> for crate::check::CaseError {
    fn from(e: MesosError) -> Self {
        Self::infra(e)
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .expect("a plain HTTP client always builds")
}

/// The operator API (`POST /api/v1`) of one master or agent.
#[derive(Debug, Clone)]
pub struct Operator {
    http: reqwest::Client,
    url: String,
}

#[derive(Deserialize)]
struct FlagsBody {
    #[serde(default)]
    flags: Vec<Flag>,
}
#[derive(Deserialize)]
struct MetricsBody {
    #[serde(default)]
    metrics: Vec<Metric>,
}
#[derive(Deserialize)]
struct Metric {
    name: String,
    #[serde(default)]
    value: f64,
}
#[derive(Deserialize)]
struct AgentsBody {
    #[serde(default)]
    agents: Vec<Agent>,
}
#[derive(Deserialize)]
struct MasterBody {
    master_info: MasterInfo,
}
#[derive(Deserialize)]
struct VersionBody {
    version_info: VersionInfo,
}
#[derive(Deserialize)]
struct VersionInfo {
    version: String,
}

#[derive(Deserialize)]
struct WeightsBody {
    #[serde(default)]
    weight_infos: Vec<WeightInfo>,
}
#[derive(Deserialize)]
struct QuotaBody {
    status: QuotaStatus,
}
#[derive(Deserialize)]
struct QuotaStatus {
    #[serde(default)]
    configs: Vec<QuotaConfig>,
}

/// A framework as the master lists it (`GET_FRAMEWORKS`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Framework {
    /// What it subscribed with (its id included).
    pub framework_info: FrameworkInfo,
    /// Subscribed and not torn down.
    #[serde(default)]
    pub active: bool,
    /// Its scheduler is connected.
    #[serde(default)]
    pub connected: bool,
}

/// `GET_FRAMEWORKS`, by list.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Frameworks {
    /// Subscribed frameworks.
    #[serde(default)]
    pub frameworks: Vec<Framework>,
    /// Frameworks torn down or failed over for good.
    #[serde(default)]
    pub completed_frameworks: Vec<Framework>,
}

/// `GET_STATE`: tasks, frameworks and agents in one consistent answer.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct State {
    /// As `GET_TASKS`.
    #[serde(default)]
    pub get_tasks: Tasks,
    /// As `GET_FRAMEWORKS`.
    #[serde(default)]
    pub get_frameworks: Frameworks,
    /// As `GET_AGENTS`.
    #[serde(default)]
    pub get_agents: AgentsList,
}

/// The agents of `GET_STATE`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct AgentsList {
    /// Registered agents.
    #[serde(default)]
    pub agents: Vec<Agent>,
}

/// A role's weight (`UPDATE_WEIGHTS`, `GET_WEIGHTS`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct WeightInfo {
    /// Role.
    pub role: String,
    /// Weight (default 1).
    pub weight: f64,
}

/// A role's quota (`UPDATE_QUOTA`, `GET_QUOTA`): scalar resources by name (`cpus`, `mem`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct QuotaConfig {
    /// Role.
    pub role: String,
    /// Resources the role is guaranteed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub guarantees: std::collections::BTreeMap<String, Scalar>,
    /// Resources the role may never exceed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub limits: std::collections::BTreeMap<String, Scalar>,
}

/// A scalar quantity, as quota configs carry it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, Deserialize)]
pub struct Scalar {
    /// The amount.
    pub value: f64,
}

/// A task as the master lists it (`GET_TASKS`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Task {
    /// Name.
    pub name: String,
    /// Id.
    pub task_id: Id,
    /// Agent.
    #[serde(default)]
    pub agent_id: Option<Id>,
    /// The framework that launched it.
    #[serde(default)]
    pub framework_id: Option<Id>,
    /// Latest state.
    pub state: TaskState,
}

/// `GET_TASKS`, by list.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Tasks {
    /// Active tasks.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Tasks on unreachable agents.
    #[serde(default)]
    pub unreachable_tasks: Vec<Task>,
    /// Terminal tasks.
    #[serde(default)]
    pub completed_tasks: Vec<Task>,
}

impl Operator {
    /// The operator API at `base` (`http://127.0.0.1:15050`).
    pub fn new(base: &str) -> Self {
        Self {
            http: http_client(),
            url: format!("{}/api/v1", base.trim_end_matches('/')),
        }
    }

    /// A `GET_*` call: `{"type": NAME}`, answered by `{"type": NAME, "name": T}` (the call's
    /// name in lower case holds the body).
    async fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T, MesosError> {
        self.get_with(name, json!({ "type": name })).await
    }

    /// A `GET_*` call with the body `call` (for calls whose message must be present, like
    /// `GET_METRICS`), answered as [`Self::get`] says.
    async fn get_with<T: DeserializeOwned>(
        &self,
        name: &str,
        call: serde_json::Value,
    ) -> Result<T, MesosError> {
        let text = self.call_raw(name, call).await?;
        let decode = |why: String| MesosError::Decode {
            call: name.into(),
            url: self.url.clone(),
            why,
        };
        let mut answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| decode(e.to_string()))?;
        let key = name.to_lowercase();
        let body = answer
            .get_mut(&key)
            .map(serde_json::Value::take)
            .ok_or_else(|| decode(format!("no `{key}` in the answer")))?;
        serde_json::from_value(body).map_err(|e| decode(e.to_string()))
    }

    /// A call that changes something: `{"type": NAME, "name": body}`; the answer is empty.
    async fn act(&self, name: &str, body: serde_json::Value) -> Result<(), MesosError> {
        let mut call = json!({ "type": name });
        call[name.to_lowercase()] = body;
        self.call_raw(name, call).await.map(drop)
    }

    async fn call_raw(&self, name: &str, body: serde_json::Value) -> Result<String, MesosError> {
        let resp = self
            .http
            .post(&self.url)
            .header("Accept", "application/json")
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| MesosError::Unreachable {
                call: name.into(),
                url: self.url.clone(),
                why: e.to_string(),
            })?;
        check_status(name, &self.url, resp)
            .await?
            .text()
            .await
            .map_err(|e| MesosError::Unreachable {
                call: name.into(),
                url: self.url.clone(),
                why: e.to_string(),
            })
    }

    /// The flags of the running process.
    pub async fn flags(&self) -> Result<Vec<Flag>, MesosError> {
        Ok(self.get::<FlagsBody>("GET_FLAGS").await?.flags)
    }

    /// One flag's value.
    pub async fn flag(&self, name: &str) -> Result<Option<String>, MesosError> {
        Ok(self
            .flags()
            .await?
            .into_iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value))
    }

    /// One metric of the process (`GET_METRICS`, e.g. `master/tasks_dropped`); `None` if
    /// the snapshot has no such name.
    pub async fn metric(&self, name: &str) -> Result<Option<f64>, MesosError> {
        Ok(self
            .get_with::<MetricsBody>(
                "GET_METRICS",
                json!({"type": "GET_METRICS", "get_metrics": {}}),
            )
            .await?
            .metrics
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| m.value))
    }

    /// Registered agents.
    pub async fn agents(&self) -> Result<Vec<Agent>, MesosError> {
        Ok(self.get::<AgentsBody>("GET_AGENTS").await?.agents)
    }

    /// The master answering (fails with [`MesosError::NotLeader`] on a standby).
    pub async fn master(&self) -> Result<MasterInfo, MesosError> {
        Ok(self.get::<MasterBody>("GET_MASTER").await?.master_info)
    }

    /// The Mesos version.
    pub async fn version(&self) -> Result<String, MesosError> {
        Ok(self
            .get::<VersionBody>("GET_VERSION")
            .await?
            .version_info
            .version)
    }

    /// Tasks the master knows.
    pub async fn tasks(&self) -> Result<Tasks, MesosError> {
        self.get("GET_TASKS").await
    }

    /// Frameworks the master knows.
    pub async fn frameworks(&self) -> Result<Frameworks, MesosError> {
        self.get("GET_FRAMEWORKS").await
    }

    /// Tasks, frameworks and agents in one answer.
    pub async fn state(&self) -> Result<State, MesosError> {
        self.get("GET_STATE").await
    }

    /// Sets role weights (the DRF allocator shares in their proportion).
    pub async fn update_weights(&self, weights: &[WeightInfo]) -> Result<(), MesosError> {
        self.act("UPDATE_WEIGHTS", json!({ "weight_infos": weights }))
            .await
    }

    /// Role weights set by an operator (roles left at 1 are not listed).
    pub async fn weights(&self) -> Result<Vec<WeightInfo>, MesosError> {
        Ok(self.get::<WeightsBody>("GET_WEIGHTS").await?.weight_infos)
    }

    /// Sets quota (guarantees and limits) of roles; `force` skips the master's capacity check.
    pub async fn update_quota(
        &self,
        configs: &[QuotaConfig],
        force: bool,
    ) -> Result<(), MesosError> {
        self.act(
            "UPDATE_QUOTA",
            json!({ "force": force, "quota_configs": configs }),
        )
        .await
    }

    /// Quota configs of every role that has one.
    pub async fn quota(&self) -> Result<Vec<QuotaConfig>, MesosError> {
        Ok(self.get::<QuotaBody>("GET_QUOTA").await?.status.configs)
    }

    /// Dynamically reserves `resources` (each carrying its `reservations`, innermost last) of
    /// agent `agent` (operator `RESERVE_RESOURCES`, from unreserved resources). The master
    /// applies the reservation before it answers (rescinding offers that hold the resources).
    pub async fn reserve_resources(
        &self,
        agent: &Id,
        resources: &[super::api::Resource],
    ) -> Result<(), MesosError> {
        self.act(
            "RESERVE_RESOURCES",
            json!({ "agent_id": agent, "resources": resources }),
        )
        .await
    }

    /// Tears framework `id` down (operator `TEARDOWN`): its tasks are killed and it is removed.
    pub async fn teardown(&self, id: &Id) -> Result<(), MesosError> {
        self.act("TEARDOWN", json!({ "framework_id": id })).await
    }

    /// Marks an agent gone (its tasks become TASK_GONE_BY_OPERATOR).
    pub async fn mark_agent_gone(&self, agent: &Id) -> Result<(), MesosError> {
        self.act("MARK_AGENT_GONE", json!({ "agent_id": agent }))
            .await
    }
}

async fn check_status(
    call: &str,
    url: &str,
    resp: reqwest::Response,
) -> Result<reqwest::Response, MesosError> {
    let status = resp.status();
    if status.is_redirection() {
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("(no location)")
            .to_owned();
        return Err(MesosError::NotLeader {
            url: url.into(),
            location,
        });
    }
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(MesosError::Status {
            call: call.into(),
            url: url.into(),
            status: status.as_u16(),
            body: body.trim().chars().take(300).collect(),
        });
    }
    Ok(resp)
}

/// A subscribed framework: calls go through here, events arrive on [`SchedulerEvents`].
#[derive(Debug, Clone)]
pub struct Scheduler {
    http: reqwest::Client,
    url: String,
    stream_id: String,
    /// The framework id the master assigned.
    pub framework_id: Id,
}

/// The event stream of a subscription.
pub struct SchedulerEvents {
    url: String,
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    rio: RecordIo,
}

impl std::fmt::Debug for SchedulerEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerEvents")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SchedulerEvents {
    /// The next event; `Ok(None)` when the master closed the stream (failover, teardown).
    pub async fn next(&mut self) -> Result<Option<Event>, MesosError> {
        loop {
            match self.rio.next_record() {
                Ok(Some(record)) => {
                    return serde_json::from_slice(&record).map(Some).map_err(|e| {
                        MesosError::Decode {
                            call: "event".into(),
                            url: self.url.clone(),
                            why: e.to_string(),
                        }
                    });
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(MesosError::Decode {
                        call: "event stream".into(),
                        url: self.url.clone(),
                        why,
                    });
                }
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => self.rio.feed(&chunk),
                Some(Err(e)) => {
                    return Err(MesosError::Unreachable {
                        call: "event stream".into(),
                        url: self.url.clone(),
                        why: e.to_string(),
                    });
                }
                None => return Ok(None),
            }
        }
    }
}

impl Scheduler {
    /// Subscribes `info` at `base` again and again until it is accepted, within `window`
    /// (polling every `poll`): a framework re-subscribing after a master failover, while the
    /// new leader recovers. The error says what the last try answered.
    pub async fn subscribe_within(
        what: &str,
        base: &str,
        info: &FrameworkInfo,
        window: Duration,
        poll: Duration,
    ) -> Result<(Self, SchedulerEvents), crate::check::CaseError> {
        crate::check::eventually(what, window, poll, || async {
            Ok(match Self::subscribe(base, info).await {
                Ok(s) => crate::check::Observed::Holds(s),
                Err(e) => crate::check::Observed::Not(e.to_string()),
            })
        })
        .await
    }

    /// Subscribes `info` at the master `base`; returns once SUBSCRIBED arrived.
    pub async fn subscribe(
        base: &str,
        info: &FrameworkInfo,
    ) -> Result<(Self, SchedulerEvents), MesosError> {
        let http = http_client();
        let url = format!("{}/api/v1/scheduler", base.trim_end_matches('/'));
        let mut call = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}});
        // Re-subscribing (after a failover) repeats the id at the top level, as Mesos requires.
        if let Some(id) = &info.id {
            call["framework_id"] = json!(id);
        }
        let resp = http
            .post(&url)
            .header("Accept", "application/json")
            .json(&call)
            .send()
            .await
            .map_err(|e| MesosError::Unreachable {
                call: "SUBSCRIBE".into(),
                url: url.clone(),
                why: e.to_string(),
            })?;
        let resp = check_status("SUBSCRIBE", &url, resp).await?;
        let stream_id = resp
            .headers()
            .get("Mesos-Stream-Id")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| MesosError::Decode {
                call: "SUBSCRIBE".into(),
                url: url.clone(),
                why: "no Mesos-Stream-Id header".into(),
            })?
            .to_owned();
        let mut events = SchedulerEvents {
            url: url.clone(),
            stream: Box::pin(resp.bytes_stream()),
            rio: RecordIo::default(),
        };
        let framework_id = loop {
            match events.next().await? {
                Some(Event {
                    kind: EventType::Subscribed,
                    subscribed: Some(s),
                    ..
                }) => break s.framework_id,
                Some(Event {
                    kind: EventType::Error,
                    error: Some(e),
                    ..
                }) => {
                    return Err(MesosError::Status {
                        call: "SUBSCRIBE".into(),
                        url,
                        status: 200,
                        body: e.message,
                    });
                }
                Some(_) => continue,
                None => {
                    return Err(MesosError::Unreachable {
                        call: "SUBSCRIBE".into(),
                        url,
                        why: "stream closed before SUBSCRIBED".into(),
                    });
                }
            }
        };
        Ok((
            Self {
                http,
                url,
                stream_id,
                framework_id,
            },
            events,
        ))
    }

    async fn call(&self, name: &str, mut body: serde_json::Value) -> Result<(), MesosError> {
        body["framework_id"] = json!(self.framework_id);
        body["type"] = json!(name);
        let resp = self
            .http
            .post(&self.url)
            .header("Mesos-Stream-Id", &self.stream_id)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| MesosError::Unreachable {
                call: name.into(),
                url: self.url.clone(),
                why: e.to_string(),
            })?;
        check_status(name, &self.url, resp).await.map(drop)
    }

    /// Launches `tasks` on `offers`.
    pub async fn launch(
        &self,
        offers: &[Id],
        tasks: &[TaskInfo],
        filters: Filters,
    ) -> Result<(), MesosError> {
        self.call(
            "ACCEPT",
            json!({"accept": {"offer_ids": offers, "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}], "filters": filters}}),
        )
        .await
    }

    /// Declines `offers`, not to be re-offered for `filters.refuse_seconds`.
    pub async fn decline(&self, offers: &[Id], filters: Filters) -> Result<(), MesosError> {
        self.call(
            "DECLINE",
            json!({"decline": {"offer_ids": offers, "filters": filters}}),
        )
        .await
    }

    /// Acknowledges a status update that carries a uuid.
    pub async fn acknowledge(&self, status: &TaskStatus) -> Result<(), MesosError> {
        let (Some(uuid), Some(agent)) = (&status.uuid, &status.agent_id) else {
            return Ok(());
        };
        self.call(
            "ACKNOWLEDGE",
            json!({"acknowledge": {"agent_id": agent, "task_id": status.task_id, "uuid": uuid}}),
        )
        .await
    }

    /// Kills a task.
    pub async fn kill(&self, task: &Id, agent: &Id) -> Result<(), MesosError> {
        self.call(
            "KILL",
            json!({"kill": {"task_id": task, "agent_id": agent}}),
        )
        .await
    }

    /// Stops offers for `roles`.
    pub async fn suppress(&self, roles: &[String]) -> Result<(), MesosError> {
        self.call("SUPPRESS", json!({"suppress": {"roles": roles}}))
            .await
    }

    /// Resumes offers for `roles`.
    pub async fn revive(&self, roles: &[String]) -> Result<(), MesosError> {
        self.call("REVIVE", json!({"revive": {"roles": roles}}))
            .await
    }

    /// Asks for the latest state of `tasks` (all tasks if empty).
    pub async fn reconcile(&self, tasks: &[(Id, Option<Id>)]) -> Result<(), MesosError> {
        let tasks: Vec<_> = tasks
            .iter()
            .map(|(t, a)| json!({"task_id": t, "agent_id": a}))
            .collect();
        self.call("RECONCILE", json!({"reconcile": {"tasks": tasks}}))
            .await
    }

    /// Tears the framework down (its tasks are killed).
    pub async fn teardown(&self) -> Result<(), MesosError> {
        self.call("TEARDOWN", json!({})).await
    }
}

#[cfg(test)]
mod tests {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;

    /// Test double: a one-connection HTTP server answering every request with `responses` in
    /// order, recording request bodies.
    async fn fake_master(responses: Vec<String>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let mut bodies = Vec::new();
            for response in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 65536];
                let mut n = 0;
                loop {
                    n += sock.read(&mut buf[n..]).await.unwrap();
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    if let Some(h) = text.find("\r\n\r\n") {
                        let len: usize = text[..h]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if n >= h + 4 + len {
                            bodies.push(text[h + 4..h + 4 + len].to_owned());
                            break;
                        }
                    }
                }
                sock.write_all(response.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
            bodies
        });
        (base, handle)
    }

    fn ok_json(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn flags_are_read_from_get_flags() {
        let (base, server) = fake_master(vec![ok_json(
            r#"{"type":"GET_FLAGS","get_flags":{"flags":[{"name":"agent_ping_timeout","value":"15secs"},{"name":"max_agent_ping_timeouts","value":"5"}]}}"#,
        )])
        .await;
        let op = Operator::new(&base);
        assert_eq!(
            op.flag("agent_ping_timeout").await.unwrap().as_deref(),
            Some("15secs")
        );
        assert_eq!(server.await.unwrap()[0], r#"{"type":"GET_FLAGS"}"#);
    }

    #[tokio::test]
    async fn a_standby_master_is_reported_as_not_leader() {
        let (base, _server) = fake_master(vec![
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: //master-2:5050/api/v1\r\nContent-Length: 0\r\n\r\n".into(),
        ])
        .await;
        let err = Operator::new(&base).master().await.unwrap_err();
        assert!(
            matches!(&err, MesosError::NotLeader { location, .. } if location == "//master-2:5050/api/v1"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_target_follows_a_standby_to_the_leader() {
        let master =
            r#"{"type":"GET_MASTER","get_master":{"master_info":{"id":"m2","port":5050}}}"#;
        let (leader, _l) = fake_master(vec![ok_json(master)]).await;
        let location = leader.trim_start_matches("http:");
        let (standby, _s) = fake_master(vec![format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}/api/v1\r\nContent-Length: 0\r\n\r\n"
        )])
        .await;
        let found = super::super::MesosTarget::leader_of(&standby)
            .await
            .unwrap();
        assert_eq!(found, leader);
        // A standby whose leader does not answer (a cluster-internal address) says so.
        let (standby, _s) = fake_master(vec![
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: //127.0.0.1:1/api/v1\r\nContent-Length: 0\r\n\r\n".into(),
        ])
        .await;
        let err = super::super::MesosTarget::leader_of(&standby)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is a standby master and the leader it names does not answer"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_error_status_keeps_the_body() {
        let (base, _server) = fake_master(vec![
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 17\r\n\r\nFailed to validate".into(),
        ])
        .await;
        let err = Operator::new(&base).agents().await.unwrap_err().to_string();
        assert!(
            err.contains("GET_AGENTS") && err.contains("400") && err.contains("Failed to valid"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn subscribe_reads_recordio_events_and_calls_carry_the_stream_id() {
        let sub = r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"fw-1"},"heartbeat_interval_seconds":15}}"#;
        let offer = r#"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o1"},"framework_id":{"value":"fw-1"},"agent_id":{"value":"a1"},"hostname":"agent-1","resources":[]}]}}"#;
        let records = format!("{}\n{sub}{}\n{offer}", sub.len(), offer.len());
        let stream = format!(
            "HTTP/1.1 200 OK\r\nMesos-Stream-Id: s-123\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{records}",
            records.len()
        );
        let accepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_owned();
        let (base, server) = fake_master(vec![stream, accepted]).await;
        let info = FrameworkInfo {
            user: "root".into(),
            name: "ordeal-test".into(),
            id: None,
            roles: vec!["r1".into()],
            failover_timeout: None,
            checkpoint: Some(true),
            capabilities: vec![],
        };
        let (sched, mut events) = Scheduler::subscribe(&base, &info).await.unwrap();
        assert_eq!(sched.framework_id, Id::new("fw-1"));
        let e = events.next().await.unwrap().unwrap();
        assert_eq!(e.offers.unwrap().offers[0].id, Id::new("o1"));
        assert_eq!(events.next().await.unwrap(), None, "stream closed");
        sched
            .decline(
                &[Id::new("o1")],
                Filters {
                    refuse_seconds: Some(30.0),
                },
            )
            .await
            .unwrap();
        let bodies = server.await.unwrap();
        assert!(
            bodies[0].contains(r#""type":"SUBSCRIBE""#)
                && bodies[0].contains(r#""checkpoint":true"#),
            "{}",
            bodies[0]
        );
        let decline: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(decline["type"], "DECLINE");
        assert_eq!(decline["framework_id"]["value"], "fw-1");
        assert_eq!(decline["decline"]["filters"]["refuse_seconds"], 30.0);
    }
}
