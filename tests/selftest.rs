//! The selftest: every quirk of the reference AS makes a check of the requirement it breaks
//! fail, no quirk makes unrelated requirements fail, the clean reference passes everything, and
//! every testable AS requirement (TLS-only and MAY ones exempt, with the reason in
//! selftest.json) is checked by some scenario and broken by some quirk.

#[tokio::test(flavor = "multi_thread")]
async fn every_quirk_is_detected_and_breaks_nothing_unrelated() {
    let st = uma_conformance::selftest::run(&uma_conformance::RunRequest::default(), &[])
        .await
        .unwrap();
    let json = serde_json::to_string_pretty(&st).unwrap();
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("selftest.json");
    std::fs::write(&out, &json).unwrap();
    assert!(
        st.baseline_failures.is_empty(),
        "the clean reference AS fails: {:?}",
        st.baseline_failures
    );
    let undetected: Vec<_> = st
        .quirks
        .iter()
        .filter(|q| !q.detected)
        .map(|q| q.quirk.clone())
        .collect();
    assert!(
        undetected.is_empty(),
        "quirks no check detects: {undetected:?} (see {})",
        out.display()
    );
    let unrelated: Vec<_> = st
        .quirks
        .iter()
        .filter(|q| !q.unrelated.is_empty())
        .map(|q| format!("{} → {:?}", q.quirk, q.unrelated))
        .collect();
    assert!(unrelated.is_empty(), "quirks failing unrelated checks: {unrelated:?}");
    assert!(
        st.uncovered.is_empty(),
        "testable AS requirements that no quirk is shown to break: {:?}",
        st.uncovered
    );
    assert!(
        st.unchecked.is_empty(),
        "testable AS requirements that no scenario checks: {:?}",
        st.unchecked
    );
    assert!(st.passed);
}
