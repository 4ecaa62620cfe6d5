//! The prost code under src/proto/ is generated from the vendored proto/datadog/*.proto files
//! and committed, so that building the crate needs neither `protoc` nor a protobuf compiler in
//! build.rs. This test regenerates it with protox (a pure-Rust protobuf compiler) and fails when
//! the committed files differ. `TK_REGENERATE_PROTO=1 cargo test -p telemetry-kit-services
//! --test proto_generated` rewrites them.

use std::path::{Path, PathBuf};

const FILES: [&str; 2] = ["datadog/agent-payload/agent_payload.proto", "datadog/trace/agent_payload.proto"];
const OUTPUTS: [(&str, &str); 2] = [("datadog.agentpayload.rs", "metrics.rs"), ("datadog.trace.rs", "trace.rs")];

fn proto_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

#[test]
fn committed_prost_code_matches_the_vendored_protos() {
    let root = proto_root();
    let fds = protox::compile(FILES, [&root]).expect("the vendored .proto files compile");
    let out = std::env::temp_dir().join(format!("tk-proto-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("temp dir");
    prost_build::Config::new().out_dir(&out).compile_fds(fds).expect("prost-build generates code");

    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/proto");
    let regenerate = std::env::var_os("TK_REGENERATE_PROTO").is_some();
    let mut stale = Vec::new();
    for (generated, committed) in OUTPUTS {
        let fresh = std::fs::read_to_string(out.join(generated)).expect("generated file");
        let path = committed_dir.join(committed);
        if regenerate {
            std::fs::write(&path, &fresh).expect("write generated code");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
            stale.push(committed);
        }
    }
    std::fs::remove_dir_all(&out).ok();
    assert!(
        stale.is_empty(),
        "src/proto/{stale:?} differ from what proto/datadog generates: run TK_REGENERATE_PROTO=1 cargo test -p telemetry-kit-services --test proto_generated"
    );
}
