//! The suites, the requirement catalogue, the schemas and the example fixtures built into the
//! binary (`build.rs` lists every file below `suites/` and `fixtures/`), so that an installed or
//! copied binary runs every suite with no checkout.
//!
//! Paths below [`ROOT`] name built-in files (`(built-in)/suites`, [`catalogue`]); every other
//! path is the file system, which is how `--suites DIR` and `--catalogue FILE` let scenario
//! authors run their own copies. [`read`], [`read_to_string`] and [`files_below`] serve both.

use std::io;
use std::path::{Component, Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// The root of the built-in files' paths (no file-system path starts with it but a relative one
/// in a folder of that name, which the built-in files then shadow).
pub const ROOT: &str = "(built-in)";

/// The built-in `suites/` folder.
pub fn suites() -> PathBuf {
    Path::new(ROOT).join("suites")
}

/// The built-in requirement catalogue (`fixtures/requirements.yaml`).
pub fn catalogue() -> PathBuf {
    Path::new(ROOT).join("fixtures/requirements.yaml")
}

/// Whether a path names built-in files.
pub fn is_builtin(path: &Path) -> bool {
    path.components().next() == Some(Component::Normal(ROOT.as_ref()))
}

/// The path below the package root of a built-in path (`suites/as/x.yaml`), with `.` and `..`
/// resolved; `None` for a file-system path.
fn relative(path: &Path) -> Option<String> {
    if !is_builtin(path) {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for c in path.components().skip(1) {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    Some(parts.join("/"))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} is not built into this binary", path.display()),
    )
}

/// The bytes of a built-in file, or of a file on disk.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    match relative(path) {
        Some(rel) => FILES
            .binary_search_by(|(p, _)| (*p).cmp(rel.as_str()))
            .map(|i| FILES[i].1.to_vec())
            .map_err(|_| not_found(path)),
        None => std::fs::read(path),
    }
}

/// The text of a built-in file, or of a file on disk.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Every file below a folder (built-in or on disk), sorted; names starting with `.` are left
/// out, and at most `max_dirs` folders are read on disk.
pub fn files_below(dir: &Path, max_dirs: usize) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if let Some(rel) = relative(dir) {
        let prefix = format!("{rel}/");
        out.extend(
            FILES
                .iter()
                .filter_map(|(p, _)| p.strip_prefix(prefix.as_str()))
                .filter(|p| !p.split('/').any(|c| c.starts_with('.')))
                .map(|p| dir.join(p)),
        );
        if out.is_empty() {
            return Err(not_found(dir));
        }
    } else {
        let mut stack = vec![dir.to_path_buf()];
        let mut visited = 0usize;
        while let Some(d) = stack.pop() {
            visited += 1;
            if visited > max_dirs {
                return Err(io::Error::other(format!(
                    "more than {max_dirs} folders below {}",
                    dir.display()
                )));
            }
            for e in std::fs::read_dir(&d)?.flatten() {
                if e.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes every built-in file below `dir` (`dir/suites/…`, `dir/fixtures/…`), refusing to
/// overwrite a file that exists; returns how many were written.
pub fn export(dir: &Path) -> io::Result<usize> {
    for (rel, _) in FILES {
        let path = dir.join(rel);
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists; export into an empty folder", path.display()),
            ));
        }
    }
    for (rel, bytes) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(FILES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_and_the_suites_are_built_in() {
        let text = read_to_string(&catalogue()).unwrap();
        assert!(text.contains("id: G-AS-01"));
        let files = files_below(&suites(), 10).unwrap();
        assert!(files.len() > 100, "{}", files.len());
        assert!(files.iter().all(|f| is_builtin(f)));
    }

    #[test]
    fn parent_folders_resolve_within_the_built_in_tree() {
        let inc = suites().join("client/mix-up").join("../_setup/claims.yaml");
        assert!(read(&inc).is_ok(), "{}", inc.display());
        assert_eq!(
            read(&suites().join("as/none.yaml")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn built_in_files_match_the_checkout() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (rel, bytes) in FILES.iter().take(20) {
            assert_eq!(std::fs::read(root.join(rel)).unwrap(), *bytes, "{rel}");
        }
        assert!(!is_builtin(Path::new("suites")));
    }
}
