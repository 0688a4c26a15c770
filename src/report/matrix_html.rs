//! `matrix.html`: the interop matrix as one self-contained page (inline CSS and script, no
//! external asset, no network; it works from `file://`), rendered by minijinja from
//! `templates/matrix.html`, whose name turns on HTML auto-escaping (product names, reasons and
//! paths come from reports other people wrote). The implementations with their scores first,
//! then the rows that split them, then the whole matrix with filters (agreement, role, keyword
//! class, text) and a sort; every cell links into that implementation's report.html.

use serde::Serialize;

use super::matrix::{Agreement, Axis, Matrix};

const TEMPLATE: &str = include_str!("templates/matrix.html");

#[derive(Serialize)]
struct Page<'a> {
    title: &'static str,
    m: &'a Matrix,
    by_requirement: bool,
    role_names: Vec<&'static str>,
    class_names: Vec<String>,
    split_rows: Vec<usize>,
}

/// Renders the page.
pub fn render(m: &Matrix) -> String {
    let mut role_names: Vec<&'static str> = m.rows.iter().map(|r| r.role.as_str()).collect();
    role_names.sort();
    role_names.dedup();
    let mut class_names: Vec<String> = m
        .rows
        .iter()
        .filter_map(|r| {
            if r.profile {
                Some("profile".into())
            } else {
                r.class.clone()
            }
        })
        .collect();
    class_names.sort();
    class_names.dedup();
    let page = Page {
        title: "UMA 2.0 interop matrix",
        m,
        by_requirement: m.by == Axis::Requirement,
        role_names,
        class_names,
        split_rows: (0..m.rows.len())
            .filter(|i| m.rows[*i].agreement == Agreement::Split)
            .collect(),
    };
    super::html::render_page("matrix.html", TEMPLATE, &page)
}
