//! The runtime layer against a real engine: labels, 127.0.0.1-only ports, and that a panicking
//! case is an error whose containers are still removed.

use std::{collections::HashMap, io::Read, net::TcpStream, time::Duration};

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use ordeal::{
    ExitStatus,
    check::CaseError,
    images::{ImageSet, Recipes, default_recipes_dir},
    run::{Case, Outcome, RunOptions},
    runtime::{ContainerSpec, Engine, RunId, cleanup},
};

fn workload() -> String {
    let recipes = Recipes::load(&default_recipes_dir()).unwrap();
    recipes.reference("workload").unwrap()
}

/// Options for a nested run of test-double cases: one thread, quiet, and the nested runner's own
/// "test result: FAILED" line in a file, not this test's output, where CI log readers could take
/// it for this suite's result.
fn selftest_options(
    dir: &std::path::Path,
    seed: u64,
    retries: u32,
    properties: Vec<(String, String)>,
) -> RunOptions {
    let recipes = Recipes::load(&default_recipes_dir()).unwrap();
    RunOptions {
        component_defaults: false,
        profile: "selftest".into(),
        seed,
        report_dir: dir.to_owned(),
        libtest: libtest_mimic::Arguments {
            test_threads: Some(1),
            quiet: true,
            logfile: Some(dir.join("libtest.log").display().to_string()),
            ..Default::default()
        },
        negative_controls: false,
        images: ImageSet::new(&recipes, &[]).unwrap(),
        properties,
        retries,
        run_id: None,
        on_interrupt: None,
        scenario: None,
        replay: Default::default(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn containers_are_labelled_and_publish_on_loopback_only() {
    let engine = Engine::connect().await.unwrap();
    let run = RunId::generate();
    let port = free_port();
    let mut spec = ContainerSpec::new("web", workload(), "workload")
        .shell("mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www");
    spec.ports = vec![(port, 8080)];
    let c = spec.start(&engine, &run).await.unwrap();

    let info = engine
        .docker()
        .inspect_container(c.id(), None::<InspectContainerOptions>)
        .await
        .unwrap();
    let labels: HashMap<String, String> = info.config.unwrap().labels.unwrap();
    assert_eq!(labels["ordeal.run"], run.as_str());
    assert_eq!(labels["ordeal.role"], "workload");
    assert_eq!(labels["ordeal.pid"], std::process::id().to_string());
    let bindings = info.host_config.unwrap().port_bindings.unwrap();
    let b = bindings["8080/tcp"].as_ref().unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"), "never 0.0.0.0");

    // docker-proxy accepts at once and closes while the server is not up yet: retry.
    let mut body = String::new();
    for _ in 0..100 {
        body.clear();
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let _ = s.read_to_string(&mut body);
            if body.contains("hello") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        body.contains("hello"),
        "served on 127.0.0.1:{port}: {body:?}"
    );

    c.remove().await.unwrap();
    assert_eq!(
        cleanup::remove_run(&engine, &run, None).await.unwrap(),
        0,
        "nothing else was left"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_panicking_case_is_an_error_and_its_containers_are_removed() {
    let image = workload();
    let case = Case::new(
        "selftest::panics_after_start",
        "test double: a case that panics",
        move |ctx| {
            let image = image.clone();
            async move {
                ctx.start(ContainerSpec::new("victim", image, "workload").shell("exec sleep 600"))
                    .await?;
                if ctx.name().is_empty() {
                    return Err(CaseError::failed("unreachable"));
                }
                panic!("boom");
            }
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = selftest_options(dir.path(), 1, 0, vec![]);
    let summary = ordeal::run::run(vec![case], opts).await.unwrap().unwrap();
    assert_eq!(summary.status, ExitStatus::Infra);
    assert_eq!(summary.cases[0].outcome, Outcome::Error);
    assert!(
        summary.cases[0]
            .message
            .as_deref()
            .unwrap()
            .contains("case panicked: boom")
    );
    let engine = Engine::connect().await.unwrap();
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![format!("ordeal.run={}", summary.run)],
    )]);
    let left = engine
        .docker()
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "the panicking case's container was removed: {left:?}"
    );
    assert!(dir.path().join("latest/junit.xml").is_file());
}

#[tokio::test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn files_volumes_and_streamed_stdin_reach_the_container() {
    let engine = Engine::connect().await.unwrap();
    let run = RunId::generate();
    let mut spec = ContainerSpec::new("files", workload(), "workload").shell("exec sleep 600");
    spec.files = vec![("/pki/ca.crt".into(), 0o640, b"not really a cert\n".to_vec())];
    spec.volumes = vec!["/var/lib/data".into()];
    let c = spec.start(&engine, &run).await.unwrap();

    let out = c
        .sh("cat /pki/ca.crt && stat -c %a /pki/ca.crt && grep -c ' /var/lib/data ' /proc/mounts")
        .await
        .unwrap();
    assert_eq!(
        out.stdout,
        "not really a cert\n640\n1\n",
        "{}",
        out.summary()
    );

    let chunks: Vec<Result<bytes::Bytes, String>> = (0..16)
        .map(|_| Ok(bytes::Bytes::from(vec![b'x'; 65536])))
        .collect();
    let out = c
        .exec_with_input(
            ["wc", "-c"],
            futures::stream::iter(chunks),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(
        out.stdout.trim(),
        "1048576",
        "1 MiB streamed in: {}",
        out.summary()
    );

    let out = c
        .import_images(
            &[workload().as_str()],
            ["sh", "-c", "tar -tf - | grep -c manifest.json"],
        )
        .await
        .unwrap();
    assert_eq!(
        out.stdout.trim(),
        "1",
        "a docker-save archive arrived: {}",
        out.summary()
    );

    c.remove().await.unwrap();
    cleanup::remove_run(&engine, &run, None).await.unwrap();
}

/// Validates `xml` against the common JUnit schema (ci/test-deps fetches it) and reads it with
/// junitparser's xunit2 model; prints `name<TAB>kind<TAB>flaky<TAB>reruns` per case.
fn junit_consumers(xml: &std::path::Path) -> String {
    let xsd = std::env::var("ORDEAL_JUNIT_XSD").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ordeal/junit-10.xsd",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    assert!(
        std::path::Path::new(&xsd).is_file(),
        "JUnit schema missing at {xsd}: run ci/test-deps (ci/test does)"
    );
    let script = r#"
import sys, xmlschema
from junitparser.xunit2 import JUnitXml
xmlschema.XMLSchema(sys.argv[2]).validate(sys.argv[1])
for suite in JUnitXml.fromfile(sys.argv[1]):
    props = {p.name: p.value for p in suite.properties()}
    assert "ordeal.seed" in props, props
    for case in suite:
        kind = ",".join(type(r).__name__ for r in case.result) or "passed"
        print(case.name, kind, case.is_flaky, len(case.rerun_failures()) + len(case.rerun_errors()), sep="\t")
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(xml)
        .arg(&xsd)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "schema or consumer refused {}: {}",
        xml.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn retries_report_a_case_that_passes_late_as_flaky_and_one_that_never_passes_as_failed() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    let image = workload();
    let tries = Arc::new(AtomicUsize::new(0));
    let t = tries.clone();
    // Test doubles of the runner's retry logic: each starts a real container, then decides.
    let flaky = Case::new(
        "selftest::passes_on_second_attempt",
        "test double: fails its first attempt only",
        move |ctx| {
            let (image, t) = (image.clone(), t.clone());
            async move {
                let c = ctx
                    .start(ContainerSpec::new("probe", image, "workload").shell("exec sleep 600"))
                    .await?;
                let out = c.sh("echo up").await?;
                if t.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(CaseError::failed(format!(
                        "expected a second look; observed {}",
                        out.stdout.trim()
                    )));
                }
                Ok(())
            }
        },
    );
    let never = Case::new(
        "selftest::always_fails",
        "test double: fails every attempt",
        |_ctx| async {
            Err(CaseError::failed(
                "expected nothing; observed a test double",
            ))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = selftest_options(
        dir.path(),
        3,
        2,
        vec![("node-monitor-grace-period".into(), "8s".into())],
    );
    let summary = ordeal::run::run(vec![flaky, never], opts)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        summary.status,
        ExitStatus::Failed,
        "the failed case decides"
    );
    let by = |n: &str| summary.cases.iter().find(|c| c.name == n).unwrap();
    let f = by("selftest::passes_on_second_attempt");
    assert_eq!(f.outcome, Outcome::Flaky, "never a plain pass");
    assert_eq!(f.attempts.len(), 1);
    assert_eq!(
        tries.load(Ordering::SeqCst),
        2,
        "stopped retrying once it passed"
    );
    let n = by("selftest::always_fails");
    assert_eq!(n.outcome, Outcome::Failed);
    assert_eq!(n.attempts.len(), 2, "1 + 2 retries");

    let parsed = junit_consumers(&dir.path().join("latest/junit.xml"));
    assert!(
        parsed.contains("selftest::passes_on_second_attempt\tpassed\tTrue\t0"),
        "{parsed}"
    );
    assert!(
        parsed.contains("selftest::always_fails\tFailure\tFalse\t2"),
        "{parsed}"
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("latest/run.json")).unwrap())
            .unwrap();
    let outcomes: Vec<&str> = run["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"flaky") && outcomes.contains(&"failed"),
        "{outcomes:?}"
    );
    let html = std::fs::read_to_string(dir.path().join("latest/index.html")).unwrap();
    assert!(
        html.contains("1 flaky") && html.contains("attempt 1 failed"),
        "HTML says so"
    );
}
