//! `reports/reference/` is the committed report of the reference implementation: regenerated
//! here (every suite, `--strict`, one scenario at a time, stable values) and compared byte for
//! byte, like the schemas.

use uma_conformance::run::reference;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_reference_report_is_the_generated_one() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reports/reference");
    let files = reference::render().await.expect("the reference run starts");
    assert_eq!(files.len(), reference::FILES.len());
    for (name, text) in files {
        let committed = std::fs::read_to_string(root.join(name)).unwrap_or_default();
        if committed != text {
            let line = committed
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map_or_else(|| "the length".to_string(), |i| format!("line {}", i + 1));
            panic!(
                "reports/reference/{name} is stale (first difference: {line}): run `{}` and commit the result",
                reference::COMMAND
            );
        }
    }
}
