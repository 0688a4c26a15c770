//! The selftest, both proofs: every quirk of the reference makes a check of the requirement it
//! breaks fail, and no quirk makes unrelated requirements fail (sensitivity); no variant (a
//! conformant alternative) gets a fail, warn or error the plain reference does not get
//! (specificity). The clean reference passes everything, and every testable requirement
//! (MAY ones exempt, with the reason in selftest.json) is checked by some scenario and broken by
//! some quirk; the TLS requirements by quirks run against the reference served over TLS.

// The allocator of the `uma-conformance` binary, so the selftest runs as a user's does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::test(flavor = "multi_thread")]
async fn every_quirk_is_detected_and_breaks_nothing_unrelated() {
    let st = uma_conformance::selftest::run(
        &uma_conformance::RunRequest::default(),
        &uma_conformance::selftest::Selection::default(),
    )
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
    let unclean: Vec<_> = st
        .variants
        .iter()
        .filter(|v| !v.clean)
        .map(|v| format!("{} → {:?}", v.variant, v.new_findings))
        .collect();
    assert!(
        unclean.is_empty(),
        "variants (conformant alternatives) that get fail, warn or error verdicts the plain reference does not: {unclean:?}"
    );
    assert!(
        st.variants.len() >= uma_reference_server::variants::Variant::ALL.len(),
        "every variant runs"
    );
    for tls in ["F-AS-01", "R8414-03", "R9700-12", "G-ALL-03"] {
        assert!(!st.exempt.contains_key(tls), "{tls} is exempt");
    }
    assert!(st.passed);
}
