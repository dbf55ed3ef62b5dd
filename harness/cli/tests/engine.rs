//! The pinned bollard talks to this engine (it works with API 1.41 only because it omits the
//! version prefix, so an upgrade must be caught here).

#[tokio::test]
#[ignore = "needs a Docker engine: run ci/test"]
async fn the_engine_answers_its_version_endpoint() {
    let engine = ordeal::runtime::Engine::connect()
        .await
        .expect("engine reachable");
    let (major, minor) = engine
        .api_version
        .split_once('.')
        .expect("API version like 1.41");
    let (major, minor): (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
    assert!(
        (major, minor) >= (1, 41),
        "API {major}.{minor} is older than the 1.41 ordeal supports"
    );
    assert!(!engine.version.is_empty());
}
