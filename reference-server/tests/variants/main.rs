//! The variants (conformant alternatives, `src/variants.rs`): one with/without test each, showing
//! that the variant changes what the reference does in the intended way and that the plain
//! reference does not. A module of the `reference` test binary (tests/reference.rs), one
//! submodule per role.

mod as_variants;
mod cli;
mod client_variants;
mod rs_variants;

#[test]
fn every_variant_has_a_test_here() {
    // Each test names the variant it exercises as `Variant::Name`; this reads the sources.
    let sources = [
        include_str!("as_variants.rs"),
        include_str!("rs_variants.rs"),
        include_str!("client_variants.rs"),
    ]
    .concat();
    for v in uma_reference_server::Variant::ALL {
        let ident = format!("Variant::{v:?}");
        assert!(
            sources.contains(&format!("{ident})"))
                || sources.contains(&format!("{ident},"))
                || sources.contains(&format!("{ident}]")),
            "no test exercises {} ({ident})",
            v.name()
        );
    }
}
